package kyccb_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kyccb/kyccb"
	"github.com/kyccb/kyccb/internal/wire"
)

// The abuse tests: what a public callback URL meets besides callbacks.

// countingReader counts the bytes a handler takes from a request body.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// paddedJSON returns a JSON object of exactly size bytes: prefix, then a
// string field "pad" filled out to size, then "}".
func paddedJSON(t testing.TB, prefix string, size int) []byte {
	t.Helper()
	const open, end = `,"pad":"`, `"}`
	n := size - len(prefix) - len(open) - len(end)
	if n < 0 {
		t.Fatalf("size %d too small for %q", size, prefix)
	}
	return []byte(prefix + open + strings.Repeat("x", n) + end)
}

// TestAbuseBodyLimit sends bodies at and just over the limit, with and
// without a declared length, to both handlers: over the limit the answer is
// 413, the handler takes at most one byte past the limit (the byte that
// tells it the body is too long), and nothing at all when the declared
// length already says so or the signature header is stale.
func TestAbuseBodyLimit(t *testing.T) {
	type mode struct {
		name string
		// handler returns a handler and a request for a body of size
		// bytes that is valid in every respect but its length.
		build func(t *testing.T, limit int64, size int, ran *atomic.Bool, reports reportCh) (http.Handler, *http.Request)
	}
	modes := []mode{
		{"SEP-12", func(t *testing.T, limit int64, size int, ran *atomic.Bool, reports reportCh) (http.Handler, *http.Request) {
			h := kyccb.SEP12(testAddress, testHost, func(context.Context, kyccb.Customer) error { ran.Store(true); return nil },
				kyccb.WithMaxBodyBytes(limit), kyccb.WithClock(func() time.Time { return signedAt }), reports.hook())
			body := paddedJSON(t, `{"id":"c-1","status":"ACCEPTED"`, size)
			r := httptest.NewRequest(http.MethodPost, "/kyc", bytes.NewReader(body))
			r.Header.Set(kyccb.SignatureHeader, sign(t, testSeed, testHost, string(body), signedAt))
			return h, r
		}},
		{"XGateway", func(t *testing.T, limit int64, size int, ran *atomic.Bool, reports reportCh) (http.Handler, *http.Request) {
			h := kyccb.XGateway(testSecret, func(context.Context, kyccb.XGatewayKYC) error { ran.Store(true); return nil },
				kyccb.WithMaxBodyBytes(limit), reports.hook())
			prefix := `{"callbackType":"kyc","customerId":"c-1","status":"FULL_USER","hash":"` + kyccb.XGatewayHash(testSecret, "c-1") + `"`
			body := paddedJSON(t, prefix, size)
			return h, httptest.NewRequest(http.MethodPost, "/xgw", bytes.NewReader(body))
		}},
	}
	tests := []struct {
		name     string
		over     int  // bytes past the limit
		declared bool // Content-Length is sent
		stale    bool // the SEP-12 signature is 10 minutes old
		wantCode int
		wantErr  error
		maxRead  int64 // past the limit; -1: nothing at all
	}{
		{"A body exactly at the limit, length declared", 0, true, false, 200, nil, 0},
		{"A body exactly at the limit, length not declared", 0, false, false, 200, nil, 1},
		{"One byte over, length not declared", 1, false, false, 413, kyccb.ErrBodyTooLarge, 1},
		{"A megabyte over, length not declared", 1 << 20, false, false, 413, kyccb.ErrBodyTooLarge, 1},
		{"One byte over, length declared", 1, true, false, 413, kyccb.ErrBodyTooLarge, -1},
		{"A stale signature with a body over the limit", 1 << 20, false, true, 401, kyccb.ErrExpired, -1},
	}
	for _, m := range modes {
		for _, limit := range []int64{kyccb.DefaultMaxBodyBytes, 1024} {
			for _, tt := range tests {
				if tt.stale && m.name != "SEP-12" {
					continue
				}
				t.Run(fmt.Sprintf("%s/limit %d/%s", m.name, limit, tt.name), func(t *testing.T) {
					var ran atomic.Bool
					reports := make(reportCh, 1)
					h, r := m.build(t, limit, int(limit)+tt.over, &ran, reports)
					if tt.stale {
						r.Header.Set(kyccb.SignatureHeader, sign(t, testSeed, testHost, "", signedAt.Add(-10*time.Minute)))
					}
					body := &countingReader{r: r.Body}
					r.Body = io.NopCloser(body)
					if !tt.declared {
						r.ContentLength = -1
					}
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, r)

					if rec.Code != tt.wantCode {
						t.Errorf("status %d, want %d", rec.Code, tt.wantCode)
					}
					if tt.wantErr != nil {
						if err := reports.next(t); !errors.Is(err, tt.wantErr) {
							t.Errorf("reported %v, want %v", err, tt.wantErr)
						}
					}
					if got, want := ran.Load(), tt.wantCode == 200; got != want {
						t.Errorf("fn ran: %v, want %v", got, want)
					}
					read := body.n.Load()
					switch {
					case tt.maxRead < 0 && read != 0:
						t.Errorf("read %d bytes of the body, want none", read)
					case tt.maxRead >= 0 && read > limit+tt.maxRead:
						t.Errorf("read %d bytes of the body, limit %d: read past the limit", read, limit)
					}
				})
			}
		}
	}
}

