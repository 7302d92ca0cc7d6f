package sep10_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/kyccb/kyccb/internal/jsinterop"
	"github.com/kyccb/kyccb/wallet/sep10"
	"github.com/stellar/go-stellar-sdk/txnbuild"
)

// TestInteropJSChallenge checks the client against challenges it did not
// make: an anchor on loopback whose challenges come from the Stellar
// JavaScript SDK's WebAuth.buildChallengeTx (testdata/interop/sep10.mjs),
// and which verifies the signed challenge the client sends back with
// go-stellar-sdk, as a Go anchor would.
//
// Without node or the SDK it is skipped, unless KYCCB_REQUIRE_INTEROP=1;
// install the SDK with `npm ci --prefix testdata/interop`.
func TestInteropJSChallenge(t *testing.T) {
	jsinterop.Dir(t) // skip early, before any server starts

	type build struct {
		ServerSeed        string `json:"server_seed"`
		Account           string `json:"account"`
		HomeDomain        string `json:"home_domain"`
		WebAuthDomain     string `json:"web_auth_domain"`
		NetworkPassphrase string `json:"network_passphrase"`
	}
	var verified bool
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := srv.Listener.Addr().String()
		w.Header().Set("Content-Type", "application/json")
		switch r.Method {
		case http.MethodGet:
			var built struct {
				Transaction string `json:"transaction"`
			}
			jsinterop.Run(t, "sep10.mjs", map[string]build{"build": {
				ServerSeed:        serverSeed,
				Account:           r.URL.Query().Get("account"),
				HomeDomain:        host,
				WebAuthDomain:     host,
				NetworkPassphrase: passphrase,
			}}, &built)
			json.NewEncoder(w).Encode(map[string]string{"transaction": built.Transaction, "network_passphrase": passphrase})
		case http.MethodPost:
			var body struct{ Transaction string }
			if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
				t.Errorf("POST body: %v", err)
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			_, account, _, _, err := txnbuild.ReadChallengeTx(body.Transaction, serverKey, passphrase, host, []string{host})
			if err == nil {
				_, err = txnbuild.VerifyChallengeTxSigners(body.Transaction, serverKey, passphrase, host, []string{host}, account)
			}
			if err != nil {
				t.Errorf("the signed challenge does not verify: %v", err)
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			verified = true
			json.NewEncoder(w).Encode(map[string]string{"token": testToken})
		}
	}))
	defer srv.Close()

	a := sep10.Anchor{
		WebAuthEndpoint:   srv.URL + "/auth",
		SigningKey:        serverKey,
		HomeDomain:        srv.Listener.Addr().String(),
		NetworkPassphrase: passphrase,
	}
	jwt, err := sep10.Authenticate(context.Background(), a, accountSeed)
	if err != nil || jwt != testToken {
		t.Fatalf("Authenticate = %q, %v; want the token", jwt, err)
	}
	if !verified {
		t.Error("the anchor did not verify the signed challenge")
	}
}
