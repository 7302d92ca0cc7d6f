package send_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kyccb/kyccb"
	"github.com/kyccb/kyccb/internal/wire"
	"github.com/kyccb/kyccb/kyccbtest"
	"github.com/kyccb/kyccb/send"
)

var accepted = []byte(`{"id":"c1","status":"ACCEPTED"}`)

// received is one request a test receiver got.
type received struct {
	header http.Header
	body   []byte
	signed time.Time // the signature's time, when it verified
	err    error     // why the signature did not verify
}

// receiver is a callback URL on loopback that replies with the statuses
// it is given in turn (the last one repeats), and checks every SEP-12
// signature at the time it claims, against the host of its URL.
type receiver struct {
	url string

	mu       sync.Mutex
	replies  []int
	header   http.Header // added to every reply
	requests []received
}

func newReceiver(t *testing.T, signingKey string, replies ...int) *receiver {
	t.Helper()
	rc := &receiver{replies: replies, header: http.Header{}}
	// Unstarted: the listener, and so the URL, exists before the handler.
	srv := httptest.NewUnstartedServer(nil)
	t.Cleanup(srv.Close)
	rc.url = "http://" + srv.Listener.Addr().String() + "/callbacks/kyc?token=s3cret"
	var v *kyccb.SEP12Verifier
	if signingKey != "" {
		keys, err := kyccb.ParseKeys(signingKey)
		if err != nil {
			t.Fatal(err)
		}
		if v, err = kyccb.NewSEP12Verifier(keys, rc.url); err != nil {
			t.Fatal(err)
		}
	}
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got := received{header: r.Header.Clone(), body: body}
		if v != nil {
			sig, err := wire.ParseSignature(wire.SignatureValue(r.Header))
			if err == nil {
				got.signed, got.err = v.Verify(r.Context(), wire.SignatureValue(r.Header), body, sig.Time)
			} else {
				got.err = err
			}
		}
		rc.mu.Lock()
		rc.requests = append(rc.requests, got)
		code := rc.replies[min(len(rc.requests), len(rc.replies))-1]
		for k, vs := range rc.header {
			w.Header()[k] = vs
		}
		rc.mu.Unlock()
		if code >= 300 && code < 400 {
			w.Header().Set("Location", "/elsewhere")
		}
		w.WriteHeader(code)
		io.WriteString(w, http.StatusText(code))
	})
	srv.Start()
	return rc
}

func (rc *receiver) got() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.requests...)
}

// tickingClock returns a clock that moves one second each time it is read,
// so that every attempt is signed at another time.
func tickingClock() func() time.Time {
	var ticks atomic.Int64
	start := time.Now()
	return func() time.Time { return start.Add(time.Duration(ticks.Add(1)) * time.Second) }
}

// quick is a backoff short enough for tests.
var quick = send.WithBackoff(time.Millisecond, 4*time.Millisecond)