// TestAbuseDeclaredLength sends requests that declare a body at the limit
// but carry a short one, as a stalled or lying sender does: the handler's
// memory follows the bytes that came, not the declared length. Trusting
// the length let every connection that sent headers alone hold the whole
// limit until the server's ReadTimeout.
func TestAbuseDeclaredLength(t *testing.T) {
	const runs = 20
	short := []byte(customerJSON)
	tests := []struct {
		name    string
		handler http.Handler
		header  string
	}{
		{"SEP-12", kyccb.SEP12(testAddress, testHost, func(context.Context, kyccb.Customer) error { return nil },
			kyccb.WithClock(func() time.Time { return signedAt })), sign(t, testSeed, testHost, customerJSON, signedAt)},
		{"XGateway", kyccb.XGateway(testSecret, func(context.Context, kyccb.XGatewayKYC) error { return nil }), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reqs := make([]*http.Request, runs)
			for i := range reqs {
				reqs[i] = httptest.NewRequest(http.MethodPost, "/cb", bytes.NewReader(short))
				reqs[i].ContentLength = kyccb.DefaultMaxBodyBytes
				if tt.header != "" {
					reqs[i].Header.Set(kyccb.SignatureHeader, tt.header)
				}
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			for _, r := range reqs {
				tt.handler.ServeHTTP(httptest.NewRecorder(), r)
			}
			runtime.ReadMemStats(&after)
			if per := (after.TotalAlloc - before.TotalAlloc) / runs; per > 128<<10 {
				t.Errorf("%d bytes allocated per request for a %d-byte body declared as %d bytes", per, len(short), kyccb.DefaultMaxBodyBytes)
			}
		})
	}
}

// Server settings for the slow-client tests: the README's recommended
// settings, shrunk so that the tests take a second.
const (
	testReadHeaderTimeout = 300 * time.Millisecond
	testReadTimeout       = 600 * time.Millisecond
	testWriteTimeout      = 2 * time.Second
	testIdleTimeout       = 600 * time.Millisecond
	testMaxHeaderBytes    = 16 << 10
)

