package kyccb_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kyccb/kyccb"
	"github.com/kyccb/kyccb/kyccbtest"
)

// TestEndToEnd runs both handlers behind a real HTTP server on loopback and
// delivers callbacks as the senders do, through a real client.
func TestEndToEnd(t *testing.T) {
	anchor := kyccbtest.NewKeyPair(t)
	const secret = "xgw-merchant-secret"

	var mu sync.Mutex
	var customers []kyccb.Customer
	var kycs []kyccb.XGatewayKYC
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	callbackURL := srv.URL + "/kyc"
	mux.Handle("/kyc", kyccb.SEP12(anchor.Address, callbackURL, func(_ context.Context, c kyccb.Customer) error {
		mu.Lock()
		defer mu.Unlock()
		customers = append(customers, c)
		return nil
	}))
	mux.Handle("/xgw", kyccb.XGateway(secret, func(_ context.Context, k kyccb.XGatewayKYC) error {
		mu.Lock()
		defer mu.Unlock()
		kycs = append(kycs, k)
		return nil
	}))

	accepted := kyccb.Customer{ID: "c-1", Status: kyccb.StatusAccepted}
	rejected := kyccb.Customer{ID: "c-2", Status: kyccb.StatusRejected, Message: "sanctions list"}
	fullUser := kyccb.XGatewayKYC{CustomerID: "m-7", Status: kyccb.XGatewayFullUser}
	other := kyccbtest.NewKeyPair(t)

	forgedXGW := kyccbtest.XGatewayRequest(t, "not-the-secret", srv.URL+"/xgw", fullUser)
	tests := []struct {
		name string
		req  *http.Request
		want int
	}{
		{"a SEP-12 callback", kyccbtest.SEP12Request(t, anchor.Seed, callbackURL, accepted), 200},
		{"a SEP-12 callback signed with the legacy header only", legacy(kyccbtest.SEP12Request(t, anchor.Seed, callbackURL, rejected)), 200},
		{"a SEP-12 callback from another key", kyccbtest.SEP12Request(t, other.Seed, callbackURL, accepted), 401},
		{"a SEP-12 callback signed 10 minutes ago", kyccbtest.SEP12RequestAt(t, anchor.Seed, callbackURL, accepted, time.Now().Add(-10*time.Minute)), 401},
		{"an XGateway callback", kyccbtest.XGatewayRequest(t, secret, srv.URL+"/xgw", fullUser), 200},
		{"an XGateway callback with another secret", forgedXGW, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := srv.Client().Do(tt.req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.want {
				t.Fatalf("got %d %q, want %d", resp.StatusCode, b, tt.want)
			}
		})
	}
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff([]kyccb.Customer{accepted, rejected}, customers); diff != "" {
		t.Errorf("SEP-12 function received (-want +got):\n%s", diff)
	}
	fullUser.CallbackType, fullUser.Hash, fullUser.DocsMissing = "kyc", kyccb.XGatewayHash(secret, "m-7"), []string{}
	if diff := cmp.Diff([]kyccb.XGatewayKYC{fullUser}, kycs); diff != "" {
		t.Errorf("XGateway function received (-want +got):\n%s", diff)
	}
}

func legacy(r *http.Request) *http.Request {
	r.Header.Set(kyccb.LegacySignatureHeader, r.Header.Get(kyccb.SignatureHeader))
	r.Header.Del(kyccb.SignatureHeader)
	return r
}

func TestKyccbtestRequestsWorkWithRecorders(t *testing.T) {
	anchor := kyccbtest.NewKeyPair(t)
	var got kyccb.Customer
	h := kyccb.SEP12(anchor.Address, "wallet.example.org", func(_ context.Context, c kyccb.Customer) error { got = c; return nil })
	want := kyccb.Customer{ID: "x", Status: kyccb.StatusProcessing}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, kyccbtest.SEP12Request(t, anchor.Seed, "https://wallet.example.org/kyc", want))
	if rec.Code != 200 || !cmp.Equal(want, got) {
		t.Fatalf("got %d, %+v", rec.Code, got)
	}
	if !strings.HasPrefix(anchor.Seed, "S") || !strings.HasPrefix(anchor.Address, "G") {
		t.Errorf("key pair %+v", anchor)
	}
}