func TestSEP12SenderRetries(t *testing.T) {
	anchor := kyccbtest.NewKeyPair(t)
	body := []byte(`{"id":"c1","status":"PROCESSING"}`)
	for _, tc := range []struct {
		name       string
		replies    []int
		attempts   int
		wantStatus int
		delivered  bool
	}{
		{"a receiver that fails twice with 503 then succeeds gets three attempts", []int{503, 503, 200}, 3, 200, true},
		{"a 400 receiver gets one attempt", []int{400}, 1, 400, false},
		{"a 401 receiver (wrong key or host) gets one attempt", []int{401}, 1, 401, false},
		{"a 404 receiver gets one attempt", []int{404}, 1, 404, false},
		{"a 429 is retried", []int{429, 202}, 2, 202, true},
		{"a 500 is retried", []int{500, 200}, 2, 200, true},
		{"a redirect is a delivery, and not followed", []int{302}, 1, 302, true},
		{"a receiver that always fails with 502 gets the default four attempts", []int{502}, 4, 502, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := newReceiver(t, anchor.Address, tc.replies...)
			var hooked []send.Attempt
			s, err := send.NewSEP12(anchor.Seed, quick, send.WithClock(tickingClock()),
				send.WithAttemptHook(func(a send.Attempt) { hooked = append(hooked, a) }))
			if err != nil {
				t.Fatal(err)
			}
			d, err := s.Send(t.Context(), rc.url, body)
			if tc.delivered && err != nil {
				t.Fatalf("Send: %v, want delivered", err)
			}
			if !tc.delivered && !errors.Is(err, send.ErrNotDelivered) {
				t.Fatalf("Send: %v, want ErrNotDelivered", err)
			}
			if d.StatusCode != tc.wantStatus || string(d.Reply) != http.StatusText(tc.wantStatus) {
				t.Errorf("Delivery: status %d, reply %q; want %d, %q", d.StatusCode, d.Reply, tc.wantStatus, http.StatusText(tc.wantStatus))
			}

			got := rc.got()
			if len(got) != tc.attempts || len(d.Attempts) != tc.attempts || len(hooked) != tc.attempts {
				t.Fatalf("%d requests received, %d attempts in the Delivery, %d reported to the hook; want %d",
					len(got), len(d.Attempts), len(hooked), tc.attempts)
			}
			if diff := cmp.Diff(d.Attempts, hooked, cmp.Comparer(func(a, b error) bool { return a == b })); diff != "" {
				t.Errorf("the hook and the Delivery disagree (-delivery +hook):\n%s", diff)
			}
			seen := map[int64]bool{}
			for i, r := range got {
				a := d.Attempts[i]
				if r.err != nil {
					t.Errorf("attempt %d: signature does not verify at its own time: %v", i+1, r.err)
				}
				if seen[r.signed.Unix()] {
					t.Errorf("attempt %d: signed at %d, like an earlier attempt: each attempt must be signed anew", i+1, r.signed.Unix())
				}
				seen[r.signed.Unix()] = true
				if r.header.Get(kyccb.SignatureHeader) != a.Signature {
					t.Errorf("attempt %d: Attempt.Signature is not the header sent", i+1)
				}
				if string(r.body) != string(body) {
					t.Errorf("attempt %d: body %q, want %q byte for byte", i+1, r.body, body)
				}
				if ct := r.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
					t.Errorf("attempt %d: Content-Type %q", i+1, ct)
				}
				if r.header.Get(kyccb.LegacySignatureHeader) != "" {
					t.Errorf("attempt %d: X-Stellar-Signature sent without WithLegacySignatureHeader", i+1)
				}
				if a.N != i+1 || a.StatusCode != tc.replies[min(i, len(tc.replies)-1)] || a.Err != nil {
					t.Errorf("attempt %d: N %d, status %d, err %v", i+1, a.N, a.StatusCode, a.Err)
				}
				last := i == len(got)-1
				if last && a.Delay != 0 || !last && (a.Delay <= 0 || a.Delay > 4*time.Millisecond) {
					t.Errorf("attempt %d: delay %s", i+1, a.Delay)
				}
			}
		})
	}
}

func TestSenderBackoff(t *testing.T) {
	anchor := kyccbtest.NewKeyPair(t)
	rc := newReceiver(t, anchor.Address, 503)
	const first, longest = 2 * time.Millisecond, 10 * time.Millisecond
	s, err := send.NewSEP12(anchor.Seed, send.WithAttempts(6), send.WithBackoff(first, longest))
	if err != nil {
		t.Fatal(err)
	}
	d, err := s.Send(t.Context(), rc.url, accepted)
	if !errors.Is(err, send.ErrNotDelivered) {
		t.Fatalf("Send: %v, want ErrNotDelivered", err)
	}
	// Each wait is between half and all of first doubled per retry, capped.
	want := []time.Duration{2, 4, 8, 10, 10, 0}
	for i, a := range d.Attempts {
		hi := want[i] * time.Millisecond
		if a.Delay < hi/2 || a.Delay > hi {
			t.Errorf("attempt %d: delay %s, want between %s and %s", i+1, a.Delay, hi/2, hi)
		}
	}
	if len(d.Attempts) != 6 {
		t.Fatalf("%d attempts, want 6", len(d.Attempts))
	}
}

