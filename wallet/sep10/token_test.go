package sep10_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kyccb/kyccb"
	"github.com/kyccb/kyccb/internal/localanchor"
	"github.com/kyccb/kyccb/wallet"
	"github.com/kyccb/kyccb/wallet/sep10"
	"github.com/stellar/go-stellar-sdk/keypair"
)

// clock is a clock that moves only when told to, shared by an anchor and
// a token source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// localAnchor is the local anchor behind `kyccb anchor`, on loopback, with
// a gate in front of its token endpoint (POST /auth) that counts the
// sign-ins, can refuse them and can hold them.
type localAnchor struct {
	*localanchor.Anchor
	signIns atomic.Int32 // POST /auth requests that reached the gate
	down    atomic.Bool  // answer POST /auth with 503
	held    chan struct{}

	mu   sync.Mutex
	gate chan struct{} // if not nil, POST /auth waits until it is closed
}

func startLocalAnchor(t *testing.T, now func() time.Time) *localAnchor {
	t.Helper()
	la := &localAnchor{held: make(chan struct{}, 100)}
	srv := httptest.NewUnstartedServer(nil)
	a, err := localanchor.New(localanchor.Config{Addr: srv.Listener.Addr().String(), Now: now, Every: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	la.Anchor = a
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/auth" {
			la.signIns.Add(1)
			if la.down.Load() {
				w.WriteHeader(http.StatusServiceUnavailable)
				w.Write([]byte(`{"error":"down for maintenance"}`))
				return
			}
			la.mu.Lock()
			gate := la.gate
			la.mu.Unlock()
			if gate != nil {
				la.held <- struct{}{}
				<-gate
			}
		}
		a.ServeHTTP(w, r)
	})
	srv.Start()
	t.Cleanup(func() {
		la.release()
		srv.Close()
		a.Close()
	})
	return la
}

// hold makes sign-ins wait at the anchor until release.
func (la *localAnchor) hold() {
	la.mu.Lock()
	defer la.mu.Unlock()
	la.gate = make(chan struct{})
}

// release lets the held sign-ins, and those to come, through.
func (la *localAnchor) release() {
	la.mu.Lock()
	defer la.mu.Unlock()
	if la.gate != nil {
		close(la.gate)
		la.gate = nil
	}
}

// tokenSource returns a token source for a fresh account of la, on now.
func tokenSource(t *testing.T, la *localAnchor, now func() time.Time) *sep10.TokenSource {
	t.Helper()
	domain := strings.TrimPrefix(la.URL(), "http://")
	toml, err := wallet.StellarTOML(t.Context(), domain)
	if err != nil {
		t.Fatal(err)
	}
	a, err := sep10.FromTOML(domain, toml)
	if err != nil {
		t.Fatal(err)
	}
	ts, err := sep10.NewTokenSource(a, keypair.MustRandom().Seed())
	if err != nil {
		t.Fatal(err)
	}
	sep10.SetClock(ts, now)
	return ts
}

// read reads the token's account's customer, as a wallet does on each
// callback, and returns the anchor's refusal, if any.
func read(t *testing.T, la *localAnchor, jwt string) error {
	t.Helper()
	c, err := wallet.GetCustomer(t.Context(), la.URL(), jwt, wallet.CustomerQuery{})
	if err == nil && c.Status != kyccb.StatusNeedsInfo {
		t.Fatalf("GetCustomer: status %q, want NEEDS_INFO", c.Status)
	}
	return err
}

func token(t *testing.T, ts *sep10.TokenSource) string {
	t.Helper()
	tok, err := ts.Token(t.Context())
	if err != nil {
		t.Fatalf("Token: %v", err)
	}
	return tok
}

// TestTokenSourceExpiresMidRun reads a customer every ten minutes for
// three hours against the local anchor, whose JWTs last an hour
// (localanchor.TokenLifetime): the source signs in once per hour, a
// margin before each JWT expires, and every read succeeds, while the
// anchor refuses each old JWT once it has expired.
func TestTokenSourceExpiresMidRun(t *testing.T) {
	clk := newClock()
	la := startLocalAnchor(t, clk.Now)
	ts := tokenSource(t, la, clk.Now)

	var used []string // each distinct JWT, in order
	var issued []time.Time
	for step := 0; step <= 18; step++ {
		tok := token(t, ts)
		if len(used) == 0 || used[len(used)-1] != tok {
			used = append(used, tok)
			issued = append(issued, clk.Now())
		}
		if err := read(t, la, tok); err != nil {
			t.Fatalf("after %v: reading with the source's JWT: %v", time.Duration(step)*10*time.Minute, err)
		}
		// Every JWT but the current one has expired once its hour is up.
		for i, old := range used[:len(used)-1] {
			if clk.Now().Sub(issued[i]) <= localanchor.TokenLifetime {
				continue
			}
			var ae *wallet.AnchorError
			if err := read(t, la, old); !errors.As(err, &ae) || ae.StatusCode != http.StatusUnauthorized {
				t.Fatalf("after %v: reading with JWT %d, expired: %v, want a 401", time.Duration(step)*10*time.Minute, i, err)
			}
		}
		clk.Add(10 * time.Minute)
	}
	// A JWT issued at 0 expires at 60 and is renewed from 59 on: the
	// reads at 60, 120 and 180 minutes each sign in again.
	if n := la.signIns.Load(); n != 4 {
		t.Errorf("%d sign-ins over 3 hours of hour-long JWTs (0, 60, 120, 180 minutes), want 4", n)
	}
	if len(used) != 4 {
		t.Errorf("%d distinct JWTs, want 4", len(used))
	}
}