// serveWithLimits serves h on a loopback port with the shrunk recommended
// settings and returns its address.
func serveWithLimits(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: testReadHeaderTimeout,
		ReadTimeout:       testReadTimeout,
		WriteTimeout:      testWriteTimeout,
		IdleTimeout:       testIdleTimeout,
		MaxHeaderBytes:    testMaxHeaderBytes,
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// TestAbuseSlowClients holds connections open the ways slow and malicious
// clients do, against a real server with the recommended settings: each
// connection is ended by the server, long before the client's own 10 s
// deadline, and the callback function never runs.
func TestAbuseSlowClients(t *testing.T) {
	body := []byte(customerJSON)
	tests := []struct {
		name string
		// send writes to conn until it fails or stop is closed; the
		// signature is fresh for body.
		send      func(conn net.Conn, signature string, stop <-chan struct{})
		wantReply string // the status line the server sends first, "" for none
		wantErr   error  // what the handler reports, nil when it never runs
	}{
		{
			name: "Headers that never end (slowloris)",
			send: func(conn net.Conn, _ string, stop <-chan struct{}) {
				if _, err := io.WriteString(conn, "POST /kyc HTTP/1.1\r\nHost: wallet.example.org\r\n"); err != nil {
					return
				}
				trickle(conn, stop, func(i int) string { return fmt.Sprintf("X-Pad-%d: x\r\n", i) })
			},
		},
		{
			name: "A body that trickles in a byte at a time",
			send: func(conn net.Conn, signature string, stop <-chan struct{}) {
				head := fmt.Sprintf("POST /kyc HTTP/1.1\r\nHost: wallet.example.org\r\nSignature: %s\r\nContent-Length: %d\r\n\r\n", signature, len(body))
				if _, err := io.WriteString(conn, head); err != nil {
					return
				}
				trickle(conn, stop, func(i int) string { return string(body[i%len(body)]) })
			},
			wantReply: "HTTP/1.1 400",
			wantErr:   kyccb.ErrMalformedBody,
		},
		{
			name: "A declared length over the limit, then nothing",
			send: func(conn net.Conn, signature string, _ <-chan struct{}) {
				fmt.Fprintf(conn, "POST /kyc HTTP/1.1\r\nHost: wallet.example.org\r\nSignature: %s\r\nContent-Length: %d\r\n\r\n", signature, 64<<20)
			},
			wantReply: "HTTP/1.1 413",
			wantErr:   kyccb.ErrBodyTooLarge,
		},
		{
			name: "Headers over MaxHeaderBytes",
			send: func(conn net.Conn, _ string, _ <-chan struct{}) {
				fmt.Fprintf(conn, "POST /kyc HTTP/1.1\r\nHost: wallet.example.org\r\nX-Big: %s\r\n\r\n", strings.Repeat("x", 2*testMaxHeaderBytes))
			},
			wantReply: "HTTP/1.1 431",
		},
		{
			name: "An idle keep-alive connection after a valid callback",
			send: func(conn net.Conn, signature string, _ <-chan struct{}) {
				fmt.Fprintf(conn, "POST /kyc HTTP/1.1\r\nHost: wallet.example.org\r\nSignature: %s\r\nContent-Length: %d\r\n\r\n%s", signature, len(body), body)
			},
			wantReply: "HTTP/1.1 200",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var ran atomic.Int32
			reports := make(reportCh, 4)
			h := kyccb.SEP12(testAddress, testHost, func(context.Context, kyccb.Customer) error { ran.Add(1); return nil }, reports.hook())
			addr := serveWithLimits(t, h)
			signature := sign(t, testSeed, testHost, string(body), time.Now())

			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			stop := make(chan struct{})
			defer close(stop)
			go tt.send(conn, signature, stop)

			if err := conn.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
				t.Fatal(err)
			}
			reply, err := io.ReadAll(bufio.NewReader(conn))
			if errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("the server kept the connection open for 10 s (read %q)", reply)
			}
			// A reset instead of a FIN is fine: the server closed with
			// unread input.
			if !strings.HasPrefix(string(reply), tt.wantReply) || tt.wantReply == "" && len(reply) != 0 {
				t.Errorf("reply %.40q, want it to start with %q", reply, tt.wantReply)
			}
			if tt.wantErr != nil {
				if err := reports.next(t); !errors.Is(err, tt.wantErr) {
					t.Errorf("reported %v, want %v", err, tt.wantErr)
				}
			}
			if got, want := ran.Load(), int32(0); tt.wantReply == "HTTP/1.1 200" {
				if got != 1 {
					t.Errorf("fn ran %d times, want once", got)
				}
			} else if got != want {
				t.Errorf("fn ran %d times, want never", got)
			}
		})
	}
}

// trickle writes next(i) every 50 ms until a write fails or stop is closed.
func trickle(conn net.Conn, stop <-chan struct{}, next func(i int) string) {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		if _, err := io.WriteString(conn, next(i)); err != nil {
			return
		}
	}
}

// headerMutation turns the valid Signature header value into an invalid
// one. Each is built so that its result can never be valid: the test fails
// on any 200.
type headerMutation struct {
	name   string
	mutate func(rng *rand.Rand, f headerFixture) string
}

// headerFixture is the valid header and its parts.
type headerFixture struct {
	valid string // "t=<t>, s=<s>"
	t, s  string
	sig   []byte
	now   time.Time
}

const base64Chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