func TestSenderRetryAfter(t *testing.T) {
	anchor := kyccbtest.NewKeyPair(t)
	rc := newReceiver(t, anchor.Address, 503, 200)
	rc.header.Set("Retry-After", "5") // what kyccb's own handler sends with 503
	s, err := send.NewSEP12(anchor.Seed, send.WithBackoff(time.Millisecond, 20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	d, err := s.Send(t.Context(), rc.url, accepted)
	if err != nil {
		t.Fatal(err)
	}
	if got := d.Attempts[0].Delay; got != 20*time.Millisecond {
		t.Fatalf("delay after Retry-After: 5: %s, want the maximum backoff 20ms", got)
	}
}

func TestSenderNetworkErrors(t *testing.T) {
	anchor := kyccbtest.NewKeyPair(t)
	// A port nothing listens on: bind one, then close it.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + l.Addr().String() + "/kyc?token=s3cret"
	l.Close()

	s, err := send.NewSEP12(anchor.Seed, quick, send.WithAttempts(3))
	if err != nil {
		t.Fatal(err)
	}
	d, err := s.Send(t.Context(), dead, accepted)
	if !errors.Is(err, send.ErrNotDelivered) {
		t.Fatalf("Send to a closed port: %v, want ErrNotDelivered", err)
	}
	var opErr *net.OpError
	if !errors.As(err, &opErr) {
		t.Errorf("Send to a closed port: %v, want it to wrap the *net.OpError", err)
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Errorf("error %q repeats the callback URL's query", err)
	}
	if len(d.Attempts) != 3 || d.StatusCode != 0 {
		t.Fatalf("%d attempts, status %d; want 3 attempts and no status", len(d.Attempts), d.StatusCode)
	}
	for _, a := range d.Attempts {
		if a.Err == nil || a.StatusCode != 0 {
			t.Errorf("attempt %d: err %v, status %d; want a network error", a.N, a.Err, a.StatusCode)
		}
	}
}

func TestSenderAttemptTimeout(t *testing.T) {
	anchor := kyccbtest.NewKeyPair(t)
	var calls atomic.Int64
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Read the body first: net/http notices a closed connection, and
		// cancels r.Context(), only once the body has been read.
		io.Copy(io.Discard, r.Body)
		if calls.Add(1) == 1 {
			select { // hang until the sender gives up on this attempt
			case <-r.Context().Done():
			case <-release:
			}
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	s, err := send.NewSEP12(anchor.Seed, quick, send.WithRequestTimeout(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	d, err := s.Send(t.Context(), srv.URL, accepted)
	if err != nil {
		t.Fatalf("Send: %v, want delivered on the second attempt", err)
	}
	if len(d.Attempts) != 2 || !errors.Is(d.Attempts[0].Err, context.DeadlineExceeded) || d.Attempts[1].StatusCode != 200 {
		t.Fatalf("attempts %+v; want a timeout, then 200", d.Attempts)
	}
}

func TestSenderContextCanceled(t *testing.T) {
	anchor := kyccbtest.NewKeyPair(t)
	rc := newReceiver(t, anchor.Address, 503)
	ctx, cancel := context.WithCancel(t.Context())
	s, err := send.NewSEP12(anchor.Seed, send.WithBackoff(time.Hour, time.Hour),
		send.WithAttemptHook(func(send.Attempt) { cancel() }))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var d send.Delivery
	go func() {
		defer close(done)
		d, err = s.Send(ctx, rc.url, accepted)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Send did not return when its context was canceled during the backoff")
	}
	if !errors.Is(err, send.ErrNotDelivered) || !errors.Is(err, context.Canceled) {
		t.Fatalf("Send: %v, want ErrNotDelivered and context.Canceled", err)
	}
	if len(d.Attempts) != 1 {
		t.Fatalf("%d attempts, want 1", len(d.Attempts))
	}
}

func TestSEP12SenderHeaders(t *testing.T) {
	anchor := kyccbtest.NewKeyPair(t)
	rc := newReceiver(t, anchor.Address, 200)
	s, err := send.NewSEP12(anchor.Seed, send.WithLegacySignatureHeader())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Send(t.Context(), rc.url, accepted); err != nil {
		t.Fatal(err)
	}
	r := rc.got()[0]
	if r.err != nil {
		t.Fatal(r.err)
	}
	if sig, legacy := r.header.Get(kyccb.SignatureHeader), r.header.Get(kyccb.LegacySignatureHeader); sig == "" || legacy != sig {
		t.Fatalf("Signature %q, X-Stellar-Signature %q; want both, equal", sig, legacy)
	}

	// The host signed is the URL's host:port, as the Anchor Platform signs
	// it: a verifier configured with the port accepts it, one configured
	// with another port does not.
	u, err := url.Parse(rc.url)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, host string
		want       error
	}{
		{"the host and port of the URL verify", u.Host, nil},
		{"another port does not", u.Hostname() + ":1", kyccb.ErrBadSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			keys, err := kyccb.ParseKeys(anchor.Address)
			if err != nil {
				t.Fatal(err)
			}
			v, err := kyccb.NewSEP12Verifier(keys, tc.host)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := v.Verify(t.Context(), r.header.Get(kyccb.SignatureHeader), r.body, time.Now()); !errors.Is(err, tc.want) {
				t.Fatalf("Verify: %v, want %v", err, tc.want)
			}
		})
	}
}

func TestSenderConfig(t *testing.T) {
	anchor := kyccbtest.NewKeyPair(t)
	// A handler's or the key source's option given to a sender, refused
	// here at run time while package kyccb had one Option for everything,
	// no longer compiles: send.Option is its own type.
	for _, tc := range []struct {
		name string
		new  func() (*send.Sender, error)
		says string // "" when the text does not matter
	}{
		{"a public key is not a seed", func() (*send.Sender, error) { return send.NewSEP12(anchor.Address) },
			"got a public key (G...), want the secret seed, which starts with S"},
		{"an empty seed is refused", func() (*send.Sender, error) { return send.NewSEP12("") }, "empty seed"},
		{"a seed with a trailing newline is refused, and the white space named", func() (*send.Sender, error) {
			return send.NewSEP12(anchor.Seed + "\n")
		}, "white space"},
		{"a seed with a wrong checksum is refused", func() (*send.Sender, error) {
			return send.NewSEP12(otherLastChar(anchor.Seed))
		}, "not a Stellar secret seed"},
		{"a nil option is refused", func() (*send.Sender, error) { return send.NewSEP12(anchor.Seed, nil) }, ""},
		{"a nil HTTP client is refused", func() (*send.Sender, error) { return send.NewSEP12(anchor.Seed, send.WithHTTPClient(nil)) }, ""},
		{"a nil clock is refused", func() (*send.Sender, error) { return send.NewSEP12(anchor.Seed, send.WithClock(nil)) }, ""},
		{"a zero timeout is refused", func() (*send.Sender, error) { return send.NewSEP12(anchor.Seed, send.WithRequestTimeout(0)) }, ""},
		{"zero attempts are refused", func() (*send.Sender, error) { return send.NewSEP12(anchor.Seed, send.WithAttempts(0)) }, ""},
		{"a maximum backoff below the first is refused", func() (*send.Sender, error) {
			return send.NewSEP12(anchor.Seed, send.WithBackoff(time.Second, time.Millisecond))
		}, ""},
		{"a nil hook is refused", func() (*send.Sender, error) { return send.NewSEP12(anchor.Seed, send.WithAttemptHook(nil)) }, ""},
		{"the legacy header is refused for XGateway", func() (*send.Sender, error) {
			return send.NewXGateway("merchant-secret", send.WithLegacySignatureHeader())
		}, "WithLegacySignatureHeader applies only to SEP-12 senders"},
		{"an empty XGateway secret is refused", func() (*send.Sender, error) { return send.NewXGateway("") }, ""},
		{"an XGateway secret with a trailing newline is refused", func() (*send.Sender, error) { return send.NewXGateway("merchant-secret\n") }, "white space"},
		{"an XGateway sender's bad option is refused", func() (*send.Sender, error) {
			return send.NewXGateway("merchant-secret", send.WithAttempts(-1))
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.new()
			if !errors.Is(err, kyccb.ErrConfig) {
				t.Fatalf("constructor: %v, want ErrConfig", err)
			}
			if !strings.Contains(err.Error(), tc.says) {
				t.Errorf("error %q does not say %q", err, tc.says)
			}
			for _, secret := range []string{anchor.Seed, "merchant-secret"} {
				if strings.Contains(err.Error(), secret) {
					t.Fatalf("error %q repeats the seed or secret", err)
				}
			}
		})
	}

	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { requests.Add(1) }))
	t.Cleanup(srv.Close)
	s, err := send.NewSEP12(anchor.Seed)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"", "/kyc", "ftp://" + srv.Listener.Addr().String() + "/kyc", "http://:80/kyc", "://"} {
		if d, err := s.Send(t.Context(), bad, accepted); !errors.Is(err, kyccb.ErrConfig) || len(d.Attempts) != 0 {
			t.Errorf("Send to %q: %v after %d attempts, want ErrConfig before any", bad, err, len(d.Attempts))
		}
	}
	if n := requests.Load(); n != 0 {
		t.Fatalf("%d requests reached the server", n)
	}
}

