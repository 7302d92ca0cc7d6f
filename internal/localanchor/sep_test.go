package localanchor_test

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/kyccb/kyccb"
	"github.com/kyccb/kyccb/internal/localanchor"
	"github.com/kyccb/kyccb/wallet/sep10"
	"github.com/stellar/go-stellar-sdk/keypair"
	"github.com/stellar/go-stellar-sdk/strkey"
	"github.com/stellar/go-stellar-sdk/txnbuild"
)

// The tests of this file each show one SEP rule the anchor follows, or the
// documented choice where it does not.

// TestSEP10CORS: SEP-10's endpoints send Access-Control-Allow-Origin: *,
// errors included, and answer the OPTIONS preflight, so that browser
// wallets can sign in. The authenticated endpoints answer no preflight
// (the documented choice: a page of another origin cannot use a JWT there).
func TestSEP10CORS(t *testing.T) {
	a, _ := startAnchor(t, localanchor.Config{})
	account := keypair.MustRandom().Address()
	for _, tt := range []struct {
		name, method, path string
		body               []byte
		code               int
	}{
		{"A challenge", http.MethodGet, "/auth?account=" + account, nil, http.StatusOK},
		{"A refused challenge", http.MethodGet, "/auth?account=nobody", nil, http.StatusBadRequest},
		{"A refused token", http.MethodPost, "/auth", []byte(`{"transaction":"AAAA"}`), http.StatusBadRequest},
		{"The preflight", http.MethodOptions, "/auth", nil, http.StatusNoContent},
		{"A wrong method", http.MethodDelete, "/auth", nil, http.StatusMethodNotAllowed},
		{"The stellar.toml", http.MethodGet, "/.well-known/stellar.toml", nil, http.StatusOK},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, a.URL()+tt.path, bytes.NewReader(tt.body))
			req.Header.Set("Origin", "https://wallet.example")
			req.Header.Set("Access-Control-Request-Method", "POST")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.code || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
				t.Errorf("%d, Access-Control-Allow-Origin %q; want %d and *", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"), tt.code)
			}
			if tt.method == http.MethodOptions && !strings.Contains(resp.Header.Get("Access-Control-Allow-Methods"), "POST") {
				t.Errorf("preflight allows %q, want POST", resp.Header.Get("Access-Control-Allow-Methods"))
			}
		})
	}
	req, _ := http.NewRequest(http.MethodOptions, a.URL()+"/customer", nil)
	req.Header.Set("Origin", "https://wallet.example")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Access-Control-Allow-Origin") != "" || resp.StatusCode < 400 {
		t.Errorf("OPTIONS /customer = %d with Access-Control-Allow-Origin %q, want a refusal without CORS", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
	}
}