// TestTokenSourceRenewsBeforeExp pins the margin: a JWT is reused until
// RefreshMargin before its exp and not after, whatever the difference
// between the anchor's clock and the wallet's, since the lifetime is read
// as exp less iat.
func TestTokenSourceRenewsBeforeExp(t *testing.T) {
	for _, tc := range []struct {
		name string
		skew time.Duration // the anchor's clock less the wallet's
	}{
		{"the same clock", 0},
		{"an anchor two hours ahead", 2 * time.Hour},
		{"an anchor two hours behind", -2 * time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock()
			la := startLocalAnchor(t, func() time.Time { return clk.Now().Add(tc.skew) })
			ts := tokenSource(t, la, clk.Now)

			first := token(t, ts)
			clk.Add(localanchor.TokenLifetime - sep10.RefreshMargin - time.Second)
			if tok := token(t, ts); tok != first || la.signIns.Load() != 1 {
				t.Fatalf("a second before the margin: %d sign-ins, same JWT %v; want 1, true", la.signIns.Load(), tok == first)
			}
			clk.Add(2 * time.Second)
			second := token(t, ts)
			if second == first || la.signIns.Load() != 2 {
				t.Fatalf("a second into the margin: %d sign-ins, same JWT %v; want 2, false", la.signIns.Load(), second == first)
			}
			if err := read(t, la, second); err != nil {
				t.Fatalf("reading with the renewed JWT: %v", err)
			}
		})
	}
}

// TestTokenSourceConcurrent has many callers ask for a token at once, while
// the sign-in is held at the anchor: one sign-in serves them all, and
// again when the JWT is due for renewal. Run with -race.
func TestTokenSourceConcurrent(t *testing.T) {
	const callers = 50
	clk := newClock()
	la := startLocalAnchor(t, clk.Now)
	ts := tokenSource(t, la, clk.Now)

	round := func(wantSignIns int32) string {
		t.Helper()
		la.hold()
		tokens := make([]string, callers)
		errs := make([]error, callers)
		var wg sync.WaitGroup
		for i := range callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				tokens[i], errs[i] = ts.Token(t.Context())
			}()
		}
		select {
		case <-la.held:
		case <-time.After(10 * time.Second):
			t.Fatal("no sign-in reached the anchor")
		}
		// Let the callers pile up behind the held sign-in.
		time.Sleep(20 * time.Millisecond)
		la.release()
		wg.Wait()
		for i := range callers {
			if errs[i] != nil || tokens[i] != tokens[0] {
				t.Fatalf("caller %d: %v, same JWT as caller 0: %v", i, errs[i], tokens[i] == tokens[0])
			}
		}
		if n := la.signIns.Load(); n != wantSignIns {
			t.Fatalf("%d sign-ins for %d concurrent callers, want %d", n, callers, wantSignIns)
		}
		return tokens[0]
	}
	first := round(1)
	clk.Add(localanchor.TokenLifetime - sep10.RefreshMargin/2)
	if second := round(2); second == first {
		t.Fatal("the JWT was not renewed within its margin")
	}
}

// TestTokenSourceFailures checks that a failed sign-in is returned, not
// kept: the next call signs in again. A renewal that fails while the old
// JWT still holds returns the old JWT.
func TestTokenSourceFailures(t *testing.T) {
	clk := newClock()
	la := startLocalAnchor(t, clk.Now)
	ts := tokenSource(t, la, clk.Now)

	la.down.Store(true)
	for i := range 2 {
		_, err := ts.Token(t.Context())
		if !errors.Is(err, sep10.ErrRefused) || !strings.Contains(err.Error(), `503 Service Unavailable: "down for maintenance"`) {
			t.Fatalf("call %d while the anchor refuses: %v, want ErrRefused with its reply", i, err)
		}
	}
	if n := la.signIns.Load(); n != 2 {
		t.Fatalf("%d sign-ins for 2 calls while the anchor refuses, want 2: an error is not kept", n)
	}
	la.down.Store(false)
	first := token(t, ts)

	// Within the margin, the renewal fails: the old JWT, still valid,
	// is returned, and works.
	clk.Add(localanchor.TokenLifetime - sep10.RefreshMargin/2)
	la.down.Store(true)
	if tok := token(t, ts); tok != first {
		t.Fatal("a failed renewal within the margin did not return the JWT still valid")
	}
	if err := read(t, la, first); err != nil {
		t.Fatalf("reading with the old JWT within its margin: %v", err)
	}
	// Past its exp, the error is returned.
	clk.Add(sep10.RefreshMargin)
	if _, err := ts.Token(t.Context()); !errors.Is(err, sep10.ErrRefused) {
		t.Fatalf("a failed renewal past the old JWT's exp: %v, want ErrRefused", err)
	}
	la.down.Store(false)
	if tok := token(t, ts); tok == first {
		t.Fatal("the JWT past its exp was returned")
	}
	if n := la.signIns.Load(); n != 6 {
		t.Fatalf("%d sign-ins, want 6", n)
	}
}

