package kyccb_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kyccb/kyccb"
	"github.com/kyccb/kyccb/kyccbtest"
)

// TestBothEnds runs a whole SEP-12 callback flow over loopback. The anchor
// is a stellar.toml on its domain, a KYC server that takes registrations
// and a sender; the wallet discovers the KYC server and the signing key
// from the stellar.toml, registers its callback URL and receives with the
// core handler.
func TestBothEnds(t *testing.T) {
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
		var reg kyccb.CallbackRegistration
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
	kycSrv := httptest.NewServer(kyc)
	t.Cleanup(kycSrv.Close)
	anchorWeb := newTOMLServer(t, signingTOML(anchorKey.Address)+"KYC_SERVER = \""+kycSrv.URL+"/sep12\"\n")
	client := anchorWeb.client()

	// The wallet: discover, then listen, then register.
	ctx := t.Context()
	server, err := kyccb.KYCServer(ctx, anchorDomain, kyccb.WithHTTPClient(client))
	if err != nil {
		t.Fatal(err)
	}
	keys, err := kyccb.NewTOMLKeys(anchorDomain, kyccb.WithHTTPClient(client))
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

	err = kyccb.RegisterCallback(ctx, server, "stolen.jwt", kyccb.CallbackRegistration{URL: callbackURL, ID: "cust-1"})
	var ae *kyccb.AnchorError
	if !errors.As(err, &ae) || ae.StatusCode != 401 || ae.Message != "invalid JWT" {
		t.Fatalf("registering with a wrong JWT: %v, want a 401 AnchorError", err)
	}
	if err := kyccb.RegisterCallback(ctx, server, walletJWT, kyccb.CallbackRegistration{URL: callbackURL, ID: "cust-1"}); err != nil {
		t.Fatalf("registering: %v", err)
	}

	// The anchor: the customer's status changes three times; each change
	// is sent to the URL the wallet registered.
	mu.Lock()
	registered := callbacks["cust-1"]
	mu.Unlock()
	sender, err := kyccb.NewSEP12Sender(anchorKey.Seed)
	if err != nil {
		t.Fatal(err)
	}
	want := []kyccb.Customer{
		{ID: "cust-1", Status: kyccb.StatusNeedsInfo, Fields: map[string]kyccb.Field{
			"photo_id_front": {Type: kyccb.FieldBinary, Description: "A clear photo of the front of the government issued ID"},
		}},
		{ID: "cust-1", Status: kyccb.StatusProcessing, ProvidedFields: map[string]kyccb.ProvidedField{
			"photo_id_front": {Type: kyccb.FieldBinary, Status: kyccb.FieldProcessing},
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
	if n := anchorWeb.fetches.Load(); n != 2 {
		t.Fatalf("%d stellar.toml fetches, want 2", n)
	}
}
