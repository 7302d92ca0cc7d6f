package localanchor_test

import (
	"net/http"
	"testing"

	"github.com/kyccb/kyccb/internal/jsinterop"
	"github.com/kyccb/kyccb/internal/localanchor"
	"github.com/stellar/go-stellar-sdk/keypair"
)

// TestInteropJSAuthenticate checks the anchor's SEP-10 server against a
// client it did not write: the Stellar JavaScript SDK reads the anchor's
// challenge with WebAuth.readChallengeTx (which checks the server
// signature, time bounds, home domain and web auth domain), signs it and
// posts it back (testdata/interop/sep10.mjs); the JWT it gets must open
// GET /customer.
//
// Without node or the SDK it is skipped, unless KYCCB_REQUIRE_INTEROP=1;
// install the SDK with `npm ci --prefix testdata/interop`.
func TestInteropJSAuthenticate(t *testing.T) {
	jsinterop.Dir(t) // skip early, before the anchor starts
	a, _ := startAnchor(t, localanchor.Config{})
	type authenticate struct {
		WebAuthEndpoint   string `json:"web_auth_endpoint"`
		ServerKey         string `json:"server_key"`
		HomeDomain        string `json:"home_domain"`
		WebAuthDomain     string `json:"web_auth_domain"`
		NetworkPassphrase string `json:"network_passphrase"`
		AccountSeed       string `json:"account_seed"`
	}
	st := fetchTOML(t, a)
	var reply struct {
		Token string `json:"token"`
	}
	jsinterop.Run(t, "sep10.mjs", map[string]authenticate{"authenticate": {
		WebAuthEndpoint:   st.WebAuthEndpoint,
		ServerKey:         st.SigningKey,
		HomeDomain:        domain(a),
		WebAuthDomain:     domain(a),
		NetworkPassphrase: st.NetworkPassphrase,
		AccountSeed:       keypair.MustRandom().Seed(),
	}}, &reply)
	if reply.Token == "" {
		t.Fatal("no token")
	}
	if code, body := call(t, http.MethodGet, a.URL()+"/customer", reply.Token, "", nil); code != http.StatusOK {
		t.Errorf("GET /customer with the JavaScript SDK's JWT = %d %s", code, body)
	}
}
