package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/kyccb/kyccb/wallet"
	"github.com/kyccb/kyccb/wallet/sep10"
)

// TestAnchorSEP6ListenVerifies runs the SEP-6 KYC flow of ANCHOR-746
// against kyccb anchor, with kyccb listen receiving both kinds of
// callbacks: a deposit with on_change_callback (listen's /tx), a customer
// callback (listen's /kyc), the customer's fields given with the
// transaction_id. listen verifies all five callbacks, in the order the
// seed discussion gives: each transaction change before the customer
// change that caused it.
func TestAnchorSEP6ListenVerifies(t *testing.T) {
	a := startAnchor(t, "--every", "300ms", "--json")
	// listen forwards what it verified, byte for byte, to the app.
	var mu sync.Mutex
	var forwarded [][]byte
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		forwarded = append(forwarded, b)
		mu.Unlock()
	}))
	defer app.Close()
	l := startListen(t, "--anchor-domain", a.domain, "--json", "--forward", app.URL+"/callbacks")
	ctx := context.Background()
	toml, err := wallet.StellarTOML(ctx, a.domain)
	if err != nil {
		t.Fatal(err)
	}
	if toml.TransferServer != "http://"+a.domain {
		t.Errorf("TRANSFER_SERVER %q", toml.TransferServer)
	}
	anchor, err := sep10.FromTOML(a.domain, toml)
	if err != nil {
		t.Fatal(err)
	}
	jwt, err := sep10.Authenticate(ctx, anchor, a.seed)
	if err != nil {
		t.Fatal(err)
	}
	do := func(method, path string, body []byte) []byte {
		t.Helper()
		req, _ := http.NewRequest(method, "http://"+a.domain+path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+jwt)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode >= 300 {
			t.Fatalf("%s %s = %d %s", method, path, resp.StatusCode, b)
		}
		return b
	}
	var dep struct{ ID string }
	json.Unmarshal(do(http.MethodGet, "/deposit?asset_code=USDC&amount=5&on_change_callback="+url.QueryEscape(l.url+"/tx"), nil), &dep)
	do(http.MethodPut, "/customer/callback", []byte(`{"url":"`+l.url+`/kyc"}`))
	do(http.MethodPut, "/customer", []byte(`{"transaction_id":"`+dep.ID+`","first_name":"Ada","last_name":"Lovelace","email_address":"ada@example.org"}`))

	deadline := time.Now().Add(15 * time.Second)
	var reps []report
	for reps = l.reports(t); len(reps) < 5 && time.Now().Before(deadline); reps = l.reports(t) {
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(forwarded) != len(reps) {
		t.Fatalf("listen verified %d callbacks and forwarded %d", len(reps), len(forwarded))
	}
	var got []string
	for i, r := range reps {
		var p struct {
			Status      string
			Transaction struct{ ID, Status string }
		}
		if err := json.Unmarshal(forwarded[i], &p); err != nil {
			t.Fatalf("forwarded %s: %v", forwarded[i], err)
		}
		if r.Verdict != "accepted" || r.HTTPStatus != 200 {
			t.Errorf("listen: %+v, want accepted", r)
		}
		if r.Path == "/tx" {
			if p.Transaction.ID != dep.ID {
				t.Errorf("transaction callback for %q, want %q", p.Transaction.ID, dep.ID)
			}
			got = append(got, "/tx "+p.Transaction.Status)
		} else {
			got = append(got, r.Path+" "+p.Status)
		}
	}
	want := []string{"/tx pending_customer_info_update", "/tx pending_anchor", "/kyc PROCESSING", "/tx pending_user_transfer_start", "/kyc ACCEPTED"}
	if !slices.Equal(got, want) {
		t.Errorf("listen verified %q, want %q\n%s", got, want, l.stdout.String())
	}
}
