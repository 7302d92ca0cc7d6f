package pgstore_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/kyccb/kyccb"
	"github.com/kyccb/kyccb/pgstore"
)

// The sequence of issue 15 through kyccb.Transactions on two replicas,
// each with a pool and a store of its own on one table, the function
// writing its effect in the callback's transaction: completed (10:05), a
// delayed pending_anchor (10:01), completed again, refunded (10:07) leave
// the effects of completed and refunded only, and one ErrStale; another
// transaction keeps a watermark of its own.
func TestOrderAcrossReplicas(t *testing.T) {
	const host = "wallet.example.org"
	url := pgURL(t)
	table := testTable()
	a := newApp(t, newPool(t, url, 4))

	var mu sync.Mutex
	var reasons []error
	var replicas [2]string
	for i := range replicas {
		s := migrated(t, newPool(t, url, 8), table)
		h := kyccb.Transactions(testAddress, host, func(ctx context.Context, tx kyccb.Transaction) error {
			_, err := pgstore.Tx(ctx).Exec(ctx, `INSERT INTO `+a.table+` VALUES ($1, $2)`, tx.ID, string(tx.Status))
			return err
		}, kyccb.WithDedup(s), kyccb.WithErrorHook(func(*http.Request, error) {}),
			kyccb.WithObserver(func(_ *http.Request, v kyccb.Verdict) {
				mu.Lock()
				reasons = append(reasons, v.Err)
				mu.Unlock()
			}))
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		replicas[i] = srv.URL + "/tx"
	}

	sent := 0
	send := func(replica int, id, status, updated string, want error) {
		t.Helper()
		body := []byte(`{"transaction":{"id":"` + id + `","kind":"deposit","status":"` + status + `","updated_at":"` + updated + `"}}`)
		// Signed a second apart: the same body signed in the same second
		// is the same request, a replay.
		sent++
		sig, err := kyccb.SignSEP12(testSeed, host, body, time.Now().Add(time.Duration(sent-60)*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, replicas[replica], bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set(kyccb.SignatureHeader, sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		mu.Lock()
		got := reasons[len(reasons)-1]
		mu.Unlock()
		if resp.StatusCode != http.StatusOK || !errors.Is(got, want) && (want != nil || got != nil) {
			t.Fatalf("replica %d, %s %s: status %d, reason %v; want 200, %v", replica, id, status, resp.StatusCode, got, want)
		}
	}
	send(0, "tx-1", "completed", "2026-12-02T10:05:00Z", nil)
	send(1, "tx-1", "pending_anchor", "2026-12-02T10:01:00Z", kyccb.ErrStale)
	send(0, "tx-1", "completed", "2026-12-02T10:05:00Z", kyccb.ErrDuplicate)
	send(1, "tx-1", "refunded", "2026-12-02T10:07:00Z", nil)
	send(0, "tx-2", "pending_anchor", "2026-12-02T10:01:00Z", nil)

	effects := a.rows(t, "tx-1")
	slices.Sort(effects)
	if want := []string{"completed", "refunded"}; !slices.Equal(effects, want) {
		t.Errorf("tx-1's effects %q, want %q", effects, want)
	}
	if effects := a.rows(t, "tx-2"); !slices.Equal(effects, []string{"pending_anchor"}) {
		t.Errorf("tx-2's effects %q, want its one status", effects)
	}
	stale := 0
	for _, err := range reasons {
		if errors.Is(err, kyccb.ErrStale) {
			stale++
		}
	}
	if stale != 1 {
		t.Errorf("the observers saw %d ErrStale, want 1: %v", stale, reasons)
	}
}
