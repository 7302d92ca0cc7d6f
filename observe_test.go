package kyccb_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kyccb/kyccb"
)

// records captures what is logged through slog.Default while the test
// runs.
type records struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (r *records) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.buf.Write(p)
}

func (r *records) all(t *testing.T) []map[string]any {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(r.buf.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

// captureDefault makes slog.Default write JSON records to the returned
// capture until the test ends.
func captureDefault(t *testing.T) *records {
	rec := &records{}
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewJSONHandler(rec, nil)))
	t.Cleanup(func() { slog.SetDefault(old) })
	return rec
}

func forgedRequest(t testing.TB) *http.Request {
	other := "SBGWSG6BTNCKCOB3DIFBGCVMUPQFYPA2G4O34RMTB343OYPXU5DJDVMN"
	r := httptest.NewRequest(http.MethodPost, "/kyc", strings.NewReader(customerJSON))
	r.Header.Set("Signature", sign(t, other, testHost, customerJSON, signedAt))
	return r
}

func TestRejectionsLoggedByDefault(t *testing.T) {
	logs := captureDefault(t)
	h := kyccb.SEP12(testAddress, testHost, func(context.Context, kyccb.Customer) error { return nil },
		kyccb.WithClock(func() time.Time { return signedAt }))
	h.ServeHTTP(httptest.NewRecorder(), forgedRequest(t))

	got := logs.all(t)
	if len(got) != 1 {
		t.Fatalf("%d records for one rejection, want 1: %v", len(got), got)
	}
	r := got[0]
	if r["level"] != "WARN" || r["msg"] != "kyccb: callback rejected" || r["mode"] != "sep12" || r["status"] != float64(401) ||
		!strings.HasPrefix(r["reason"].(string), kyccb.ErrBadSignature.Error()) {
		t.Errorf("record %v", r)
	}
}

func TestNoDefaultLogWhenOptedOut(t *testing.T) {
	logs := captureDefault(t)
	h := kyccb.SEP12(testAddress, testHost, func(context.Context, kyccb.Customer) error { return nil },
		kyccb.WithClock(func() time.Time { return signedAt }), kyccb.WithLogger(slog.New(slog.DiscardHandler)))
	h.ServeHTTP(httptest.NewRecorder(), forgedRequest(t))
	if got := logs.all(t); len(got) != 0 {
		t.Errorf("logged %v", got)
	}
}

// TestErrorHookKeepsDefaultLog is issue 19's item 10: a hook added for
// metrics turned the default log off. The two are independent now.
func TestErrorHookKeepsDefaultLog(t *testing.T) {
	logs := captureDefault(t)
	var hooked []error
	h := kyccb.SEP12(testAddress, testHost, func(context.Context, kyccb.Customer) error { return nil },
		kyccb.WithClock(func() time.Time { return signedAt }),
		kyccb.WithErrorHook(func(_ *http.Request, err error) { hooked = append(hooked, err) }))
	h.ServeHTTP(httptest.NewRecorder(), forgedRequest(t))
	if len(hooked) != 1 || !errors.Is(hooked[0], kyccb.ErrBadSignature) {
		t.Errorf("the hook saw %v, want one ErrBadSignature", hooked)
	}
	got := logs.all(t)
	if len(got) != 1 || got[0]["msg"] != "kyccb: callback rejected" || got[0]["status"] != float64(401) {
		t.Errorf("with a hook, slog.Default has %v, want the rejection", got)
	}
}