var headerMutations = []headerMutation{
	{"truncated", func(rng *rand.Rand, f headerFixture) string {
		// Cutting only the "==" padding would leave a valid header.
		return f.valid[:rng.IntN(len(f.valid)-2)]
	}},
	{"a signature character replaced by a non-base64 byte", func(rng *rand.Rand, f headerFixture) string {
		const bad = "!\"#$%&'()*.:;<>?@[\\]^`{|}~ \r\n\x00\x01\x7f\xff"
		return "t=" + f.t + ", s=" + replaceAt(f.s, rng.IntN(len(f.s)-2), string(bad[rng.IntN(len(bad))]))
	}},
	{"a signature character replaced by another base64 character", func(rng *rand.Rand, f headerFixture) string {
		i := rng.IntN(len(f.s) - 2)
		c := f.s[i]
		for c == f.s[i] || twins(c, f.s[i]) {
			c = base64Chars[rng.IntN(len(base64Chars))]
		}
		return "t=" + f.t + ", s=" + replaceAt(f.s, i, string(c))
	}},
	{"a timestamp digit changed", func(rng *rand.Rand, f headerFixture) string {
		i := rng.IntN(len(f.t))
		d := f.t[i]
		for d == f.t[i] {
			d = byte('0' + rng.IntN(10))
		}
		return "t=" + replaceAt(f.t, i, string(d)) + ", s=" + f.s
	}},
	{"a timestamp digit replaced by a Unicode digit or letter", func(rng *rand.Rand, f headerFixture) string {
		runes := []string{"١", "٣", "０", "۹", "x", "é", "\u200b", "\ufeff", "Ⅻ", "½"}
		return "t=" + replaceAt(f.t, rng.IntN(len(f.t)), runes[rng.IntN(len(runes))]) + ", s=" + f.s
	}},
	{"a huge or signed timestamp", func(rng *rand.Rand, f headerFixture) string {
		var t string
		switch rng.IntN(4) {
		case 0:
			t = strings.Repeat("9", 19+rng.IntN(40))
		case 1:
			t = "-" + f.t
		case 2:
			t = "+" + f.t
		default:
			t = "1" + strings.Repeat("0", 18+rng.IntN(300))
		}
		return "t=" + t + ", s=" + f.s
	}},
	{"a timestamp far in the past or future", func(rng *rand.Rand, f headerFixture) string {
		off := int64(121 + rng.IntN(1_000_000_000))
		if rng.IntN(2) == 0 {
			off = -off
		}
		return "t=" + strconv.FormatInt(f.now.Unix()+off, 10) + ", s=" + f.s
	}},
	{"a comma inside a value", func(rng *rand.Rand, f headerFixture) string {
		if rng.IntN(2) == 0 {
			return "t=" + insertAt(f.t, 1+rng.IntN(len(f.t)-1), ",") + ", s=" + f.s
		}
		return "t=" + f.t + ", s=" + insertAt(f.s, 1+rng.IntN(len(f.s)-3), strings.Repeat(",", 1+rng.IntN(3)))
	}},
	{"a duplicate key", func(rng *rand.Rand, f headerFixture) string {
		switch rng.IntN(4) {
		case 0:
			return f.valid + ", t=" + f.t
		case 1:
			return f.valid + ",s=" + f.s
		case 2:
			return "s=" + f.s + ", " + f.valid
		default:
			return "t=1, " + f.valid
		}
	}},
	{"a key missing or renamed", func(rng *rand.Rand, f headerFixture) string {
		switch rng.IntN(6) {
		case 0:
			return "t=" + f.t
		case 1:
			return "s=" + f.s
		case 2:
			return "T=" + f.t + ", s=" + f.s
		case 3:
			return "t=" + f.t + ", S=" + f.s
		case 4:
			return "ts=" + f.t + ", sig=" + f.s
		default:
			return "t:" + f.t + ", s:" + f.s
		}
	}},
	{"Unicode inside a value", func(rng *rand.Rand, f headerFixture) string {
		runes := []string{"é", "名", "🚫", "\u200b", "\u00a0", "\ufeff", "＝", "，", "\u2028"}
		u := runes[rng.IntN(len(runes))]
		if rng.IntN(2) == 0 {
			return "t=" + insertAt(f.t, 1+rng.IntN(len(f.t)-1), u) + ", s=" + f.s
		}
		return "t=" + f.t + ", s=" + insertAt(f.s, 1+rng.IntN(len(f.s)-3), u)
	}},
	{"a signature of the wrong length", func(rng *rand.Rand, f headerFixture) string {
		n := []int{0, 1, 32, 63, 65, 96, 128, 4096}[rng.IntN(8)]
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		enc := []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding}[rng.IntN(4)]
		return "t=" + f.t + ", s=" + enc.EncodeToString(b)
	}},
	{"a signature of random bytes", func(rng *rand.Rand, f headerFixture) string {
		b := make([]byte, 64)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return "t=" + f.t + ", s=" + base64.StdEncoding.EncodeToString(b)
	}},
	{"a signature with its bits flipped", func(rng *rand.Rand, f headerFixture) string {
		b := bytes.Clone(f.sig)
		b[rng.IntN(len(b))] ^= byte(1 + rng.IntN(255))
		return "t=" + f.t + ", s=" + base64.StdEncoding.EncodeToString(b)
	}},
	{"only separators and junk", func(rng *rand.Rand, _ headerFixture) string {
		parts := []string{",", "=", " ", "\t", "t", "s", ",,", "==", "t=", "s=", ", ="}
		var b strings.Builder
		for range 1 + rng.IntN(30) {
			b.WriteString(parts[rng.IntN(len(parts))])
		}
		return b.String()
	}},
	{"random bytes", func(rng *rand.Rand, _ headerFixture) string {
		b := make([]byte, rng.IntN(200))
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return string(b)
	}},
	{"empty", func(*rand.Rand, headerFixture) string { return "" }},
}

