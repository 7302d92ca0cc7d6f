package kyccb_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/kyccb/kyccb"
)

func ExampleWithDedup() {
	onCustomer := func(ctx context.Context, c kyccb.Customer) error {
		fmt.Println("processing", c.ID, c.Status)
		return nil
	}
	// One process: a memory store. Replicas share a redisstore instead.
	h := kyccb.SEP12(anchorSigningKey, "wallet.example.org", onCustomer,
		kyccb.WithDedup(kyccb.NewMemoryStore()))

	// The anchor retries, signing each attempt anew; the body is the same.
	body := `{"id":"c-1","status":"ACCEPTED"}`
	for attempt := range 3 {
		at := time.Now().Add(time.Duration(attempt-2) * time.Second)
		sig, _ := kyccb.SignSEP12(anchorSeed, "wallet.example.org", []byte(body), at)
		r := httptest.NewRequest(http.MethodPost, "/kyc", strings.NewReader(body))
		r.Header.Set(kyccb.SignatureHeader, sig)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		fmt.Println("attempt", attempt+1, "reply", rec.Code)
	}
	// Output:
	// processing c-1 ACCEPTED
	// attempt 1 reply 200
	// attempt 2 reply 200
	// attempt 3 reply 200
}

func ExampleNewMemoryStore() {
	// A store bounded to 10,000 callbacks, for a handler (or several) in
	// one process.
	store := kyccb.NewMemoryStore(kyccb.WithMaxEntries(10_000))
	ctx := context.Background()

	token, state, _ := store.Reserve(ctx, "sep12:example", time.Minute)
	fmt.Println(state)
	_, state, _ = store.Reserve(ctx, "sep12:example", time.Minute)
	fmt.Println(state)
	store.Confirm(ctx, "sep12:example", token, 72*time.Hour)
	_, state, _ = store.Reserve(ctx, "sep12:example", time.Minute)
	fmt.Println(state)
	// Output:
	// reserved
	// in progress
	// done
}