// TestLogSaysWhichEndpoint is issue 19's item 11: a record says which
// path and which peer, as escaped attributes of bounded length, since
// both are request data.
func TestLogSaysWhichEndpoint(t *testing.T) {
	hostile := "/kyc/\x1b[32maccepted\u2028\u202e" + strings.Repeat("a", 5000)
	for _, handler := range []struct {
		name string
		new  func(io.Writer) slog.Handler
	}{
		{"text", func(w io.Writer) slog.Handler { return slog.NewTextHandler(w, nil) }},
		{"JSON", func(w io.Writer) slog.Handler { return slog.NewJSONHandler(w, nil) }},
	} {
		t.Run(handler.name, func(t *testing.T) {
			var out bytes.Buffer
			h := kyccb.SEP12(testAddress, testHost, func(context.Context, kyccb.Customer) error { return nil },
				kyccb.WithClock(func() time.Time { return signedAt }), kyccb.WithLogger(slog.New(handler.new(&out))))
			r := forgedRequest(t)
			h.ServeHTTP(httptest.NewRecorder(), r)
			if !strings.Contains(out.String(), "path=/kyc ") && !strings.Contains(out.String(), `"path":"/kyc"`) {
				t.Errorf("the record does not name the path: %s", out.String())
			}
			if !strings.Contains(out.String(), "192.0.2.1:1234") {
				t.Errorf("the record does not name the remote address: %s", out.String())
			}

			out.Reset()
			r = forgedRequest(t)
			r.URL.Path = strings.NewReplacer(`\x1b`, "\x1b", `\u2028`, "\u2028", `\u202e`, "\u202e").Replace(hostile)
			r.RemoteAddr = "\x1b[2J" + strings.Repeat("b", 1000)
			h.ServeHTTP(httptest.NewRecorder(), r)
			line := out.String()
			if strings.ContainsAny(line, "\x1b\u2028\u202e") {
				t.Errorf("the record holds the path's or the address's raw control characters: %q", line)
			}
			if !strings.Contains(line, "/kyc/%1B%5B32maccepted%E2%80%A8%E2%80%AE") {
				t.Errorf("the record does not hold the path escaped: %q", line)
			}
			if len(line) > 1000 || strings.Contains(line, strings.Repeat("a", 300)) || strings.Contains(line, strings.Repeat("b", 100)) {
				t.Errorf("the record holds %d bytes: the path or the address is not cut", len(line))
			}
		})
	}
}

