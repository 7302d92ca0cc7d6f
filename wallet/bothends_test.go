package wallet_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kyccb/kyccb"
	"github.com/kyccb/kyccb/kyccbtest"
	"github.com/kyccb/kyccb/send"
	"github.com/kyccb/kyccb/wallet"
)

// TestBothEnds runs a whole SEP-12 callback flow over loopback, for an
// anchor served over https as in production and for a local anchor served
// over plain http. The anchor is a stellar.toml on its domain, a KYC server
// that takes registrations and a sender; the wallet discovers the KYC
// server and the signing key from the stellar.toml, registers its callback
// URL and receives with the core handler.
func TestBothEnds(t *testing.T) {
	for _, tc := range []struct {
		name  string
		serve serveAnchor
	}{
		{"an anchor over https", func(t *testing.T, toml func() string, kyc http.Handler) (string, string, *http.Client, func() int64) {
			kycSrv := httptest.NewTLSServer(kyc)
			t.Cleanup(kycSrv.Close)
			web := newTOMLServer(t, "")
			web.mu.Lock()
			web.dynamic = toml
			web.mu.Unlock()
			return anchorDomain, kycSrv.URL, web.client(), web.fetches.Load
		}},
		{"a local anchor over plain http", func(t *testing.T, toml func() string, kyc http.Handler) (string, string, *http.Client, func() int64) {
			var fetches atomic.Int64
			mux := http.NewServeMux()
			mux.Handle("/sep12/", kyc)
			mux.HandleFunc("GET /.well-known/stellar.toml", func(w http.ResponseWriter, r *http.Request) {
				fetches.Add(1)
				io.WriteString(w, toml())
			})
			srv := httptest.NewServer(mux)
			t.Cleanup(srv.Close)
			return srv.Listener.Addr().String(), srv.URL, &http.Client{}, fetches.Load
		}},
	} {
		t.Run(tc.name, func(t *testing.T) { testBothEnds(t, tc.serve) })
	}
}

// serveAnchor starts an anchor's web server, serving the stellar.toml that
// toml returns, and its KYC server, kyc, under /sep12/. It returns the
// anchor's domain, the KYC server's base URL, a client that reaches both,
// and a count of the stellar.toml fetches.
type serveAnchor func(t *testing.T, toml func() string, kyc http.Handler) (domain, kycURL string, client *http.Client, fetches func() int64)

func testBothEnds(t *testing.T, serve serveAnchor) {
	anchorKey := kyccbtest.NewKeyPair(t)
	const walletJWT = "wallet.jwt.token"

	// The anchor's KYC server: PUT /sep12/customer/callback remembers the
	// URL for the customer, as an anchor does.
	var (
		mu        sync.Mutex
		callbacks = map[string]string{} // customer id -> callback URL
	)
	kyc := http.NewServeMux()
	kyc.HandleFunc("PUT /sep12/customer/callback", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Header.Get("Authorization") != "Bearer "+walletJWT {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error": "invalid JWT"}`)
			return
		}
		var reg wallet.CallbackRegistration
		if err := json.NewDecoder(r.Body).Decode(&reg); err != nil || reg.URL == "" {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"error": "url is required"}`)
			return
		}
		if reg.ID != "cust-1" {
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"error": "customer not found"}`)
			return
		}
		mu.Lock()
		callbacks[reg.ID] = reg.URL
		mu.Unlock()
		io.WriteString(w, `{}`)
	})
	var kycURL string // known once the server runs
	domain, kycURL, client, fetches := serve(t, func() string {
		return signingTOML(anchorKey.Address) + "KYC_SERVER = \"" + kycURL + "/sep12\"\n"
	}, kyc)

	// The wallet: discover, then listen, then register.
	ctx := t.Context()
	server, err := wallet.KYCServer(ctx, domain, wallet.WithHTTPClient(client))
	if err != nil {
		t.Fatal(err)
	}
	keys, err := wallet.NewTOMLKeys(domain, wallet.WithHTTPClient(client))
	if err != nil {
		t.Fatal(err)
	}
	var (
		seenMu sync.Mutex
		seen   []kyccb.Customer
	)
	walletMux := http.NewServeMux()
	walletSrv := httptest.NewServer(walletMux)
	t.Cleanup(walletSrv.Close)
	callbackURL := walletSrv.URL + "/callbacks/kyc"
	v, err := kyccb.NewSEP12Verifier(keys, callbackURL)
	if err != nil {
		t.Fatal(err)
	}
	walletMux.Handle("POST /callbacks/kyc", v.Handler(func(_ context.Context, c kyccb.Customer) error {
		seenMu.Lock()
		defer seenMu.Unlock()
		seen = append(seen, c)
		return nil
	}))

	err = wallet.RegisterCallback(ctx, server, "stolen.jwt", wallet.CallbackRegistration{URL: callbackURL, ID: "cust-1"}, wallet.WithHTTPClient(client))
	var ae *wallet.AnchorError
	if !errors.As(err, &ae) || ae.StatusCode != 401 || ae.Message != "invalid JWT" {
		t.Fatalf("registering with a wrong JWT: %v, want a 401 AnchorError", err)
	}
	if err := wallet.RegisterCallback(ctx, server, walletJWT, wallet.CallbackRegistration{URL: callbackURL, ID: "cust-1"}, wallet.WithHTTPClient(client)); err != nil {
		t.Fatalf("registering: %v", err)
	}

	// The anchor: the customer's status changes three times; each change
	// is sent to the URL the wallet registered.
	mu.Lock()
	registered := callbacks["cust-1"]
	mu.Unlock()
	sender, err := send.NewSEP12(anchorKey.Seed)
	if err != nil {
		t.Fatal(err)
	}
	want := []kyccb.Customer{
		{ID: "cust-1", Status: kyccb.StatusNeedsInfo, Fields: map[string]kyccb.Field{
			"photo_id_front": {Type: "binary", Description: "A clear photo of the front of the government issued ID"},
		}},
		{ID: "cust-1", Status: kyccb.StatusProcessing, ProvidedFields: map[string]kyccb.ProvidedField{
			"photo_id_front": {Type: "binary", Status: "PROCESSING"},
		}},
		{ID: "cust-1", Status: kyccb.StatusAccepted},
	}
	for _, c := range want {
		body, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		d, err := sender.Send(ctx, registered, body)
		if err != nil || len(d.Attempts) != 1 || d.StatusCode != http.StatusOK {
			t.Fatalf("delivering %s: %v after %d attempts, status %d", c.Status, err, len(d.Attempts), d.StatusCode)
		}
	}

	seenMu.Lock()
	defer seenMu.Unlock()
	if diff := cmp.Diff(want, seen); diff != "" {
		t.Fatalf("what the wallet's function saw (-want +got):\n%s", diff)
	}
	// One fetch to find the KYC server, one for the signing key.
	if n := fetches(); n != 2 {
		t.Fatalf("%d stellar.toml fetches, want 2", n)
	}
}