func TestXGatewaySender(t *testing.T) {
	const secret = "merchant-secret"
	var (
		mu   sync.Mutex
		kycs []kyccb.XGatewayKYC
		txs  []kyccb.XGatewayTransaction
		hits int
	)
	h := kyccb.XGateway(secret, func(_ context.Context, k kyccb.XGatewayKYC) error {
		mu.Lock()
		defer mu.Unlock()
		kycs = append(kycs, k)
		return nil
	}, kyccb.WithXGatewayTransaction(func(_ context.Context, tx kyccb.XGatewayTransaction) error {
		mu.Lock()
		defer mu.Unlock()
		txs = append(txs, tx)
		return nil
	}))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits++
		first := hits == 1
		mu.Unlock()
		if first {
			w.WriteHeader(http.StatusServiceUnavailable) // XGateway retries this
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)

	s, err := send.NewXGateway(secret, quick)
	if err != nil {
		t.Fatal(err)
	}
	kyc := `{"callbackType":"kyc","customerId":"cust-7","status":"FULL_USER","docsMissing":null,"hash":"left over"}`
	d, err := s.Send(t.Context(), srv.URL, []byte(kyc))
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if len(d.Attempts) != 2 || d.Attempts[0].StatusCode != 503 || d.StatusCode != 200 || d.Attempts[0].Signature != "" {
		t.Fatalf("attempts %+v, status %d; want 503 then 200, no signature", d.Attempts, d.StatusCode)
	}
	tx := `{"callbackType":"transaction","id":"tx-1","customerId":null,"amount":"12.50","currency":"EUR","status":"SUCCESS"}`
	if _, err := s.Send(t.Context(), srv.URL, []byte(tx)); err != nil {
		t.Fatalf("Send transaction: %v", err)
	}
	// XGateway sends strings; a number, which the receiver refuses, is
	// refused before anything is sent.
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return hits
	}
	before := count()
	numeric := strings.Replace(tx, `"12.50"`, `12.50`, 1)
	if _, err := s.Send(t.Context(), srv.URL, []byte(numeric)); !errors.Is(err, kyccb.ErrMalformedBody) || count() != before {
		t.Errorf("Send of a numeric amount: %v after %d requests, want ErrMalformedBody and none", err, count()-before)
	}

	wantKYC := []kyccb.XGatewayKYC{{
		CallbackType: "kyc", CustomerID: "cust-7", Status: kyccb.XGatewayFullUser, DocsMissing: []string{},
		Hash: kyccb.XGatewayHash(secret, "cust-7"),
	}}
	if diff := cmp.Diff(wantKYC, kycs); diff != "" {
		t.Errorf("KYC callbacks received (-want +got):\n%s", diff)
	}
	if len(txs) != 1 || txs[0].Hash != kyccb.XGatewayHash(secret, "tx-1", "N/A", "12.50", "EUR") {
		t.Errorf("transaction callbacks received: %+v", txs)
	}

	for _, bad := range []string{`[]`, `{"callbackType":"refund"}`, `{"callbackType":`} {
		if _, err := s.Send(t.Context(), srv.URL, []byte(bad)); !errors.Is(err, kyccb.ErrMalformedBody) && !errors.Is(err, kyccb.ErrUnknownCallbackType) {
			t.Errorf("Send(%s): %v, want ErrMalformedBody or ErrUnknownCallbackType", bad, err)
		}
	}
}
