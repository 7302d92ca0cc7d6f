package send_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kyccb/kyccb"
	"github.com/kyccb/kyccb/kyccbtest"
	"github.com/kyccb/kyccb/send"
)

// A transaction callback delivered as the Anchor Platform delivers it
// (signed over the callback URL's host with its port, re-signed for the
// retry) reaches kyccb.Transactions typed, over a real server.
func TestSEP12SenderTransactionCallback(t *testing.T) {
	anchor := kyccbtest.NewKeyPair(t)
	srv := httptest.NewUnstartedServer(nil)
	defer srv.Close()
	callbackURL := "http://" + srv.Listener.Addr().String() + "/callbacks/tx"

	var mu sync.Mutex
	var got []kyccb.Transaction
	var signatures []string
	h := kyccb.Transactions(anchor.Address, callbackURL, func(_ context.Context, tx kyccb.Transaction) error {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, tx)
		return nil
	})
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		signatures = append(signatures, r.Header.Get(kyccb.SignatureHeader))
		first := len(signatures) == 1
		mu.Unlock()
		if first {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		h.ServeHTTP(w, r)
	})
	srv.Start()

	want := kyccb.Transaction{
		ID: "tx-31", Kind: kyccb.KindReceive, Status: kyccb.TransactionPendingReceiver,
		AmountIn: "110", AmountInAsset: "stellar:USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN",
		StartedAt: time.Date(2026, 12, 2, 9, 58, 0, 0, time.UTC),
		UpdatedAt: time.Date(2026, 12, 2, 10, 5, 0, 120e6, time.UTC),
		SenderID:  "d2bd1412-e2f6-4047-ad70-a1a2f133b25c",
	}
	s, err := send.NewSEP12(anchor.Seed, quick, send.WithClock(tickingClock()))
	if err != nil {
		t.Fatal(err)
	}
	d, err := s.Send(t.Context(), callbackURL, kyccbtest.TransactionBody(t, want))
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if d.StatusCode != http.StatusOK || len(d.Attempts) != 2 {
		t.Fatalf("status %d after %d attempts, want 200 after 2", d.StatusCode, len(d.Attempts))
	}
	if signatures[0] == signatures[1] {
		t.Error("the retry was not signed anew")
	}
	if len(got) != 1 {
		t.Fatalf("the function ran %d times, want once", len(got))
	}
	if diff := cmp.Diff(want, got[0]); diff != "" {
		t.Errorf("the function received (-sent +got):\n%s", diff)
	}
}