// twins reports whether a and b are the same value in the two base64
// alphabets, so that swapping one for the other decodes the same bytes.
func twins(a, b byte) bool {
	return a == '+' && b == '-' || a == '-' && b == '+' || a == '/' && b == '_' || a == '_' && b == '/'
}

func replaceAt(s string, i int, with string) string { return s[:i] + with + s[i+1:] }
func insertAt(s string, i int, what string) string  { return s[:i] + what + s[i:] }

// TestAbuseMalformedHeaders sends 10,000 mutations of a valid Signature
// header, made by a seeded generator so that a failure can be replayed:
// none panics, every one is answered 401 with a header, signature or
// timestamp error, and the callback function never runs.
func TestAbuseMalformedHeaders(t *testing.T) {
	const n = 10_000
	now := signedAt
	valid := sign(t, testSeed, testHost, customerJSON, now)
	parsed, err := wire.ParseSignature(valid)
	if err != nil {
		t.Fatal(err)
	}
	fix := headerFixture{valid: valid, t: parsed.Timestamp, s: base64.StdEncoding.EncodeToString(parsed.Bytes), sig: parsed.Bytes, now: now}

	var (
		ran      bool
		reported error
	)
	h := kyccb.SEP12(testAddress, testHost, func(context.Context, kyccb.Customer) error { ran = true; return nil },
		kyccb.WithClock(func() time.Time { return now }),
		kyccb.WithErrorHook(func(_ *http.Request, err error) { reported = err }))

	// The fixture itself passes: the mutations are what fails.
	r := httptest.NewRequest(http.MethodPost, "/kyc", strings.NewReader(customerJSON))
	r.Header.Set(kyccb.SignatureHeader, valid)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != http.StatusOK || !ran {
		t.Fatalf("the valid fixture got %d (%v)", rec.Code, reported)
	}

	sentinels := []error{kyccb.ErrMissingSignature, kyccb.ErrMalformedSignature, kyccb.ErrExpired, kyccb.ErrFuture, kyccb.ErrBadSignature}
	seen := make(map[error]int)
	rng := rand.New(rand.NewPCG(5, 2026))
	for i := range n {
		m := headerMutations[rng.IntN(len(headerMutations))]
		header := m.mutate(rng, fix)
		name := kyccb.SignatureHeader
		if rng.IntN(4) == 0 {
			name = kyccb.LegacySignatureHeader
		}
		ran, reported = false, nil
		code := serveRecovering(t, h, name, header)
		if code != http.StatusUnauthorized || ran {
			t.Fatalf("mutation %d (%s) %q: status %d, fn ran %v (%v); want 401", i, m.name, header, code, ran, reported)
		}
		var which error
		for _, s := range sentinels {
			if errors.Is(reported, s) {
				which = s
			}
		}
		if which == nil {
			t.Fatalf("mutation %d (%s) %q: reported %v, want a header, signature or timestamp error", i, m.name, header, reported)
		}
		seen[which]++
	}
	for _, s := range sentinels {
		if seen[s] == 0 {
			t.Errorf("no mutation was rejected with %v: the generator lost a family", s)
		}
	}
	t.Logf("%d mutations rejected: %v", n, seen)
}

