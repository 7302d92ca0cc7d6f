package kyccb_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kyccb/kyccb"
	"github.com/kyccb/kyccb/internal/strkey"
	"github.com/kyccb/kyccb/kyccbtest"
)

// Findings of the red-team round that the root package closes. Each test
// fails on the code before its fix.

// smallOrderKeys are two encodings of points of small order: the identity
// (GAAQ...HV4) and the all-zero key (GAAA...WHF).
var smallOrderKeys = map[string][]byte{
	"identity": append([]byte{1}, make([]byte, 31)...),
	"zero":     make([]byte, 32),
}

// noSecretSignature is a signature anyone can make without a key: R the
// identity point, S zero. Under a small-order key it verifies for every
// message (identity) or one in four (zero).
func noSecretSignature() []byte {
	return append(append([]byte{1}, make([]byte, 31)...), make([]byte, 32)...)
}

func address(t *testing.T, pub []byte) string {
	t.Helper()
	a, err := strkey.Encode(strkey.VersionByteAccountID, pub)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// forgedHeader returns a header with the no-secret signature at now.
func forgedHeader(now time.Time) string {
	return "t=" + strconv.FormatInt(now.Unix(), 10) + ", s=" + base64.StdEncoding.EncodeToString(noSecretSignature())
}

// A message (t.host.body) the no-secret signature verifies for under pub,
// found by trying bodies: what an attacker would do.
func forgeableBody(t *testing.T, pub []byte, host string, now time.Time) string {
	t.Helper()
	ts := strconv.FormatInt(now.Unix(), 10)
	for i := range 200 {
		body := fmt.Sprintf(`{"id":"victim","status":"ACCEPTED","n":%d}`, i)
		if ed25519.Verify(pub, []byte(ts+"."+host+"."+body), noSecretSignature()) {
			return body
		}
	}
	t.Fatal("no forgeable body found: the premise of the test does not hold")
	return ""
}

func TestSmallOrderKeysRefused(t *testing.T) {
	now := signedAt
	for name, pub := range smallOrderKeys {
		t.Run(name, func(t *testing.T) {
			body := forgeableBody(t, pub, testHost, now)

			if _, err := kyccb.ParseKeys(address(t, pub)); !errors.Is(err, kyccb.ErrConfig) || !strings.Contains(err.Error(), "small order") {
				t.Errorf("ParseKeys of the %s key: %v, want ErrConfig naming small order", name, err)
			}
			if _, err := kyccb.NewSEP12Verifier(kyccb.StaticKeys{pub}, testHost); !errors.Is(err, kyccb.ErrConfig) {
				t.Errorf("NewSEP12Verifier with the %s key in StaticKeys: %v, want ErrConfig", name, err)
			}
			func() {
				defer func() {
					if err, _ := recover().(error); !errors.Is(err, kyccb.ErrConfig) {
						t.Errorf("SEP12 with the %s key: panic %v, want ErrConfig", name, err)
					}
				}()
				kyccb.SEP12(address(t, pub), testHost, func(context.Context, kyccb.Customer) error { return nil })
			}()

			// A key source of the user's own that returns such a key is not
			// trusted with it either.
			ran := false
			v, err := kyccb.NewSEP12Verifier(sourceOf(pub), testHost, kyccb.WithClock(func() time.Time { return now }))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := v.Verify(context.Background(), forgedHeader(now), []byte(body), now); !errors.Is(err, kyccb.ErrBadSignature) {
				t.Errorf("Verify of a forgery under the %s key: %v, want ErrBadSignature", name, err)
			}
			h := v.Handler(func(context.Context, kyccb.Customer) error { ran = true; return nil })
			r := httptest.NewRequest(http.MethodPost, "/kyc", strings.NewReader(body))
			r.Header.Set("Signature", forgedHeader(now))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code != http.StatusUnauthorized || ran {
				t.Errorf("handler: %d, fn ran %t; want 401 without fn", rec.Code, ran)
			}
		})
	}
}

// sourceOf is a KeySource of the user's own that returns keys as given.
type sourceOf []byte

func (s sourceOf) SigningKeys(context.Context) ([]ed25519.PublicKey, error) {
	return []ed25519.PublicKey{ed25519.PublicKey(s)}, nil
}

// An anchor that signs a callback for wallet.example.org.attacker.net signs
// "t.wallet.example.org.attacker.net.{...}": the same bytes as a callback
// for wallet.example.org whose body is "attacker.net.{...}".
func TestSEP12FramingRefused(t *testing.T) {
	const longer = testHost + ".attacker.net"
	header := sign(t, testSeed, longer, customerJSON, signedAt)
	framed := []byte("attacker.net." + customerJSON)
	v := sep12Verifier(t, kyccb.WithClock(func() time.Time { return signedAt }))

	if _, err := v.Verify(context.Background(), header, framed, signedAt); !errors.Is(err, kyccb.ErrMalformedBody) {
		t.Errorf("Verify of the framed body: %v, want ErrMalformedBody", err)
	}
	for _, body := range [][]byte{[]byte(`{"id":1} trailing`), []byte(`{"id":`), []byte(`[1,2]`), []byte(` "x"`)} {
		h := sign(t, testSeed, testHost, string(body), signedAt)
		if _, err := v.Verify(context.Background(), h, body, signedAt); !errors.Is(err, kyccb.ErrMalformedBody) {
			t.Errorf("Verify of %q, validly signed: %v, want ErrMalformedBody", body, err)
		}
	}

	reached := false
	mw := v.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached = true }))
	for _, body := range [][]byte{framed, []byte(`{"id":1} trailing`)} {
		sig := header
		if !bytes.HasPrefix(body, []byte("attacker")) {
			sig = sign(t, testSeed, testHost, string(body), signedAt)
		}
		r := httptest.NewRequest(http.MethodPost, "/tx", bytes.NewReader(body))
		r.Header.Set("Signature", sig)
		rec := httptest.NewRecorder()
		mw.ServeHTTP(rec, r)
		if rec.Code != http.StatusBadRequest || reached {
			t.Errorf("middleware on %q: %d, next reached %t; want 400 without next", body, rec.Code, reached)
		}
	}
	// The genuine callback for the longer host still verifies there.
	lv, err := kyccb.NewSEP12Verifier(mustKeys(t), longer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lv.Verify(context.Background(), header, []byte(customerJSON), signedAt); err != nil {
		t.Errorf("the genuine callback for %s: %v", longer, err)
	}
}

