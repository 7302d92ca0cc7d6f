package localanchor_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kyccb/kyccb"
	"github.com/kyccb/kyccb/internal/localanchor"
	walletpkg "github.com/kyccb/kyccb/wallet"
	"github.com/kyccb/kyccb/wallet/sep10"
	"github.com/stellar/go-stellar-sdk/keypair"
)

// every is the script's step in tests; waitFor bounds every wait, generous
// for a race-enabled run on a busy machine.
const (
	every   = 50 * time.Millisecond
	waitFor = 10 * time.Second
)

// recorder keeps the anchor's events.
type recorder struct {
	mu     sync.Mutex
	events []localanchor.Event
	notify chan struct{}
}

func (r *recorder) hook(e localanchor.Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
	select {
	case r.notify <- struct{}{}:
	default:
	}
}

// all returns the events so far of the given kinds (of every kind when
// none is given).
func (r *recorder) all(kinds ...localanchor.EventKind) []localanchor.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var evs []localanchor.Event
	for _, e := range r.events {
		if len(kinds) == 0 || contains(kinds, e.Kind) {
			evs = append(evs, e)
		}
	}
	return evs
}

func contains[T comparable](s []T, v T) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// waitUntil waits for an event that matches, and returns it.
func (r *recorder) waitUntil(t *testing.T, what string, match func(localanchor.Event) bool) localanchor.Event {
	t.Helper()
	deadline := time.After(waitFor)
	for {
		for _, e := range r.all() {
			if match(e) {
				return e
			}
		}
		select {
		case <-r.notify:
		case <-time.After(10 * time.Millisecond):
		case <-deadline:
			t.Fatalf("no event: %s; events: %v", what, r.all())
		}
	}
}

// startAnchor listens on a free loopback port and serves an anchor there
// until the test ends.
func startAnchor(t *testing.T, cfg localanchor.Config) (*localanchor.Anchor, *recorder) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{notify: make(chan struct{}, 1)}
	cfg.Addr = l.Addr().String()
	cfg.Events = rec.hook
	if cfg.Every == 0 {
		cfg.Every = every
	}
	if cfg.Backoff == 0 {
		cfg.Backoff, cfg.MaxBackoff = 10*time.Millisecond, 40*time.Millisecond
	}
	a, err := localanchor.New(cfg)
	if err != nil {
		l.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, l) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return a, rec
}

// login authenticates a fresh account with the anchor as a wallet does:
// stellar.toml, then SEP-10 with package sep10. It returns the account's
// seed and the JWT.
func login(t *testing.T, a *localanchor.Anchor) (seed, jwt string) {
	t.Helper()
	kp := keypair.MustRandom()
	return kp.Seed(), loginAs(t, a, kp.Seed(), nil)
}

func loginAs(t *testing.T, a *localanchor.Anchor, seed string, opts []sep10.Option) string {
	t.Helper()
	anchor, err := sep10.FromTOML(domain(a), fetchTOML(t, a))
	if err != nil {
		t.Fatal(err)
	}
	jwt, err := sep10.Authenticate(context.Background(), anchor, seed, opts...)
	if err != nil {
		t.Fatalf("sep10.Authenticate: %v", err)
	}
	return jwt
}

func domain(a *localanchor.Anchor) string { return strings.TrimPrefix(a.URL(), "http://") }

func fetchTOML(t *testing.T, a *localanchor.Anchor) walletpkg.TOML {
	t.Helper()
	st, err := walletpkg.StellarTOML(context.Background(), domain(a))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// call makes a request to the anchor and returns the status and body.
// body is sent as JSON unless contentType says otherwise.
func call(t *testing.T, method, url, jwt, contentType string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if jwt != "" {
		req.Header.Set("Authorization", "Bearer "+jwt)
	}
	if contentType == "" && body != nil {
		contentType = "application/json"
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
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

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// received is one callback a wallet got, verified.
type received struct {
	customer kyccb.Customer
	raw      []byte
}

// wallet is a wallet's callback receiver on loopback, verifying with the
// root package's SEP12 handler for the anchor's key and its own URL's host.
// Its first failures calls fail with 500.
type wallet struct {
	srv  *httptest.Server
	url  string
	got  chan received
	mu   sync.Mutex
	hits int // requests that passed verification
}

func newWallet(t *testing.T, anchorKey string, failures int) *wallet {
	t.Helper()
	w := &wallet{got: make(chan received, 100)}
	w.srv = httptest.NewUnstartedServer(nil)
	w.url = "http://" + w.srv.Listener.Addr().String() + "/kyc"
	w.srv.Config.Handler = kyccb.SEP12(anchorKey, w.url, func(ctx context.Context, c kyccb.Customer) error {
		w.mu.Lock()
		w.hits++
		n := w.hits
		w.mu.Unlock()
		if n <= failures {
			return io.ErrUnexpectedEOF // any error: the handler answers 500
		}
		w.got <- received{customer: c, raw: bytes.Clone(kyccb.RawBody(ctx))}
		return nil
	})
	w.srv.Start()
	t.Cleanup(w.srv.Close)
	return w
}

// next returns the next callback received.
func (w *wallet) next(t *testing.T) received {
	t.Helper()
	select {
	case r := <-w.got:
		return r
	case <-time.After(waitFor):
		t.Fatal("no callback received")
		return received{}
	}
}

// register registers w's URL for the customer of jwt with the root
// package's RegisterCallback, as a wallet does.
func (w *wallet) register(t *testing.T, a *localanchor.Anchor, jwt, id string) {
	t.Helper()
	err := walletpkg.RegisterCallback(context.Background(), a.URL(), jwt, walletpkg.CallbackRegistration{URL: w.url, ID: id})
	if err != nil {
		t.Fatalf("RegisterCallback: %v", err)
	}
}