// serveRecovering serves one request with the header set raw (values that
// net/http would refuse on the wire included) and turns a panic into a
// test failure that names the header.
func serveRecovering(t *testing.T, h http.Handler, name, value string) (code int) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			t.Fatalf("panic on header %q: %v", value, p)
		}
	}()
	r := httptest.NewRequest(http.MethodPost, "/kyc", strings.NewReader(customerJSON))
	r.Header[name] = []string{value}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec.Code
}

// TestAbuseConcurrent shares one handler of each mode between 32
// goroutines sending valid and invalid callbacks mixed: every request gets
// its own answer, and the function sees exactly the valid ones. Run it
// with -race.
func TestAbuseConcurrent(t *testing.T) {
	const goroutines, perGoroutine = 32, 40

	type request struct {
		id       string // the customer id, unique per request
		header   string // the Signature header, "" for XGateway
		body     string
		wantCode int
	}
	type mode struct {
		name    string
		handler func(record func(id string)) http.Handler
		request func(t *testing.T, id string, kind int) request
	}
	now := signedAt
	modes := []mode{
		{"SEP-12",
			func(record func(string)) http.Handler {
				return kyccb.SEP12(testAddress, testHost, func(_ context.Context, c kyccb.Customer) error { record(c.ID); return nil },
					kyccb.WithClock(func() time.Time { return now }))
			},
			func(t *testing.T, id string, kind int) request {
				body := `{"id":"` + id + `","status":"ACCEPTED"}`
				switch kind {
				case 0:
					return request{id, sign(t, testSeed, testHost, body, now), body, 200}
				case 1: // signed by someone else
					return request{id, sign(t, otherSeed, testHost, body, now), body, 401}
				case 2: // stale
					return request{id, sign(t, testSeed, testHost, body, now.Add(-time.Hour)), body, 401}
				default: // another body than the one signed
					return request{id, sign(t, testSeed, testHost, `{"id":"x","status":"ACCEPTED"}`, now), body, 401}
				}
			},
		},
		{"XGateway",
			func(record func(string)) http.Handler {
				return kyccb.XGateway(testSecret, func(_ context.Context, k kyccb.XGatewayKYC) error { record(k.CustomerID); return nil })
			},
			func(t *testing.T, id string, kind int) request {
				hash := kyccb.XGatewayHash(testSecret, id)
				switch kind {
				case 1:
					hash = kyccb.XGatewayHash("another-secret", id)
				case 2:
					hash = kyccb.XGatewayHash(testSecret, id+"x")
				case 3:
					hash = ""
				}
				body := `{"callbackType":"kyc","customerId":"` + id + `","status":"FULL_USER","hash":"` + hash + `"}`
				code := 200
				if kind != 0 {
					code = 401
				}
				return request{id, "", body, code}
			},
		},
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			var (
				mu       sync.Mutex
				received = make(map[string]int)
			)
			h := m.handler(func(id string) { mu.Lock(); received[id]++; mu.Unlock() })

			// Requests are made up front: signing is not what is tested.
			reqs := make([][]request, goroutines)
			wantReceived := make(map[string]int)
			for g := range reqs {
				for i := range perGoroutine {
					id := fmt.Sprintf("c-%d-%d", g, i)
					rq := m.request(t, id, (g+i)%4)
					reqs[g] = append(reqs[g], rq)
					if rq.wantCode == 200 {
						wantReceived[id] = 1
					}
				}
			}

			var wg sync.WaitGroup
			errs := make(chan string, goroutines*perGoroutine)
			for g := range reqs {
				wg.Go(func() {
					for _, rq := range reqs[g] {
						r := httptest.NewRequest(http.MethodPost, "/cb", strings.NewReader(rq.body))
						if rq.header != "" {
							r.Header.Set(kyccb.SignatureHeader, rq.header)
						}
						rec := httptest.NewRecorder()
						h.ServeHTTP(rec, r)
						if rec.Code != rq.wantCode {
							errs <- fmt.Sprintf("%s: status %d, want %d", rq.id, rec.Code, rq.wantCode)
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for e := range errs {
				t.Error(e)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(received) != len(wantReceived) {
				t.Errorf("fn received %d distinct callbacks, want %d", len(received), len(wantReceived))
			}
			for id, n := range received {
				if wantReceived[id] != n {
					t.Errorf("fn received %s %d times, want %d", id, n, wantReceived[id])
				}
			}
		})
	}
}
