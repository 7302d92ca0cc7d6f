package localanchor_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kyccb/kyccb"
	"github.com/kyccb/kyccb/internal/localanchor"
)

// dedupWallet is a wallet's receiver for both kinds of callbacks at one
// URL, kyccb's CombinedHandler with WithDedup and an observer, as a wallet
// that wants each status once and never an older one mounts it. It keeps
// what each function ran for, in order, and the outcome of every request.
type dedupWallet struct {
	url       string
	mu        sync.Mutex
	customers []kyccb.Status
	txs       map[string][]kyccb.Transaction // by transaction id
	outcomes  map[string]int                 // by kyccb.Verdict.Outcome
}

func newDedupWallet(t *testing.T, anchorKey string) *dedupWallet {
	t.Helper()
	w := &dedupWallet{txs: map[string][]kyccb.Transaction{}, outcomes: map[string]int{}}
	srv := httptest.NewUnstartedServer(nil)
	w.url = "http://" + srv.Listener.Addr().String()
	keys, err := kyccb.ParseKeys(anchorKey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := kyccb.NewSEP12Verifier(keys, w.url, kyccb.WithDedup(kyccb.NewMemoryStore()),
		kyccb.WithObserver(func(_ *http.Request, v kyccb.Verdict) {
			w.mu.Lock()
			w.outcomes[v.Outcome()]++
			w.mu.Unlock()
		}))
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = v.CombinedHandler(func(_ context.Context, c kyccb.Customer) error {
		w.mu.Lock()
		w.customers = append(w.customers, c.Status)
		w.mu.Unlock()
		return nil
	}, func(_ context.Context, tx kyccb.Transaction) error {
		w.mu.Lock()
		w.txs[tx.ID] = append(w.txs[tx.ID], tx)
		w.mu.Unlock()
		return nil
	})
	srv.Start()
	t.Cleanup(srv.Close)
	return w
}

// TestRealismDedup: with the delivery realism flags on, the SEP-6 KYC flow
// of several deposits (each pending_customer_info_update, pending_anchor,
// pending_user_transfer_start, as its customer goes NEEDS_INFO, PROCESSING,
// ACCEPTED) reaches a wallet using kyccb.WithDedup, which runs its
// transaction function at most once per distinct status of a transaction,
// never for an older status than one it applied, and ends with the
// transaction's latest status; the redeliveries are answered as
// duplicates, and, out of order, the older statuses as stale.
//
// With Delay, each delivery waits up to 600 ms while the statuses change
// within 100 ms of each other: a deposit's nine deliveries (three statuses,
// each sent three times) arrive with none older than one before it about
// one time in three at most, so all ten deposits do so about once in
// 50,000 runs: that is the chance the test fails to see ErrStale.
func TestRealismDedup(t *testing.T) {
	const deposits = 10
	wantTx := []string{localanchor.TxPendingCustomerInfoUpdate, localanchor.TxPendingAnchor, localanchor.TxPendingUserTransferStart}
	for _, tt := range []struct {
		name string
		cfg  localanchor.Config
		// inOrder: each customer's callbacks are sent one at a time, in
		// order; else some arrive out of order, and, without Coalesce, a
		// stale status at least once.
		inOrder bool
	}{
		{"Duplicates", localanchor.Config{Duplicates: 2}, true},
		{"Duplicates and Delay", localanchor.Config{Duplicates: 2, Delay: 600 * time.Millisecond, Every: 100 * time.Millisecond}, false},
		{"Duplicates, Delay and Coalesce", localanchor.Config{Duplicates: 2, Delay: 600 * time.Millisecond, Every: 100 * time.Millisecond, Coalesce: true}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a, rec := startAnchor(t, tt.cfg)
			_, jwt := login(t, a)
			w := newDedupWallet(t, a.SigningKey())
			var ids []string
			for range deposits {
				code, body := call(t, http.MethodGet, a.URL()+"/deposit?asset_code=USDC&amount=10&on_change_callback="+url.QueryEscape(w.url+"/tx"), jwt, "", nil)
				var dep struct{ ID string }
				if code != http.StatusOK || json.Unmarshal(body, &dep) != nil || dep.ID == "" {
					t.Fatalf("GET /deposit = %d %s", code, body)
				}
				ids = append(ids, dep.ID)
			}
			if code, body := call(t, http.MethodPut, a.URL()+"/customer/callback", jwt, "", mustJSON(t, map[string]string{"url": w.url + "/kyc"})); code != http.StatusOK {
				t.Fatalf("PUT /customer/callback = %d %s", code, body)
			}
			if code, body := call(t, http.MethodPut, a.URL()+"/customer", jwt, "", []byte(`{"transaction_id":"`+ids[0]+`","first_name":"Ada","last_name":"Lovelace","email_address":"ada@example.org"}`)); code != http.StatusAccepted {
				t.Fatalf("PUT /customer = %d %s", code, body)
			}
			// Three statuses a deposit, two the customer (PROCESSING and
			// ACCEPTED; it was NEEDS_INFO before its URL was registered),
			// each sent three times.
			sent := deposits*3 + 2
			delivered(t, rec, 3*sent)

			w.mu.Lock()
			defer w.mu.Unlock()
			ran := len(w.customers)
			for _, id := range ids {
				applied := w.txs[id]
				ran += len(applied)
				var statuses []string
				for i, tx := range applied {
					statuses = append(statuses, string(tx.Status))
					if !slices.Contains(wantTx, string(tx.Status)) {
						t.Errorf("%s: the function ran for status %q", id, tx.Status)
					}
					if i > 0 && !tx.UpdatedAt.After(applied[i-1].UpdatedAt) {
						t.Errorf("%s: the function ran for %s (updated_at %s) after %s (updated_at %s), not later: a stale status applied, or two statuses with one time, which nothing orders",
							id, tx.Status, tx.UpdatedAt.Format(time.RFC3339Nano), applied[i-1].Status, applied[i-1].UpdatedAt.Format(time.RFC3339Nano))
					}
				}
				if len(slices.Compact(slices.Sorted(slices.Values(statuses)))) != len(statuses) {
					t.Errorf("%s: the function ran twice for one status: %v", id, statuses)
				}
				if tt.inOrder && !cmp.Equal(statuses, wantTx) {
					t.Errorf("%s: the function ran for %v, want %v", id, statuses, wantTx)
				}
				// The last status applied is the transaction's latest, as
				// the anchor shows it.
				code, body := call(t, http.MethodGet, a.URL()+"/transaction?id="+id, jwt, "", nil)
				var now struct{ Transaction sep6Transaction }
				if code != http.StatusOK || json.Unmarshal(body, &now) != nil || now.Transaction.Status != localanchor.TxPendingUserTransferStart {
					t.Fatalf("GET /transaction = %d %s", code, body)
				}
				if len(applied) == 0 || string(applied[len(applied)-1].Status) != now.Transaction.Status || !applied[len(applied)-1].UpdatedAt.Equal(now.Transaction.UpdatedAt) {
					t.Errorf("%s: the function ran for %v, last not the transaction's latest: %s", id, statuses, body)
				}
			}
			// Customer callbacks carry no time and cannot be ordered: out
			// of order, an older status is processed again (see
			// kyccb.WithDedup). In order, each runs once.
			switch {
			case tt.inOrder && !cmp.Equal(w.customers, []kyccb.Status{kyccb.StatusProcessing, kyccb.StatusAccepted}):
				t.Errorf("the customer function ran for %v, want PROCESSING, ACCEPTED", w.customers)
			case !slices.Contains(w.customers, kyccb.StatusAccepted) || slices.ContainsFunc(w.customers, func(s kyccb.Status) bool {
				return s != kyccb.StatusProcessing && s != kyccb.StatusAccepted
			}):
				t.Errorf("the customer function ran for %v, want ACCEPTED and perhaps PROCESSING", w.customers)
			}

			// Every delivery was answered 200 once: processed, or
			// recognised. A 503 while another delivery of the same
			// transaction ran (in_progress) was retried.
			o := w.outcomes
			if o["accepted"] != ran {
				t.Errorf("%d callbacks processed, the functions ran %d times", o["accepted"], ran)
			}
			if got := o["accepted"] + o["duplicate"] + o["stale"] + o["replay"]; got != 3*sent || got+o["in_progress"] != sumValues(o) {
				t.Errorf("outcomes %v, want %d answered 200 (accepted, duplicate, stale or replay) and 503s (in_progress) only", o, 3*sent)
			}
			switch {
			case tt.inOrder && (o["accepted"] != sent || o["duplicate"] != 2*sent):
				t.Errorf("outcomes %v, want %d accepted and %d duplicates", o, sent, 2*sent)
			case !tt.cfg.Coalesce && o["replay"] != 0:
				// Each copy is signed a second after the one before, and
				// no two statuses share a body: a redelivery, never a
				// replay.
				t.Errorf("outcomes %v: replays, where every delivery was signed anew", o)
			case !tt.inOrder && !tt.cfg.Coalesce && o["stale"] == 0:
				t.Errorf("outcomes %v: no stale transaction status, with deliveries out of order", o)
			}
		})
	}
}