// muxed returns the M... address of account with id.
func muxed(t *testing.T, account string, id uint64) string {
	t.Helper()
	var m strkey.MuxedAccount
	if err := m.SetAccountID(account); err != nil {
		t.Fatal(err)
	}
	m.SetID(id)
	addr, err := m.Address()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// authByHand signs in as account (G... or M...) with the key kp, checking
// the challenge with go-stellar-sdk, and returns POST /auth's status and
// token.
func authByHand(t *testing.T, a *localanchor.Anchor, account string, kp *keypair.Full) (int, string) {
	t.Helper()
	code, body := call(t, http.MethodGet, a.WebAuthEndpoint()+"?account="+url.QueryEscape(account), "", "", nil)
	if code != http.StatusOK {
		return code, ""
	}
	var ch struct{ Transaction string }
	if err := json.Unmarshal(body, &ch); err != nil {
		t.Fatal(err)
	}
	tx, client, _, _, err := txnbuild.ReadChallengeTx(ch.Transaction, a.SigningKey(), localanchor.NetworkPassphrase, domain(a), []string{domain(a)})
	if err != nil || client != account {
		t.Fatalf("ReadChallengeTx: client %s, %v", client, err)
	}
	if tx, err = tx.Sign(localanchor.NetworkPassphrase, kp); err != nil {
		t.Fatal(err)
	}
	x, _ := tx.Base64()
	code, body = call(t, http.MethodPost, a.WebAuthEndpoint(), "", "", mustJSON(t, map[string]string{"transaction": x}))
	var tok struct{ Token string }
	json.Unmarshal(body, &tok)
	return code, tok.Token
}

// TestMuxedAccounts: SEP-10 signs in an M... muxed account with its G...
// account's key, and each muxed account is a customer of its own; a memo
// with a muxed account is refused.
func TestMuxedAccounts(t *testing.T) {
	a, _ := startAnchor(t, localanchor.Config{})
	kp := keypair.MustRandom()
	m1, m2 := muxed(t, kp.Address(), 1), muxed(t, kp.Address(), 2)

	code, jwt1 := authByHand(t, a, m1, kp)
	if code != http.StatusOK || jwt1 == "" {
		t.Fatalf("sign-in as %s = %d", m1, code)
	}
	if code, _ := authByHand(t, a, m2, keypair.MustRandom()); code != http.StatusBadRequest {
		t.Errorf("sign-in as a muxed account with another key = %d, want 400", code)
	}
	_, jwt2 := authByHand(t, a, m2, kp)
	if code, body := call(t, http.MethodPut, a.URL()+"/customer", jwt1, "", []byte(`{"first_name":"One"}`)); code != http.StatusAccepted {
		t.Fatalf("PUT /customer as %s = %d %s", m1, code, body)
	}
	if code, body := call(t, http.MethodGet, a.URL()+"/customer", jwt2, "", nil); code != http.StatusOK || strings.Contains(string(body), `"id"`) {
		t.Errorf("GET /customer as %s = %d %s, want a customer the anchor does not know", m2, code, body)
	}
	if code, body := call(t, http.MethodDelete, a.URL()+"/customer/"+m1, jwt1, "", nil); code != http.StatusOK {
		t.Errorf("DELETE /customer/%s = %d %s", m1, code, body)
	}
	if code, body := call(t, http.MethodGet, a.WebAuthEndpoint()+"?memo=5&account="+m1, "", "", nil); code != http.StatusBadRequest || !strings.Contains(string(body), "muxed") {
		t.Errorf("a challenge for a muxed account with a memo = %d %s, want 400", code, body)
	}
}

// TestAccountAndMemoParameters: SEP-12's account and memo parameters must
// agree with the JWT (403 otherwise, "should return an error response");
// a memo-less JWT's memo parameter names a customer of the shared account.
func TestAccountAndMemoParameters(t *testing.T) {
	a, _ := startAnchor(t, localanchor.Config{})
	kp := keypair.MustRandom()
	plain := loginAs(t, a, kp.Seed(), nil)
	memo7 := loginAs(t, a, kp.Seed(), []sep10.Option{sep10.WithMemo(7)})
	other := keypair.MustRandom().Address()

	for _, tt := range []struct {
		name, method, path, jwt string
		body                    string
		want                    int
	}{
		{"GET, another account", http.MethodGet, "/customer?account=" + other, plain, "", http.StatusForbidden},
		{"PUT, another account", http.MethodPut, "/customer", plain, `{"account":"` + other + `","first_name":"A"}`, http.StatusForbidden},
		{"Callback, another account", http.MethodPut, "/customer/callback", plain, `{"account":"` + other + `","url":"http://127.0.0.1:1/"}`, http.StatusForbidden},
		{"GET, another memo than the JWT's", http.MethodGet, "/customer?memo=8", memo7, "", http.StatusForbidden},
		{"PUT, another memo than the JWT's", http.MethodPut, "/customer", memo7, `{"memo":"8","first_name":"A"}`, http.StatusForbidden},
		{"Callback, another memo than the JWT's", http.MethodPut, "/customer/callback", memo7, `{"memo":"8","url":"http://127.0.0.1:1/"}`, http.StatusForbidden},
		{"DELETE, another memo than the JWT's", http.MethodDelete, "/customer/" + kp.Address() + "?memo=8", memo7, "", http.StatusForbidden},
		{"A text memo", http.MethodGet, "/customer?memo=abc&memo_type=text", plain, "", http.StatusBadRequest},
		{"GET, the JWT's own account and memo", http.MethodGet, "/customer?memo=7&account=" + kp.Address(), memo7, "", http.StatusOK},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var body []byte
			if tt.body != "" {
				body = []byte(tt.body)
			}
			code, reply := call(t, tt.method, a.URL()+tt.path, tt.jwt, "", body)
			if code != tt.want {
				t.Errorf("%s %s = %d %s, want %d", tt.method, tt.path, code, reply, tt.want)
			}
		})
	}

	// Shared accounts: the memo-less JWT with memo 7 is the customer of
	// the JWT with memo 7, and memo 8 another one.
	code, body := call(t, http.MethodPut, a.URL()+"/customer", plain, "", []byte(`{"memo":"7","first_name":"Seven"}`))
	var put struct{ ID string }
	if code != http.StatusAccepted || json.Unmarshal(body, &put) != nil {
		t.Fatalf("PUT /customer memo 7 = %d %s", code, body)
	}
	if code, body := call(t, http.MethodGet, a.URL()+"/customer", memo7, "", nil); code != http.StatusOK || !strings.Contains(string(body), put.ID) {
		t.Errorf("GET /customer with the memo 7 JWT = %d %s, want customer %s", code, body, put.ID)
	}
	if code, body := call(t, http.MethodGet, a.URL()+"/customer?memo=8", plain, "", nil); code != http.StatusOK || strings.Contains(string(body), `"id"`) {
		t.Errorf("GET /customer?memo=8 = %d %s, want a customer the anchor does not know", code, body)
	}
	if code, body := call(t, http.MethodGet, a.URL()+"/customer", plain, "", nil); code != http.StatusOK || strings.Contains(string(body), `"id"`) {
		t.Errorf("GET /customer without memo = %d %s, want the account's own customer, unknown", code, body)
	}
	if code, body := call(t, http.MethodDelete, a.URL()+"/customer/"+kp.Address(), plain, "", []byte(`{"memo":"7"}`)); code != http.StatusOK {
		t.Errorf("DELETE with memo 7 in the body = %d %s", code, body)
	}
	if code, body := call(t, http.MethodGet, a.URL()+"/customer?id="+put.ID, memo7, "", nil); code != http.StatusNotFound {
		t.Errorf("GET the deleted customer = %d %s, want 404", code, body)
	}
}