// TestTokenSourceCallerGivesUp checks that a caller whose context ends
// while the sign-in is under way gets the context's error at once, and
// that the sign-in completes for the callers after it.
func TestTokenSourceCallerGivesUp(t *testing.T) {
	clk := newClock()
	la := startLocalAnchor(t, clk.Now)
	ts := tokenSource(t, la, clk.Now)

	la.hold()
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() {
		_, err := ts.Token(ctx)
		errc <- err
	}()
	<-la.held
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Token after its context was cancelled: %v, want context.Canceled", err)
	}
	la.release()
	tok := token(t, ts)
	if err := read(t, la, tok); err != nil {
		t.Fatalf("reading with the JWT: %v", err)
	}
	if n := la.signIns.Load(); n != 1 {
		t.Fatalf("%d sign-ins, want 1: the abandoned sign-in's JWT serves the next caller", n)
	}
}

// TestTokenSourceExpire checks that a JWT reported refused is not handed
// out again, and that a report about another JWT changes nothing.
func TestTokenSourceExpire(t *testing.T) {
	clk := newClock()
	la := startLocalAnchor(t, clk.Now)
	ts := tokenSource(t, la, clk.Now)

	first := token(t, ts)
	ts.Expire(first + "x")
	ts.Expire("")
	if tok := token(t, ts); tok != first {
		t.Fatal("Expire of another JWT dropped the source's")
	}
	ts.Expire(first)
	second := token(t, ts)
	if second == first {
		t.Fatal("Expire did not drop the JWT")
	}
	ts.Expire(first) // late: the source has moved on
	if tok := token(t, ts); tok != second {
		t.Fatal("Expire of the old JWT dropped the new one")
	}
	if n := la.signIns.Load(); n != 2 {
		t.Fatalf("%d sign-ins, want 2", n)
	}
}

// TestTokenSourceBadJWT checks the JWTs a source refuses to keep: one
// without exp, and one that expired on arrival.
func TestTokenSourceBadJWT(t *testing.T) {
	b64 := base64.RawURLEncoding.EncodeToString
	for _, tc := range []struct {
		name, claims string
	}{
		{"no exp", `{"sub":"G"}`},
		{"exp not a number", `{"exp":"soon","iat":1}`},
		{"exp before iat", `{"exp":1700000000,"iat":1700003600}`},
		{"exp in the past, no iat", `{"exp":1700000000}`},
		{"claims not JSON", `exp=1`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeAnchor(t)
			f.challenge = func(t *testing.T, account string) string {
				host := f.srv.Listener.Addr().String()
				return challenge{}.build(t, host, host, account)
			}
			jwt := b64([]byte(`{"alg":"HS256"}`)) + "." + b64([]byte(tc.claims)) + ".c2ln"
			f.reply = func(w http.ResponseWriter) { json.NewEncoder(w).Encode(map[string]string{"token": jwt}) }
			ts, err := sep10.NewTokenSource(f.anchor(), accountSeed)
			if err != nil {
				t.Fatal(err)
			}
			for range 2 {
				_, err := ts.Token(t.Context())
				if !errors.Is(err, sep10.ErrBadReply) || strings.Contains(err.Error(), jwt) {
					t.Fatalf("Token: %v, want ErrBadReply without the JWT", err)
				}
			}
			if n := f.posts.Load(); n != 2 {
				t.Fatalf("%d sign-ins for 2 calls, want 2", n)
			}
		})
	}
}

// TestNewTokenSource checks that an unusable anchor, seed or option is
// refused at once, with nothing sent.
func TestNewTokenSource(t *testing.T) {
	f := newFakeAnchor(t)
	good := f.anchor()
	noKey := good
	noKey.SigningKey = ""
	plain := good
	plain.WebAuthEndpoint = "http://anchor.example.com/auth"
	for _, tc := range []struct {
		name string
		a    sep10.Anchor
		seed string
		opts []sep10.Option
	}{
		{"an anchor without a signing key", noKey, accountSeed, nil},
		{"an endpoint over plain http", plain, accountSeed, nil},
		{"a public key for a seed", good, serverKey, nil},
		{"a nil option", good, accountSeed, []sep10.Option{nil}},
		{"a zero timeout", good, accountSeed, []sep10.Option{sep10.WithRequestTimeout(0)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts, err := sep10.NewTokenSource(tc.a, tc.seed, tc.opts...)
			if !errors.Is(err, kyccb.ErrConfig) || ts != nil {
				t.Fatalf("NewTokenSource: %v, want ErrConfig", err)
			}
		})
	}
	if f.gets.Load()+f.posts.Load() != 0 {
		t.Fatal("a request was sent")
	}
}
