package wallet_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kyccb/kyccb"
	"github.com/kyccb/kyccb/kyccbtest"
	"github.com/kyccb/kyccb/send"
	"github.com/kyccb/kyccb/wallet"
	"github.com/stellar/go-stellar-sdk/strkey"
)

// anchorDomain is the anchor's home domain in tests. The .test top-level
// domain never resolves, so a request that escapes the test client fails
// instead of reaching the network.
const anchorDomain = "anchor.test"

// tomlServer is an anchor's web server on loopback serving its
// stellar.toml over TLS, as anchors do, and counting the fetches.
type tomlServer struct {
	srv     *httptest.Server
	fetches atomic.Int64

	mu       sync.Mutex
	toml     string
	dynamic  func() string // when set, the stellar.toml, made anew for each fetch
	status   int
	redirect string // when set, the stellar.toml is redirected there
}

func newTOMLServer(t *testing.T, toml string) *tomlServer {
	t.Helper()
	s := &tomlServer{toml: toml, status: http.StatusOK}
	s.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/stellar.toml" {
			http.NotFound(w, r)
			return
		}
		s.fetches.Add(1)
		s.mu.Lock()
		toml, status, redirect := s.toml, s.status, s.redirect
		if s.dynamic != nil {
			toml = s.dynamic()
		}
		s.mu.Unlock()
		if redirect != "" {
			http.Redirect(w, r, redirect, http.StatusFound)
			return
		}
		w.WriteHeader(status)
		io.WriteString(w, toml)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// signingTOML is a stellar.toml with SIGNING_KEY address.
func signingTOML(address string) string {
	return fmt.Sprintf("VERSION = \"2.0.0\"\nSIGNING_KEY = %q\n", address)
}

// serve makes the server answer with toml and status from now on.
func (s *tomlServer) serve(toml string, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.toml, s.status = toml, status
}

// client returns an HTTP client that reaches this server under the name
// anchor.test, checking its certificate (made for example.com by
// httptest), dials loopback addresses as they are and refuses any other.
func (s *tomlServer) client() *http.Client {
	tr := s.srv.Client().Transport.(*http.Transport).Clone()
	tr.TLSClientConfig.ServerName = "example.com"
	addr := s.srv.Listener.Addr().String()
	tr.DialContext = func(ctx context.Context, network, to string) (net.Conn, error) {
		var d net.Dialer
		host, _, err := net.SplitHostPort(to)
		switch {
		case err != nil:
			return nil, err
		case to == anchorDomain+":443":
			return d.DialContext(ctx, "tcp", addr)
		case net.ParseIP(host) != nil && net.ParseIP(host).IsLoopback():
			return d.DialContext(ctx, network, to)
		default:
			return nil, fmt.Errorf("test client: refusing to dial %s", to)
		}
	}
	return &http.Client{Transport: tr}
}

// keyWallet is a wallet's callback endpoint on loopback whose verifier
// trusts keys, with what it accepted and rejected.
type keyWallet struct {
	url      string
	mu       sync.Mutex
	accepted []kyccb.Customer
	rejected []error
	sent     atomic.Int64 // requests posted
}

func newKeyWallet(t *testing.T, keys kyccb.KeySource) *keyWallet {
	t.Helper()
	w := &keyWallet{}
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	w.url = srv.URL + "/kyc"
	v, err := kyccb.NewSEP12Verifier(keys, w.url, kyccb.WithErrorHook(func(_ *http.Request, err error) {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.rejected = append(w.rejected, err)
	}))
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/kyc", v.Handler(func(_ context.Context, c kyccb.Customer) error {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.accepted = append(w.accepted, c)
		return nil
	}))
	return w
}

// post sends body to the wallet signed by seed, once, and returns the
// status. Each post is signed a second before the last, as an anchor
// signs each delivery anew: the same body signed at the same second is
// the same request, a replay the wallet answers without running its
// function.
func (w *keyWallet) post(t *testing.T, client *http.Client, seed string, body []byte) int {
	t.Helper()
	at := time.Now().Add(-time.Duration(w.sent.Add(1)) * time.Second)
	resp, err := client.Do(kyccbtest.SignedRequest(t, seed, w.url, body, at))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

func (w *keyWallet) lastRejection() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.rejected) == 0 {
		return nil
	}
	return w.rejected[len(w.rejected)-1]
}

