package localanchor_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kyccb/kyccb"
	"github.com/kyccb/kyccb/internal/localanchor"
)

// statusWallet is a wallet's SEP-12 receiver that records the statuses
// its function ran for, in order.
type statusWallet struct {
	srv *httptest.Server
	url string
	mu  sync.Mutex
	ran []kyccb.Status
}

func newStatusWallet(t *testing.T, anchorKey string, before func(kyccb.Status), opts ...kyccb.Option) *statusWallet {
	t.Helper()
	w := &statusWallet{}
	w.srv = httptest.NewUnstartedServer(nil)
	w.url = "http://" + w.srv.Listener.Addr().String() + "/kyc"
	w.srv.Config.Handler = kyccb.SEP12(anchorKey, w.url, func(ctx context.Context, c kyccb.Customer) error {
		if before != nil {
			before(c.Status)
		}
		w.mu.Lock()
		w.ran = append(w.ran, c.Status)
		w.mu.Unlock()
		return nil
	}, opts...)
	w.srv.Start()
	t.Cleanup(w.srv.Close)
	return w
}

func (w *statusWallet) statuses() []kyccb.Status {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]kyccb.Status(nil), w.ran...)
}

// delivered waits until the anchor reported n deliveries.
func delivered(t *testing.T, rec *recorder, n int) {
	t.Helper()
	rec.waitUntil(t, "deliveries", func(localanchor.Event) bool { return len(rec.all(localanchor.EventDelivered)) >= n })
	time.Sleep(2 * every) // and no more
	if got := len(rec.all(localanchor.EventDelivered)); got != n || len(rec.all(localanchor.EventFailed)) != 0 {
		t.Fatalf("%d deliveries, %d failed, want %d delivered: %v", got, len(rec.all(localanchor.EventFailed)), n, rec.all())
	}
}

// TestDuplicates: with Duplicates 2 every callback is delivered three
// times, each signed anew: a wallet without dedup runs its function nine
// times for three statuses, a wallet with kyccb.WithDedup once per
// distinct status.
func TestDuplicates(t *testing.T) {
	for _, dedup := range []bool{false, true} {
		a, rec := startAnchor(t, localanchor.Config{Duplicates: 2})
		_, jwt := login(t, a)
		var opts []kyccb.Option
		if dedup {
			opts = append(opts, kyccb.WithDedup(kyccb.NewMemoryStore()))
		}
		w := newStatusWallet(t, a.SigningKey(), nil, opts...)
		code, body := call(t, http.MethodPut, a.URL()+"/customer/callback", jwt, "", mustJSON(t, map[string]string{"url": w.url}))
		if code != http.StatusOK {
			t.Fatalf("PUT /customer/callback = %d %s", code, body)
		}
		delivered(t, rec, 9)
		want := []kyccb.Status{kyccb.StatusNeedsInfo, kyccb.StatusProcessing, kyccb.StatusAccepted}
		if !dedup {
			want = []kyccb.Status{"NEEDS_INFO", "NEEDS_INFO", "NEEDS_INFO", "PROCESSING", "PROCESSING", "PROCESSING", "ACCEPTED", "ACCEPTED", "ACCEPTED"}
		}
		if diff := cmp.Diff(want, w.statuses()); diff != "" {
			t.Errorf("dedup %v: the function ran for (-want +got):\n%s", dedup, diff)
		}
	}
}

// TestDelayReorders: with a Delay, a customer's callbacks are held a
// random time each and sent at once, so some arrive out of order; all
// arrive.
func TestDelayReorders(t *testing.T) {
	a, rec := startAnchor(t, localanchor.Config{Delay: 400 * time.Millisecond, Every: 5 * time.Millisecond})
	w := newStatusWallet(t, a.SigningKey(), nil)
	const customers = 8
	for range customers {
		_, jwt := login(t, a)
		if code, body := call(t, http.MethodPut, a.URL()+"/customer/callback", jwt, "", mustJSON(t, map[string]string{"url": w.url})); code != http.StatusOK {
			t.Fatalf("PUT /customer/callback = %d %s", code, body)
		}
	}
	delivered(t, rec, 3*customers)
	// Per customer, the order the deliveries ended in.
	order := map[string][]string{}
	for _, e := range rec.all(localanchor.EventDelivered) {
		order[e.Customer] = append(order[e.Customer], e.Status)
	}
	inOrder := 0
	for _, got := range order {
		if cmp.Equal(got, []string{"NEEDS_INFO", "PROCESSING", "ACCEPTED"}) {
			inOrder++
		}
	}
	// Each customer's three are in order by chance 1 time in 6 at most
	// (less, as they were queued 5 ms apart): all 8 in order is about 1
	// in 1.7 million.
	if inOrder == customers {
		t.Errorf("every customer's callbacks arrived in order: %v", order)
	}
}

// TestCoalesce: with Coalesce, a callback carries the customer as it is
// when sent. While the wallet holds the first one (NEEDS_INFO), the
// customer goes on to PROCESSING and ACCEPTED: both later callbacks carry
// ACCEPTED, and the wallet never sees PROCESSING, as ANCHOR-746 says of
// the Anchor Platform; with WithDedup its function runs once per distinct
// status it saw.
func TestCoalesce(t *testing.T) {
	a, rec := startAnchor(t, localanchor.Config{Coalesce: true, Duplicates: 1})
	sawAccepted := func() bool {
		for _, e := range rec.all(localanchor.EventStatus) {
			if e.Status == "ACCEPTED" {
				return true
			}
		}
		return false
	}
	// The wallet holds the NEEDS_INFO callback until the customer is
	// ACCEPTED.
	w := newStatusWallet(t, a.SigningKey(), func(st kyccb.Status) {
		for deadline := time.Now().Add(waitFor); st == kyccb.StatusNeedsInfo && !sawAccepted() && time.Now().Before(deadline); {
			time.Sleep(5 * time.Millisecond)
		}
	}, kyccb.WithDedup(kyccb.NewMemoryStore()))
	_, jwt := login(t, a)
	if code, body := call(t, http.MethodPut, a.URL()+"/customer/callback", jwt, "", mustJSON(t, map[string]string{"url": w.url})); code != http.StatusOK {
		t.Fatalf("PUT /customer/callback = %d %s", code, body)
	}
	delivered(t, rec, 6)
	var sent []string
	for _, e := range rec.all(localanchor.EventDelivered) {
		sent = append(sent, e.Status)
	}
	if diff := cmp.Diff([]string{"NEEDS_INFO", "NEEDS_INFO", "ACCEPTED", "ACCEPTED", "ACCEPTED", "ACCEPTED"}, sent); diff != "" {
		t.Errorf("callbacks sent (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]kyccb.Status{kyccb.StatusNeedsInfo, kyccb.StatusAccepted}, w.statuses()); diff != "" {
		t.Errorf("the function ran for (-want +got):\n%s", diff)
	}
}