func mustKeys(t testing.TB) kyccb.StaticKeys {
	t.Helper()
	k, err := kyccb.ParseKeys(testAddress)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// No way of printing or logging an XGateway verifier shows the secret.
func TestXGatewaySecretNotPrinted(t *testing.T) {
	const secret = "very-secret-merchant-key"
	v, err := kyccb.NewXGatewayVerifier(secret)
	if err != nil {
		t.Fatal(err)
	}
	holder := struct {
		Name     string
		Verifier *kyccb.XGatewayVerifier
	}{"merchant", v}
	var outs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		outs = append(outs, fmt.Sprintf(verb, v), fmt.Sprintf(verb, holder))
	}
	var text, js bytes.Buffer
	slog.New(slog.NewTextHandler(&text, nil)).Info("built", "verifier", v, "holder", holder)
	slog.New(slog.NewJSONHandler(&js, nil)).Info("built", "verifier", v)
	outs = append(outs, text.String(), js.String())
	for _, out := range outs {
		if strings.Contains(out, secret) {
			t.Errorf("printed the secret: %s", out)
		}
	}
	if !strings.Contains(js.String(), "redacted") {
		t.Errorf("slog JSON does not describe the verifier: %s", js.String())
	}
}

// slowKeys is a key source whose refresh hangs until released, as when an
// anchor's site does not answer.
type slowKeys struct {
	mu       sync.Mutex
	keys     []ed25519.PublicKey
	next     []ed25519.PublicKey
	release  chan struct{}
	in, most atomic.Int32
}