var accepted = []byte(`{"id":"c1","status":"ACCEPTED"}`)

func TestTOMLKeysRotation(t *testing.T) {
	oldKey, newKey := kyccbtest.NewKeyPair(t), kyccbtest.NewKeyPair(t)
	anchor := newTOMLServer(t, signingTOML(oldKey.Address))
	clock := newFakeClock()
	const interval = time.Minute
	keys, err := wallet.NewTOMLKeys(anchorDomain, wallet.WithHTTPClient(anchor.client()),
		wallet.WithRefreshInterval(interval), wallet.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	if n := anchor.fetches.Load(); n != 0 {
		t.Fatalf("NewTOMLKeys fetched the stellar.toml %d times, want 0: it loads on first use", n)
	}
	rcv := newKeyWallet(t, keys)
	client := &http.Client{}

	if code := rcv.post(t, client, oldKey.Seed, accepted); code != http.StatusOK {
		t.Fatalf("callback signed with the published key: status %d, want 200 (%v)", code, rcv.lastRejection())
	}
	if n := anchor.fetches.Load(); n != 1 {
		t.Fatalf("after the first callback: %d fetches, want 1", n)
	}

	// The anchor rotates its key.
	anchor.serve(signingTOML(newKey.Address), http.StatusOK)

	// Less than an interval after the last fetch, the new key is not
	// looked for: the signature is rejected without a fetch.
	clock.Add(interval - time.Second)
	if code := rcv.post(t, client, newKey.Seed, accepted); code != http.StatusUnauthorized {
		t.Fatalf("new key within the interval: status %d, want 401", code)
	}
	if err := rcv.lastRejection(); !errors.Is(err, kyccb.ErrBadSignature) {
		t.Fatalf("new key within the interval: %v, want ErrBadSignature", err)
	}
	if n := anchor.fetches.Load(); n != 1 {
		t.Fatalf("within the interval: %d fetches, want still 1", n)
	}

	// Once the interval has passed, the failed signature makes one fetch,
	// which finds the new key, and the callback is accepted.
	clock.Add(time.Second)
	if code := rcv.post(t, client, newKey.Seed, accepted); code != http.StatusOK {
		t.Fatalf("new key after the interval: status %d, want 200 (%v)", code, rcv.lastRejection())
	}
	if n := anchor.fetches.Load(); n != 2 {
		t.Fatalf("after the rotation: %d fetches, want 2", n)
	}
	if code := rcv.post(t, client, newKey.Seed, accepted); code != http.StatusOK {
		t.Fatalf("second callback with the new key: status %d, want 200", code)
	}
	if code := rcv.post(t, client, oldKey.Seed, accepted); code != http.StatusUnauthorized {
		t.Fatalf("callback signed with the withdrawn key: status %d, want 401", code)
	}
	if n := anchor.fetches.Load(); n != 2 {
		t.Fatalf("at the end: %d fetches, want 2", n)
	}
	if len(rcv.accepted) != 3 {
		t.Fatalf("fn ran %d times, want 3", len(rcv.accepted))
	}
}

func TestTOMLKeysForgedBurst(t *testing.T) {
	anchorKey, forger := kyccbtest.NewKeyPair(t), kyccbtest.NewKeyPair(t)
	anchor := newTOMLServer(t, signingTOML(anchorKey.Address))
	clock := newFakeClock()
	const interval = 30 * time.Second
	keys, err := wallet.NewTOMLKeys(anchorDomain, wallet.WithHTTPClient(anchor.client()),
		wallet.WithRefreshInterval(interval), wallet.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	rcv := newKeyWallet(t, keys)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 50}}
	t.Cleanup(client.CloseIdleConnections)
	if code := rcv.post(t, client, anchorKey.Seed, accepted); code != http.StatusOK {
		t.Fatalf("genuine callback: status %d, want 200", code)
	}

	// burst sends n copies of one callback signed now with the forger's
	// key, from 50 goroutines, and returns how many were not answered 401.
	burst := func(n int) int {
		signer, err := send.NewSigner(forger.Seed)
		if err != nil {
			t.Fatal(err)
		}
		sig, err := signer.Sign(rcv.url, accepted, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		var wrong atomic.Int64
		var wg sync.WaitGroup
		next := make(chan struct{})
		for range 50 {
			wg.Go(func() {
				for range next {
					req, err := http.NewRequest(http.MethodPost, rcv.url, bytes.NewReader(accepted))
					if err != nil {
						panic(err)
					}
					req.Header.Set(kyccb.SignatureHeader, sig)
					resp, err := client.Do(req)
					// 401, or 503 for those turned away while others
					// wait for the fetch (a verifier lets only a few
					// wait): never processed.
					if err != nil || resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusServiceUnavailable {
						wrong.Add(1)
					}
					if err == nil {
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
					}
				}
			})
		}
		for range n {
			next <- struct{}{}
		}
		close(next)
		wg.Wait()
		return int(wrong.Load())
	}

	for i, step := range []struct {
		advance     time.Duration
		forged      int
		wantFetches int64
	}{
		{interval, 1000, 2},                 // a new interval: one extra fetch for the whole burst
		{interval / 2, 1000, 2},             // the same interval: none
		{interval / 2, 10, 3},               // the next one: one again
		{10 * interval, 10, 4},              // however long the quiet: one
		{interval - time.Nanosecond, 10, 4}, // none until the interval has passed
		{time.Nanosecond, 10, 5},            // and one when it has
	} {
		clock.Add(step.advance)
		if wrong := burst(step.forged); wrong != 0 {
			t.Fatalf("step %d: %d of %d forged callbacks were not answered 401 or 503", i+1, wrong, step.forged)
		}
		if n := anchor.fetches.Load(); n != step.wantFetches {
			t.Fatalf("step %d (clock advanced %s, %d forged callbacks): %d stellar.toml fetches in all, want %d",
				i+1, step.advance, step.forged, n, step.wantFetches)
		}
	}
	if len(rcv.accepted) != 1 {
		t.Fatalf("fn ran %d times, want once (the genuine callback)", len(rcv.accepted))
	}
}

func TestTOMLKeysUnavailable(t *testing.T) {
	anchorKey := kyccbtest.NewKeyPair(t)
	anchor := newTOMLServer(t, "server error")
	anchor.serve("server error", http.StatusInternalServerError)
	clock := newFakeClock()
	const interval = 10 * time.Second
	keys, err := wallet.NewTOMLKeys(anchorDomain, wallet.WithHTTPClient(anchor.client()),
		wallet.WithRefreshInterval(interval), wallet.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	rcv := newKeyWallet(t, keys)
	client := &http.Client{}

	if _, err := keys.SigningKeys(t.Context()); !errors.Is(err, wallet.ErrTOML) {
		t.Fatalf("SigningKeys with the stellar.toml failing: %v, want ErrTOML", err)
	}
	for range 3 {
		if code := rcv.post(t, client, anchorKey.Seed, accepted); code != http.StatusServiceUnavailable {
			t.Fatalf("without a key: status %d, want 503 so that the anchor retries", code)
		}
		if err := rcv.lastRejection(); !errors.Is(err, kyccb.ErrKeysUnavailable) {
			t.Fatalf("without a key: %v, want ErrKeysUnavailable", err)
		}
	}
	if n := anchor.fetches.Load(); n != 1 {
		t.Fatalf("failed fetches within one interval: %d, want 1", n)
	}

	anchor.serve(signingTOML(anchorKey.Address), http.StatusOK)
	clock.Add(interval)
	if code := rcv.post(t, client, anchorKey.Seed, accepted); code != http.StatusOK {
		t.Fatalf("after the anchor recovered: status %d, want 200 (%v)", code, rcv.lastRejection())
	}
}

func TestTOMLKeysBadTOML(t *testing.T) {
	valid := kyccbtest.NewKeyPair(t).Address
	for _, tc := range []struct {
		name   string
		toml   string
		status int
	}{
		{"a stellar.toml without SIGNING_KEY gives no key", "VERSION = \"2.0.0\"\n", 200},
		{"a SIGNING_KEY that is a seed gives no key", signingTOML(kyccbtest.NewKeyPair(t).Seed), 200},
		{"a SIGNING_KEY with a wrong checksum gives no key", signingTOML(otherLastChar(valid)), 200},
		{"a stellar.toml that is not TOML gives no key", "SIGNING_KEY = ", 200},
		{"a 404 gives no key", signingTOML(valid), 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			anchor := newTOMLServer(t, tc.toml)
			anchor.serve(tc.toml, tc.status)
			keys, err := wallet.NewTOMLKeys(anchorDomain, wallet.WithHTTPClient(anchor.client()))
			if err != nil {
				t.Fatal(err)
			}
			got, err := keys.SigningKeys(t.Context())
			if !errors.Is(err, wallet.ErrTOML) {
				t.Fatalf("SigningKeys = %d keys, %v; want ErrTOML", len(got), err)
			}
		})
	}
}

// otherLastChar changes the last character of a strkey, which breaks its
// checksum.
func otherLastChar(s string) string {
	if s[len(s)-1] == 'A' {
		return s[:len(s)-1] + "B"
	}
	return s[:len(s)-1] + "A"
}

func TestTOMLKeysRefusesDowngrade(t *testing.T) {
	anchorKey := kyccbtest.NewKeyPair(t)
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, signingTOML(anchorKey.Address))
	}))
	t.Cleanup(plain.Close)
	anchor := newTOMLServer(t, "")
	anchor.mu.Lock()
	anchor.redirect = plain.URL + "/.well-known/stellar.toml"
	anchor.mu.Unlock()
	keys, err := wallet.NewTOMLKeys(anchorDomain, wallet.WithHTTPClient(anchor.client()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := keys.SigningKeys(t.Context()); !errors.Is(err, wallet.ErrTOML) || !strings.Contains(err.Error(), "not https") {
		t.Fatalf("SigningKeys after a redirect to plain http: %v, want a refusal", err)
	}
}

func TestTOMLKeysMaxAge(t *testing.T) {
	oldKey, newKey := kyccbtest.NewKeyPair(t), kyccbtest.NewKeyPair(t)
	anchor := newTOMLServer(t, signingTOML(oldKey.Address))
	clock := newFakeClock()
	keys, err := wallet.NewTOMLKeys(anchorDomain, wallet.WithHTTPClient(anchor.client()),
		wallet.WithMaxKeyAge(time.Hour), wallet.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	want := func(k kyccbtest.KeyPair) ed25519.PublicKey {
		return ed25519.PublicKey(strkey.MustDecode(strkey.VersionByteAccountID, k.Address))
	}
	got := func() ed25519.PublicKey {
		t.Helper()
		ks, err := keys.SigningKeys(t.Context())
		if err != nil || len(ks) != 1 {
			t.Fatalf("SigningKeys = %d keys, %v; want one key", len(ks), err)
		}
		return ks[0]
	}
	if !bytes.Equal(got(), want(oldKey)) {
		t.Fatal("first key is not the published one")
	}
	// The anchor withdraws the key; callbacks keep verifying under it, so
	// only its age makes the source look again.
	anchor.serve(signingTOML(newKey.Address), http.StatusOK)
	clock.Add(59 * time.Minute)
	if !bytes.Equal(got(), want(oldKey)) || anchor.fetches.Load() != 1 {
		t.Fatal("a key younger than the maximum age was fetched again")
	}
	clock.Add(time.Minute)
	// The old key answers at once while the fetch runs in the background.
	if !bytes.Equal(got(), want(oldKey)) {
		t.Fatal("the call that starts the background fetch did not answer with the current key")
	}
	deadline := time.Now().Add(5 * time.Second)
	for !bytes.Equal(got(), want(newKey)) {
		if time.Now().After(deadline) {
			t.Fatalf("the new key was not picked up after the maximum age (%d fetches)", anchor.fetches.Load())
		}
		time.Sleep(time.Millisecond)
	}
	if n := anchor.fetches.Load(); n != 2 {
		t.Fatalf("%d fetches, want 2", n)
	}
}

func TestNewTOMLKeysConfig(t *testing.T) {
	for _, tc := range []struct {
		name   string
		domain string
		opts   []wallet.Option
	}{
		{"a domain with a port is refused", "anchor.test:443", nil},
		{"a domain with a path is refused", "anchor.test/.well-known/stellar.toml", nil},
		{"an IP address is refused", "127.0.0.1", nil},
		{"an empty domain is refused", "", nil},
		{"an empty label is refused", "anchor..test", nil},
		{"a zero refresh interval is refused", anchorDomain, []wallet.Option{wallet.WithRefreshInterval(0)}},
		{"a negative maximum age is refused", anchorDomain, []wallet.Option{wallet.WithMaxKeyAge(-time.Second)}},
		{"a non-loopback domain with a port is refused", "anchor.test:8443", nil},
		{"an IPv6 loopback address without a port is refused", "[::1]", nil},
		{"a loopback address with port 0 is refused", "127.0.0.1:0", nil},
		{"a loopback address with a port out of range is refused", "127.0.0.1:65536", nil},
		{"a loopback address with an empty port is refused", "127.0.0.1:", nil},
		{"a name that resolves to loopback is not loopback", "127.0.0.1.nip.io:8000", nil},
		{"a nil clock is refused", anchorDomain, []wallet.Option{wallet.WithClock(nil)}},
		{"a nil option is refused", anchorDomain, []wallet.Option{nil}},
		{"a nil HTTP client is refused", anchorDomain, []wallet.Option{wallet.WithHTTPClient(nil)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := wallet.NewTOMLKeys(tc.domain, tc.opts...)
			if !errors.Is(err, kyccb.ErrConfig) {
				t.Fatalf("NewTOMLKeys: %v, want ErrConfig", err)
			}
		})
	}
	// A handler's or a sender's option given here, refused at run time
	// while package kyccb had one Option for everything, no longer
	// compiles: wallet.Option is its own type.
	for _, domain := range []string{
		"Anchor_1.example-domain.org", "localhost",
		"127.0.0.1:8000", "127.9.9.9:8000", "[::1]:8000", "localhost:8000", "LOCALHOST:8000",
	} {
		if _, err := wallet.NewTOMLKeys(domain); err != nil {
			t.Errorf("NewTOMLKeys(%q): %v", domain, err)
		}
	}
}

// TestAnchorDomainAsURL gives the anchor domain pasted as a URL: with
// https and no path it can mean one thing, and is read as its host; any
// other URL is refused with an error that says to drop the scheme, never
// one about ports.
func TestAnchorDomainAsURL(t *testing.T) {
	anchorKey := kyccbtest.NewKeyPair(t)
	anchor := newTOMLServer(t, signingTOML(anchorKey.Address))
	want, err := kyccb.ParseKeys(anchorKey.Address)
	if err != nil {
		t.Fatal(err)
	}
	for _, domain := range []string{"https://" + anchorDomain, "https://" + anchorDomain + "/", "HTTPS://" + anchorDomain} {
		keys, err := wallet.NewTOMLKeys(domain, wallet.WithHTTPClient(anchor.client()))
		if err != nil {
			t.Fatalf("NewTOMLKeys(%q): %v", domain, err)
		}
		got, err := keys.SigningKeys(t.Context())
		if err != nil || len(got) != 1 || !got[0].Equal(want[0]) {
			t.Fatalf("NewTOMLKeys(%q).SigningKeys = %v, %v; want the anchor's key", domain, got, err)
		}
		if toml, err := wallet.StellarTOML(t.Context(), domain, wallet.WithHTTPClient(anchor.client())); err != nil || toml.SigningKey != anchorKey.Address {
			t.Fatalf("StellarTOML(%q) = %+v, %v", domain, toml, err)
		}
	}
	for _, domain := range []string{
		"http://" + anchorDomain,                                // http: the stellar.toml is fetched over https
		"http://127.0.0.1:8000",                                 // a local anchor's domain is its host:port
		"https://" + anchorDomain + "/.well-known/stellar.toml", // a path
		"https://" + anchorDomain + ":8443",                     // a port
		"https://user@" + anchorDomain,                          // a user
		"https://" + anchorDomain + "/?tenant=t1",               // a query
		"https://127.0.0.1",                                     // an IP address
		"https://",                                              // no host
	} {
		_, err := wallet.NewTOMLKeys(domain)
		if !errors.Is(err, kyccb.ErrConfig) || !strings.Contains(err.Error(), "not a URL: drop the scheme") {
			t.Errorf("NewTOMLKeys(%q): %v, want ErrConfig saying to drop the scheme", domain, err)
		}
		if strings.Contains(err.Error(), "port") && !strings.Contains(err.Error(), "host:port") {
			t.Errorf("NewTOMLKeys(%q) speaks of ports: %v", domain, err)
		}
	}
}
