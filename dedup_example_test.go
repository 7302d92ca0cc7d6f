package kyccb_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
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
		kyccb.WithDedup(kyccb.NewMemoryStore()),
		kyccb.WithObserver(func(_ *http.Request, v kyccb.Verdict) {
			fmt.Println("reply", v.Status, v.Outcome())
		}))

	// The anchor signs each delivery anew, a retry too; a retry's body is
	// the same.
	deliver := func(body string, age time.Duration) {
		sig, _ := kyccb.SignSEP12(anchorSeed, "wallet.example.org", []byte(body), time.Now().Add(-age))
		r := httptest.NewRequest(http.MethodPost, "/kyc", strings.NewReader(body))
		r.Header.Set(kyccb.SignatureHeader, sig)
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	deliver(`{"id":"c-1","status":"ACCEPTED"}`, 2*time.Second)
	deliver(`{"id":"c-1","status":"ACCEPTED"}`, time.Second) // a retry
	deliver(`{"id":"c-1","status":"NEEDS_INFO"}`, 0)
	// Back to an earlier status: a change, processed again.
	deliver(`{"id":"c-1","status":"ACCEPTED"}`, 0)
	// Output:
	// processing c-1 ACCEPTED
	// reply 200 accepted
	// reply 200 duplicate
	// processing c-1 NEEDS_INFO
	// reply 200 accepted
	// processing c-1 ACCEPTED
	// reply 200 accepted
}

func ExampleNewMemoryStore() {
	// A store bounded to 10,000 customers, for a handler (or several) in
	// one process.
	store := kyccb.NewMemoryStore(kyccb.WithMaxEntries(10_000))
	ctx := context.Background()
	fingerprint := func(body string) string {
		sum := sha256.Sum256([]byte(body))
		return hex.EncodeToString(sum[:])
	}
	accepted := fingerprint(`{"id":"c-1","status":"ACCEPTED"}`)
	needsInfo := fingerprint(`{"id":"c-1","status":"NEEDS_INFO"}`)

	token, err := store.Reserve(ctx, "customer c-1", kyccb.Delivery{Fingerprint: accepted}, time.Minute)
	fmt.Println("first delivery:", err)
	_, err = store.Reserve(ctx, "customer c-1", kyccb.Delivery{Fingerprint: needsInfo}, time.Minute)
	fmt.Println("meanwhile:", err)
	store.Confirm(ctx, "customer c-1", token, kyccb.Delivery{Fingerprint: accepted}, 72*time.Hour)
	_, err = store.Reserve(ctx, "customer c-1", kyccb.Delivery{Fingerprint: accepted}, time.Minute)
	fmt.Println("redelivery:", err)
	token, err = store.Reserve(ctx, "customer c-1", kyccb.Delivery{Fingerprint: needsInfo}, time.Minute)
	fmt.Println("new status:", err)
	store.Confirm(ctx, "customer c-1", token, kyccb.Delivery{Fingerprint: needsInfo}, 72*time.Hour)
	_, err = store.Reserve(ctx, "customer c-1", kyccb.Delivery{Fingerprint: accepted}, time.Minute)
	fmt.Println("back to the first:", err)
	// Output:
	// first delivery: <nil>
	// meanwhile: kyccb: duplicate callback in progress
	// redelivery: kyccb: callback already processed
	// new status: <nil>
	// back to the first: <nil>
}