// TestCallbackForUnknownCustomer: PUT /customer/callback with an id the
// anchor does not know is 404, as SEP-12's table says; without an id, an
// account with no customer gets a new one (the documented choice, so that
// `kyccb register` alone starts a fresh account's callbacks).
func TestCallbackForUnknownCustomer(t *testing.T) {
	a, rec := startAnchor(t, localanchor.Config{})
	_, jwt := login(t, a)
	code, body := call(t, http.MethodPut, a.URL()+"/customer/callback", jwt, "", []byte(`{"id":"nobody","url":"http://127.0.0.1:1/kyc"}`))
	if code != http.StatusNotFound || len(rec.all(localanchor.EventRegistered)) != 0 {
		t.Errorf("PUT /customer/callback for an unknown id = %d %s, want 404 and nothing registered", code, body)
	}
	code, body = call(t, http.MethodPut, a.URL()+"/customer/callback", jwt, "", []byte(`{"url":"http://127.0.0.1:1/kyc"}`))
	if code != http.StatusOK || !strings.Contains(string(body), `"id"`) {
		t.Errorf("PUT /customer/callback for a new account = %d %s, want 200 and the new customer's id", code, body)
	}
}

// TestJSONReplies: SEP-12 wants application/json of every endpoint:
// DELETE's 200, the 404 of no route and the 405 of a wrong method too.
func TestJSONReplies(t *testing.T) {
	a, _ := startAnchor(t, localanchor.Config{})
	seed, jwt := login(t, a)
	account := keypair.MustParseFull(seed).Address()
	call(t, http.MethodPut, a.URL()+"/customer", jwt, "", []byte(`{"first_name":"A"}`))
	for _, tt := range []struct {
		method, path string
		want         int
	}{
		{http.MethodDelete, "/customer/" + account, http.StatusOK},
		{http.MethodPost, "/customer", http.StatusMethodNotAllowed},
		{http.MethodPatch, "/customer/callback", http.StatusMethodNotAllowed},
		{http.MethodGet, "/nowhere", http.StatusNotFound},
		{http.MethodGet, "/customer/" + account, http.StatusMethodNotAllowed},
	} {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, a.URL()+tt.path, nil)
			req.Header.Set("Authorization", "Bearer "+jwt)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var v map[string]any
			err = json.NewDecoder(resp.Body).Decode(&v)
			if resp.StatusCode != tt.want || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") || err != nil {
				t.Errorf("%d %s (%v), want %d application/json", resp.StatusCode, resp.Header.Get("Content-Type"), err, tt.want)
			}
			if tt.want >= 400 && v["error"] == nil {
				t.Errorf("reply %v, want a SEP error", v)
			}
		})
	}
}

// TestProvidedFieldTypes: provided_fields entries all have a description,
// and SEP-9 decides a field's type: a binary field sent as a multipart
// part without filename= is binary, a known string field sent as a file
// part is a string; a field SEP-9 does not define is typed by how it came.
func TestProvidedFieldTypes(t *testing.T) {
	a, _ := startAnchor(t, localanchor.Config{})
	_, jwt := login(t, a)
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	mw.WriteField("photo_id_back", "\x89PNG...") // no filename=
	mw.WriteField("birth_date", "1976-07-04")
	mw.WriteField("our_nickname", "Zed")
	fw, _ := mw.CreateFormFile("first_name", "name.txt")
	fw.Write([]byte("Zoë"))
	fw, _ = mw.CreateFormFile("selfie_video", "v.mp4")
	fw.Write([]byte("..."))
	mw.Close()
	if code, body := call(t, http.MethodPut, a.URL()+"/customer", jwt, mw.FormDataContentType(), mp.Bytes()); code != http.StatusAccepted {
		t.Fatalf("PUT /customer = %d %s", code, body)
	}
	code, body := call(t, http.MethodGet, a.URL()+"/customer", jwt, "", nil)
	var c kyccb.Customer
	if code != http.StatusOK || json.Unmarshal(body, &c) != nil {
		t.Fatalf("GET /customer = %d %s", code, body)
	}
	for name, typ := range map[string]string{"photo_id_back": "binary", "birth_date": "date", "our_nickname": "string", "first_name": "string", "selfie_video": "binary"} {
		f, ok := c.ProvidedFields[name]
		if !ok || f.Type != typ || f.Description == "" {
			t.Errorf("provided_fields[%s] = %+v, want type %s with a description", name, f, typ)
		}
	}
}