func sumValues(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// TestSEP6UpdatedAt: each change of a transaction has an updated_at later
// than the one before, to the millisecond, even when the anchor's clock
// stands still: a wallet can always order two statuses.
func TestSEP6UpdatedAt(t *testing.T) {
	stopped := time.Now().Truncate(time.Second)
	a, _ := startAnchor(t, localanchor.Config{Now: func() time.Time { return stopped }})
	_, jwt := login(t, a)
	cb := newCallbackLog(t, a.SigningKey())
	code, body := call(t, http.MethodGet, a.URL()+"/deposit?asset_code=USDC&on_change_callback="+url.QueryEscape(cb.url("/tx")), jwt, "", nil)
	var dep struct{ ID string }
	if code != http.StatusOK || json.Unmarshal(body, &dep) != nil {
		t.Fatalf("GET /deposit = %d %s", code, body)
	}
	if code, body := call(t, http.MethodPut, a.URL()+"/customer", jwt, "", []byte(`{"transaction_id":"`+dep.ID+`","first_name":"Ada","last_name":"Lovelace","email_address":"ada@example.org"}`)); code != http.StatusAccepted {
		t.Fatalf("PUT /customer = %d %s", code, body)
	}
	stamp := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)
	var times []string
	for _, c := range cb.wait(t, 3) {
		var v struct {
			Transaction struct {
				Status    string
				StartedAt string `json:"started_at"`
				UpdatedAt string `json:"updated_at"`
			}
		}
		if err := json.Unmarshal(c.body, &v); err != nil {
			t.Fatal(err)
		}
		if !stamp.MatchString(v.Transaction.UpdatedAt) || !stamp.MatchString(v.Transaction.StartedAt) {
			t.Errorf("%s: times not RFC 3339 in UTC with milliseconds: %s", v.Transaction.Status, c.body)
		}
		times = append(times, v.Transaction.UpdatedAt)
	}
	ms := stopped.UTC().Format("2006-01-02T15:04:05")
	if want := []string{ms + ".000Z", ms + ".001Z", ms + ".002Z"}; !cmp.Equal(times, want) {
		t.Errorf("updated_at of the three statuses %v, want %v", times, want)
	}
}