// 10,000 forged callbacks within a second make a bounded number of
// records, and one of them says how many were left out.
func TestRejectionFloodSummarised(t *testing.T) {
	defer kyccb.SetLogWindow(time.Second)()
	logs := captureDefault(t)
	h := kyccb.SEP12(testAddress, testHost, func(context.Context, kyccb.Customer) error { return nil },
		kyccb.WithClock(func() time.Time { return signedAt }))
	const n = 10_000
	r := forgedRequest(t)
	body := []byte(customerJSON)
	start := time.Now()
	for range n {
		r.Body = io.NopCloser(bytes.NewReader(body))
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	elapsed := time.Since(start)
	time.Sleep(1500 * time.Millisecond) // past the end of the last window
	got := logs.all(t)
	// Each window started allows LogBurst records and one summary.
	windows := int(elapsed/time.Second) + 1
	if len(got) > windows*(kyccb.LogBurst+1) {
		t.Fatalf("%d records for %d rejections in %s, want at most %d", len(got), n, elapsed, windows*(kyccb.LogBurst+1))
	}
	// Every rejection is either logged or counted in a summary.
	accounted, summaries := 0, 0
	for _, r := range got {
		if c, ok := r["not_logged"].(float64); ok {
			accounted += int(c)
			summaries++
			continue
		}
		accounted++
	}
	if accounted != n || summaries == 0 {
		t.Errorf("records account for %d rejections in %d summaries, want %d", accounted, summaries, n)
	}
	if elapsed < time.Second && len(got) != kyccb.LogBurst+1 {
		t.Errorf("%d records for a flood within one window, want %d", len(got), kyccb.LogBurst+1)
	}
}

// TestObserverSeesEveryReply goes through every reply the handlers can
// give and checks what the observer saw: the mode, the status, the
// outcome and the time.
func TestObserverSeesEveryReply(t *testing.T) {
	type seen struct {
		mode    string
		status  int
		outcome string
	}
	now := signedAt
	valid := sign(t, testSeed, testHost, customerJSON, now)
	failing := errors.New("database down")
	blocked := make(chan struct{})
	inFn := make(chan struct{}, 1)
	var background sync.WaitGroup

	cases := []struct {
		name    string
		mode    string
		opts    []kyccb.Option
		keys    kyccb.KeySource
		fn      func(context.Context, kyccb.Customer) error
		method  string
		body    string
		header  string
		want    seen
		prepare func(h http.Handler) // runs first, for duplicates
	}{
		{name: "accepted", header: valid, want: seen{"sep12", 200, "accepted"}},
		{name: "function error", header: valid, fn: func(context.Context, kyccb.Customer) error { return failing }, want: seen{"sep12", 500, "callback_error"}},
		{name: "method", method: http.MethodGet, want: seen{"sep12", 405, "method"}},
		{name: "missing signature", want: seen{"sep12", 401, "missing_signature"}},
		{name: "malformed signature", header: "t=1700000000, s=!!", want: seen{"sep12", 401, "malformed_signature"}},
		{name: "expired", header: sign(t, testSeed, testHost, customerJSON, now.Add(-time.Hour)), want: seen{"sep12", 401, "expired"}},
		{name: "future", header: sign(t, testSeed, testHost, customerJSON, now.Add(time.Hour)), want: seen{"sep12", 401, "future"}},
		{name: "bad signature", header: forgedRequest(t).Header.Get("Signature"), want: seen{"sep12", 401, "bad_signature"}},
		{name: "body too large", header: valid, opts: []kyccb.Option{kyccb.WithMaxBodyBytes(10)}, want: seen{"sep12", 413, "body_too_large"}},
		{name: "malformed body", body: `{"status": 7}`, header: sign(t, testSeed, testHost, `{"status": 7}`, now), want: seen{"sep12", 400, "malformed_body"}},
		{name: "keys unavailable", header: valid, keys: failingKeys{}, want: seen{"sep12", 503, "keys_unavailable"}},
		{name: "duplicate", header: valid, opts: []kyccb.Option{kyccb.WithDedup(kyccb.NewMemoryStore())},
			// The anchor's retry, signed anew: the same request again is a
			// replay.
			prepare: func(h http.Handler) {
				serve(h, sign(t, testSeed, testHost, customerJSON, now.Add(-time.Second)), customerJSON)
			},
			want: seen{"sep12", 200, "duplicate"}},
		{name: "replay", header: valid, prepare: func(h http.Handler) { serve(h, valid, customerJSON) }, want: seen{"sep12", 200, "replay"}},
		{name: "replay with a store", header: valid, opts: []kyccb.Option{kyccb.WithDedup(kyccb.NewMemoryStore())},
			prepare: func(h http.Handler) { serve(h, valid, customerJSON) }, want: seen{"sep12", 200, "replay"}},
		{name: "in progress", header: valid, opts: []kyccb.Option{kyccb.WithDedup(kyccb.NewMemoryStore())},
			fn: func(ctx context.Context, c kyccb.Customer) error {
				inFn <- struct{}{}
				<-blocked
				return nil
			},
			prepare: func(h http.Handler) {
				background.Go(func() { serve(h, valid, customerJSON) })
				<-inFn
			}, want: seen{"sep12", 503, "in_progress"}},
		{name: "store unavailable", header: valid, opts: []kyccb.Option{kyccb.WithDedup(failingStore{})}, want: seen{"sep12", 503, "store_unavailable"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got []kyccb.Verdict
			var mu sync.Mutex
			opts := append([]kyccb.Option{
				kyccb.WithClock(func() time.Time { return now }),
				kyccb.WithLogger(slog.New(slog.DiscardHandler)),
				kyccb.WithObserver(func(_ *http.Request, v kyccb.Verdict) { mu.Lock(); got = append(got, v); mu.Unlock() }),
			}, c.opts...)
			keys := c.keys
			if keys == nil {
				keys = mustKeys(t)
			}
			v, err := kyccb.NewSEP12Verifier(keys, testHost, opts...)
			if err != nil {
				t.Fatal(err)
			}
			fn := c.fn
			if fn == nil {
				fn = func(context.Context, kyccb.Customer) error { return nil }
			}
			h := v.Handler(fn)
			if c.prepare != nil {
				c.prepare(h)
				mu.Lock()
				got = nil
				mu.Unlock()
			}
			body := c.body
			if body == "" {
				body = customerJSON
			}
			method := c.method
			if method == "" {
				method = http.MethodPost
			}
			r := httptest.NewRequest(method, "/kyc", strings.NewReader(body))
			if c.header != "" {
				r.Header.Set("Signature", c.header)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			mu.Lock()
			seenVerdicts := slices.Clone(got)
			mu.Unlock()
			if c.name == "in progress" {
				// Only now may the first delivery finish, and be seen.
				close(blocked)
				background.Wait()
			}
			if len(seenVerdicts) != 1 {
				t.Fatalf("observer saw %d verdicts, want 1: %+v", len(seenVerdicts), seenVerdicts)
			}
			g := seenVerdicts[0]
			if s := (seen{g.Mode, g.Status, g.Outcome()}); s != c.want || g.Status != rec.Code {
				t.Errorf("observer saw %+v (reply %d), want %+v", s, rec.Code, c.want)
			}
			if g.Duration <= 0 {
				t.Errorf("duration %s", g.Duration)
			}
			if (g.Err == nil) != (c.want.outcome == "accepted") {
				t.Errorf("Err %v for outcome %s", g.Err, c.want.outcome)
			}
		})
	}
}

func TestObserverXGateway(t *testing.T) {
	cases := []struct {
		name, body string
		status     int
		outcome    string
	}{
		{"accepted", xgatewayBody(t, nil), 200, "accepted"},
		{"missing hash", xgatewayBody(t, map[string]any{"hash": nil}), 401, "missing_hash"},
		{"bad hash", xgatewayBody(t, map[string]any{"customerId": "someone-else"}), 401, "bad_hash"},
		{"unknown callback type", xgatewayBody(t, map[string]any{"callbackType": "refund"}), 400, "unknown_callback_type"},
		{"malformed body", `{"callbackType":`, 400, "malformed_body"},
		{"transaction without a function", xgatewayBody(t, map[string]any{"callbackType": "bank_account", "currency": "EUR", "hash": kyccb.XGatewayHash(testSecret, "cust-42", "EUR")}), 200, "accepted"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got []kyccb.Verdict
			h := kyccb.XGateway(testSecret, func(context.Context, kyccb.XGatewayKYC) error { return nil },
				kyccb.WithLogger(slog.New(slog.DiscardHandler)),
				kyccb.WithObserver(func(_ *http.Request, v kyccb.Verdict) { got = append(got, v) }))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/xgw", strings.NewReader(c.body)))
			if len(got) != 1 || got[0].Mode != "xgateway" || got[0].Status != c.status || rec.Code != c.status || got[0].Outcome() != c.outcome {
				t.Errorf("reply %d, observer saw %+v; want %d %s", rec.Code, got, c.status, c.outcome)
			}
		})
	}
}

// In the middleware form the observer sees the status next wrote.
func TestObserverMiddleware(t *testing.T) {
	var got []kyccb.Verdict
	v := sep12Verifier(t, kyccb.WithClock(func() time.Time { return signedAt }),
		kyccb.WithObserver(func(_ *http.Request, v kyccb.Verdict) { got = append(got, v) }))
	h := v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusAccepted) }))
	serve(h, sign(t, testSeed, testHost, customerJSON, signedAt), customerJSON)
	if len(got) != 1 || got[0].Status != http.StatusAccepted || got[0].Outcome() != "accepted" {
		t.Errorf("observer saw %+v", got)
	}
}

