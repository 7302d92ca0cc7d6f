package localanchor_test

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kyccb/kyccb/internal/localanchor"
	"github.com/stellar/go-stellar-sdk/keypair"
)

// callHost is call with the Host header set to host.
func callHost(t *testing.T, method, url, host, jwt string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	if jwt != "" {
		req.Header.Set("Authorization", "Bearer "+jwt)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// TestDNSRebinding checks that every endpoint refuses, with 421 and before
// doing anything, a request whose Host is not the anchor's own loopback
// address: a web page whose name was rebound to 127.0.0.1 sends its own.
// It gets no challenge and no JWT, creates no customer and registers no
// callback URL; the same requests with the anchor's Host work.
func TestDNSRebinding(t *testing.T) {
	var dr dialRecorder
	server := keypair.MustRandom()
	a, rec := startAnchor(t, localanchor.Config{Seed: server.Seed(), Client: dr.client(), Every: time.Hour})
	seed, jwt := login(t, a)
	client := keypair.MustParseFull(seed)
	_, port, _ := net.SplitHostPort(domain(a))
	// A challenge the anchor signed, signed by the client: worth a JWT.
	x := signedChallenge(t, domain(a), server, a.SigningKey(), client.Address(), time.Time{}, time.Time{}, client)
	w := newWallet(t, a.SigningKey(), 0)

	requests := []struct {
		method, path, jwt string
		body              []byte
	}{
		{http.MethodGet, "/.well-known/stellar.toml", "", nil},
		{http.MethodGet, "/auth?account=" + client.Address(), "", nil},
		{http.MethodOptions, "/auth", "", nil},
		{http.MethodPost, "/auth", "", mustJSON(t, map[string]string{"transaction": x})},
		{http.MethodGet, "/customer", jwt, nil},
		{http.MethodPut, "/customer", jwt, []byte(`{"first_name":"Mallory"}`)},
		{http.MethodPut, "/customer/callback", jwt, mustJSON(t, map[string]string{"url": w.url})},
		{http.MethodDelete, "/customer/" + client.Address(), jwt, nil},
		{http.MethodGet, "/info", "", nil},
		{http.MethodGet, "/deposit?asset_code=USDC&account=" + client.Address(), jwt, nil},
		{http.MethodGet, "/transactions?asset_code=USDC", jwt, nil},
	}
	for _, host := range []string{
		"attacker.example:" + port,
		"attacker.example",
		"127.0.0.1.nip.io:" + port, // a name that resolves to loopback is still a name
		"127.0.0.1:1",              // another port: another service's name
	} {
		for _, rq := range requests {
			t.Run(host+" "+rq.method+" "+rq.path, func(t *testing.T) {
				code, body := callHost(t, rq.method, a.URL()+rq.path, host, rq.jwt, rq.body)
				if code != http.StatusMisdirectedRequest {
					t.Errorf("status %d %s, want 421", code, body)
				}
				for _, leak := range []string{"transaction", "token", `"id"`, "SIGNING_KEY", host} {
					if leak != "" && strings.Contains(string(body), leak) {
						t.Errorf("the reply holds %q: %s", leak, body)
					}
				}
			})
		}
	}
	if evs := rec.all(localanchor.EventRegistered, localanchor.EventStatus); len(evs) != 0 {
		t.Errorf("rebound requests changed customers: %v", evs)
	}
	if d := dr.dials(); len(d) != 0 {
		t.Errorf("the anchor dialed %v", d)
	}
	// Nothing was created: the account is still unknown.
	if code, body := call(t, http.MethodGet, a.URL()+"/customer", jwt, "", nil); code != http.StatusOK || strings.Contains(string(body), `"id"`) {
		t.Errorf("GET /customer = %d %s, want no customer", code, body)
	}
	// The challenge was not used: it is still worth its one JWT.
	if code, body := call(t, http.MethodPost, a.WebAuthEndpoint(), "", "", mustJSON(t, map[string]string{"transaction": x})); code != http.StatusOK {
		t.Errorf("POST /auth with the anchor's Host = %d %s", code, body)
	}
	// The anchor's own names pass.
	for _, host := range []string{domain(a), "localhost:" + port, "LOCALHOST:" + port} {
		if code, body := callHost(t, http.MethodGet, a.URL()+"/auth?account="+client.Address(), host, "", nil); code != http.StatusOK {
			t.Errorf("GET /auth with Host %s = %d %s", host, code, body)
		}
	}
}