func (s *slowKeys) SigningKeys(context.Context) ([]ed25519.PublicKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keys, nil
}

func (s *slowKeys) RefreshSigningKeys(ctx context.Context) (bool, error) {
	n := s.in.Add(1)
	defer s.in.Add(-1)
	for {
		m := s.most.Load()
		if n <= m || s.most.CompareAndSwap(m, n) {
			break
		}
	}
	select {
	case <-s.release:
		s.mu.Lock()
		defer s.mu.Unlock()
		s.keys = s.next
		return true, nil
	case <-ctx.Done():
		return false, ctx.Err()
	}
}

// While the key source hangs, forged requests wait a bounded time, a
// bounded number at once, and are answered 503; a callback signed with the
// new key is accepted once the refresh succeeds.
func TestSlowKeySourceBoundsForgeries(t *testing.T) {
	newKey := kyccbtest.NewKeyPair(t)
	newPub, err := kyccb.ParseKeys(newKey.Address)
	if err != nil {
		t.Fatal(err)
	}
	src := &slowKeys{keys: mustKeys(t), next: newPub, release: make(chan struct{})}
	now := signedAt
	var ran atomic.Int32
	v, err := kyccb.NewSEP12Verifier(src, testHost, kyccb.WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	h := v.Handler(func(context.Context, kyccb.Customer) error { ran.Add(1); return nil })
	srv := httptest.NewServer(h)
	defer srv.Close()

	other := kyccbtest.NewKeyPair(t)
	forged := sign(t, other.Seed, testHost, customerJSON, now)
	const n = 40
	var wg sync.WaitGroup
	codes := make(chan int, n)
	took := make(chan time.Duration, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/kyc", strings.NewReader(customerJSON))
			req.Header.Set("Signature", forged)
			start := time.Now()
			resp, err := http.DefaultClient.Do(req)
			took <- time.Since(start)
			if err != nil {
				codes <- 0
				return
			}
			resp.Body.Close()
			codes <- resp.StatusCode
		}()
	}
	wg.Wait()
	close(codes)
	close(took)
	for c := range codes {
		if c != http.StatusServiceUnavailable {
			t.Errorf("forged request while the key source hangs: %d, want 503", c)
		}
	}
	for d := range took {
		if d > 4*time.Second {
			t.Errorf("a forged request waited %s for the key source", d)
		}
	}
	if m := src.most.Load(); m > 8 {
		t.Errorf("%d requests waited for the key source at once, want at most 8", m)
	}

	// The anchor rotated its key: the first callback signed with it waits
	// for the refresh, which now succeeds.
	genuine := sign(t, newKey.Seed, testHost, customerJSON, now)
	done := make(chan int)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/kyc", strings.NewReader(customerJSON))
		req.Header.Set("Signature", genuine)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	time.Sleep(100 * time.Millisecond)
	close(src.release)
	if c := <-done; c != http.StatusOK || ran.Load() != 1 {
		t.Errorf("callback with the new key: %d, fn ran %d times; want 200 once", c, ran.Load())
	}
}

// The explanation of a bad signature does not depend on a hook being set:
// Verify's error says it, built when read.
func TestDiagnosisWithoutHook(t *testing.T) {
	v := sep12Verifier(t)
	header := sign(t, testSeed, testHost+":443", customerJSON, signedAt)
	_, err := v.Verify(context.Background(), header, []byte(customerJSON), signedAt)
	if !errors.Is(err, kyccb.ErrBadSignature) || !strings.Contains(err.Error(), `valid for host "wallet.example.org:443"`) {
		t.Errorf("Verify: %v, want ErrBadSignature explaining the :443", err)
	}
}