func serve(h http.Handler, header, body string) int {
	r := httptest.NewRequest(http.MethodPost, "/kyc", strings.NewReader(body))
	r.Header.Set("Signature", header)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec.Code
}

type failingKeys struct{}

func (failingKeys) SigningKeys(context.Context) ([]ed25519.PublicKey, error) {
	return nil, errors.New("stellar.toml unreachable")
}

type failingStore struct{}

func (failingStore) Reserve(context.Context, string, kyccb.Delivery, time.Duration) (string, error) {
	return "", errors.New("connection refused")
}
func (failingStore) Confirm(context.Context, string, string, kyccb.Delivery, time.Duration) error {
	return errors.New("connection refused")
}
func (failingStore) Release(context.Context, string, string) error {
	return errors.New("connection refused")
}

// Every sentinel a handler replies for has an outcome of its own, which
// Outcome's doc lists.
func TestOutcomeNamesEverySentinel(t *testing.T) {
	seen := map[string]error{}
	for _, err := range []error{
		kyccb.ErrMethod, kyccb.ErrMissingSignature, kyccb.ErrMalformedSignature, kyccb.ErrExpired,
		kyccb.ErrFuture, kyccb.ErrBadSignature, kyccb.ErrMissingHash, kyccb.ErrBadHash,
		kyccb.ErrBodyTooLarge, kyccb.ErrMalformedBody, kyccb.ErrUnknownCallbackType,
		kyccb.ErrKeysUnavailable, kyccb.ErrDuplicate, kyccb.ErrReplay, kyccb.ErrStale,
		kyccb.ErrDuplicateInProgress, kyccb.ErrStoreUnavailable, kyccb.ErrCallback,
	} {
		name := kyccb.Verdict{Err: err}.Outcome()
		if name == "error" || seen[name] != nil {
			t.Errorf("%v: outcome %q, shared with %v", err, name, seen[name])
		}
		seen[name] = err
	}
}
