package kyccb_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kyccb/kyccb"
	"github.com/kyccb/kyccb/internal/wire"
)

// The performance goals are ratios: the SEP-12 and transaction handlers at
// most 1.05x their floor (bare ed25519.Verify plus json.Unmarshal of the
// same body into the typed value), and a stale or malformed request under
// 1/50 of a valid one. BenchmarkRatios
// measures them in one process, alternating the contenders in short rounds
// so that drift on a shared machine hits all alike:
//
//	go test -run '^$' -bench Ratios -benchtime 1x .

// reusableRequest serves the same POST many times without allocating a new
// request per iteration, so that benchmarks measure the handler, not the
// test harness.
type reusableRequest struct {
	r    *http.Request
	body *bytes.Reader
	raw  []byte
}

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }

func newReusableRequest(body []byte, headers map[string]string) *reusableRequest {
	rr := &reusableRequest{raw: body, body: bytes.NewReader(body)}
	rr.r = httptest.NewRequest(http.MethodPost, "/kyc", nil)
	rr.r.Body = readCloser{rr.body}
	rr.r.ContentLength = int64(len(body))
	for k, v := range headers {
		rr.r.Header.Set(k, v)
	}
	return rr
}

func (rr *reusableRequest) serve(h http.Handler, w *discardWriter) {
	rr.body.Reset(rr.raw)
	clear(w.h)
	w.code = 0
	h.ServeHTTP(w, rr.r)
}

// discardWriter is the cheapest ResponseWriter: the server's own costs are
// not the handler's.
type discardWriter struct {
	h    http.Header
	code int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(code int)        { w.code = code }

type benchFixture struct {
	valid, stale, malformed *reusableRequest
	handler                 http.Handler
	floor                   func()
	body                    []byte
	// fresh are valid requests, each with a signature of its own, as the
	// anchor signs every delivery: the handler processes and remembers
	// each (replay protection), where valid again and again is a replay.
	fresh []*reusableRequest
	// freshFloor is the floor of the fresh requests in turn.
	freshFloor func()
	// build returns a verifier like the handler's, with opts added.
	build func(opts ...kyccb.Option) *kyccb.SEP12Verifier
	// handle makes the measured handler of a verifier made by build.
	handle func(*kyccb.SEP12Verifier) http.Handler
}

// freshServer serves fx's fresh requests in turn to a handler of a
// verifier built by fx.build, and empties the verifier's memory of
// signatures each time it starts over (keeping its room, as a memory in
// its steady state does), so that every request is processed and
// remembered.
type freshServer struct {
	fx   *benchFixture
	opts []kyccb.Option
	v    *kyccb.SEP12Verifier
	h    http.Handler
	next int
}

func (f *freshServer) serve(w *discardWriter) {
	if f.h == nil {
		f.v = f.fx.build(f.opts...)
		f.h = f.fx.handle(f.v)
	}
	if f.next == len(f.fx.fresh) {
		kyccb.ForgetReplays(f.v)
		f.next = 0
	}
	f.fx.fresh[f.next].serve(f.h, w)
	f.next++
}

// freshCount is how many distinct requests fresh holds: as many as one
// round of BenchmarkRatios serves each contender, few enough to stay in
// the cache, as the floor's one request does.
const freshCount = 250

func newSEP12Fixture(tb testing.TB) *benchFixture {
	var body []byte
	for _, v := range loadVectors(tb) {
		if v.Name == "needs_info_legacy_header" {
			body = []byte(v.Body)
		}
	}
	now := time.Unix(1700000000, 0)
	sig := sign(tb, testSeed, testHost, string(body), now)
	staleSig := sign(tb, testSeed, testHost, string(body), now.Add(-time.Hour))
	pub := ed25519.PublicKey(mustKey(tb))
	build := func(opts ...kyccb.Option) *kyccb.SEP12Verifier {
		v, err := kyccb.NewSEP12Verifier(kyccb.StaticKeys{pub}, testHost,
			append([]kyccb.Option{kyccb.WithClock(func() time.Time { return now })}, opts...)...)
		if err != nil {
			tb.Fatal(err)
		}
		return v
	}
	h := build().Handler(func(context.Context, kyccb.Customer) error { return nil })
	fresh, freshFloor := freshRequests(tb, body, `","status"`, now, func(b []byte) error {
		var c kyccb.Customer
		return json.Unmarshal(b, &c)
	})

	parsed, err := wire.ParseSignature(sig)
	if err != nil {
		tb.Fatal(err)
	}
	msg := []byte(parsed.Timestamp + "." + testHost + "." + string(body))
	floor := func() {
		if !ed25519.Verify(pub, msg, parsed.Bytes) {
			panic("floor: bad signature")
		}
		var c kyccb.Customer
		if err := json.Unmarshal(body, &c); err != nil {
			panic(err)
		}
	}
	return &benchFixture{
		valid:      newReusableRequest(body, map[string]string{"Signature": sig}),
		stale:      newReusableRequest(body, map[string]string{"Signature": staleSig}),
		malformed:  newReusableRequest(body, map[string]string{"Signature": "t=1700000000, s=!!"}),
		handler:    h,
		floor:      floor,
		body:       body,
		fresh:      fresh,
		freshFloor: freshFloor,
		build:      build,
		handle: func(v *kyccb.SEP12Verifier) http.Handler {
			return v.Handler(func(context.Context, kyccb.Customer) error { return nil })
		},
	}
}

// freshRequests returns freshCount valid requests for body, signed at now,
// each with the four bytes before the end mark counting (an id's last
// digits) so that every one has a signature of its own and the same length
// and work; and their floor in turn: ed25519.Verify and decode.
func freshRequests(tb testing.TB, body []byte, end string, now time.Time, decode func([]byte) error) ([]*reusableRequest, func()) {
	id := bytes.Index(body, []byte(end))
	if id < 4 {
		tb.Fatal("no id to vary in the benchmark's body")
	}
	pub := ed25519.PublicKey(mustKey(tb))
	var fresh []*reusableRequest
	var msgs, sigs, bodies [][]byte
	for i := range freshCount {
		b := bytes.Clone(body)
		copy(b[id-4:id], fmt.Sprintf("%04x", i))
		h := sign(tb, testSeed, testHost, string(b), now)
		fresh = append(fresh, newReusableRequest(b, map[string]string{"Signature": h}))
		p, err := wire.ParseSignature(h)
		if err != nil {
			tb.Fatal(err)
		}
		msgs = append(msgs, []byte(p.Timestamp+"."+testHost+"."+string(b)))
		sigs, bodies = append(sigs, p.Bytes), append(bodies, b)
	}
	next := 0
	return fresh, func() {
		if next == freshCount {
			next = 0
		}
		if !ed25519.Verify(pub, msgs[next], sigs[next]) {
			panic("floor: bad signature")
		}
		if err := decode(bodies[next]); err != nil {
			panic(err)
		}
		next++
	}
}

// newTransactionFixture measures a transaction callback against its floor:
// ed25519.Verify over t.host.body plus json.Unmarshal of the same body into
// the typed value. It also returns a forgery: a well-formed header over
// the same body signed by another key, which no receiver can tell from a
// genuine callback without one ed25519 verification.
func newTransactionFixture(tb testing.TB) (*benchFixture, *reusableRequest) {
	body := []byte(txJSON)
	now := time.Unix(1700000000, 0)
	sig := sign(tb, testSeed, testHost, txJSON, now)
	pub := ed25519.PublicKey(mustKey(tb))
	build := func(opts ...kyccb.Option) *kyccb.SEP12Verifier {
		v, err := kyccb.NewSEP12Verifier(kyccb.StaticKeys{pub}, testHost,
			append([]kyccb.Option{kyccb.WithClock(func() time.Time { return now }), kyccb.WithLogger(slog.New(slog.DiscardHandler))}, opts...)...)
		if err != nil {
			tb.Fatal(err)
		}
		return v
	}
	handle := func(v *kyccb.SEP12Verifier) http.Handler {
		return v.TransactionHandler(func(context.Context, kyccb.Transaction) error { return nil })
	}
	h := handle(build())
	fresh, freshFloor := freshRequests(tb, body, `","kind"`, now, func(b []byte) error {
		var cb struct {
			Transaction kyccb.Transaction `json:"transaction"`
		}
		return json.Unmarshal(b, &cb)
	})
	parsed, err := wire.ParseSignature(sig)
	if err != nil {
		tb.Fatal(err)
	}
	msg := []byte(parsed.Timestamp + "." + testHost + "." + txJSON)
	floor := func() {
		if !ed25519.Verify(pub, msg, parsed.Bytes) {
			panic("floor: bad signature")
		}
		var cb struct {
			Transaction kyccb.Transaction `json:"transaction"`
		}
		if err := json.Unmarshal(body, &cb); err != nil {
			panic(err)
		}
	}
	return &benchFixture{
		valid:      newReusableRequest(body, map[string]string{"Signature": sig}),
		stale:      newReusableRequest(body, map[string]string{"Signature": sign(tb, testSeed, testHost, txJSON, now.Add(-time.Hour))}),
		malformed:  newReusableRequest(body, map[string]string{"Signature": "t=1700000000, s=!!"}),
		handler:    h,
		floor:      floor,
		body:       body,
		fresh:      fresh,
		freshFloor: freshFloor,
		build:      build,
		handle:     handle,
	}, newReusableRequest(body, map[string]string{"Signature": sign(tb, otherSeed, testHost, txJSON, now)})
}

func BenchmarkTransactions(b *testing.B) {
	fx, forged := newTransactionFixture(b)
	w := &discardWriter{h: http.Header{}}
	run := func(rr *reusableRequest, want int) func(*testing.B) {
		return func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				rr.serve(fx.handler, w)
			}
			if w.code != want {
				b.Fatalf("status %d, want %d", w.code, want)
			}
		}
	}
	b.Run("handler", benchFresh(fx, w, 0))
	// The same request again and again: each is a replay, answered
	// without running the function.
	b.Run("replay", run(fx.valid, 200))
	b.Run("floor", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			fx.freshFloor()
		}
	})
	b.Run("stale", run(fx.stale, 401))
	b.Run("malformed", run(fx.malformed, 401))
	b.Run("forged", run(forged, 401))
}

// benchFresh measures fx's handler on its fresh requests in turn, each
// processed and remembered, reporting size bytes per operation when not 0.
func benchFresh(fx *benchFixture, w *discardWriter, size int64) func(*testing.B) {
	return func(b *testing.B) {
		b.ReportAllocs()
		if size > 0 {
			b.SetBytes(size)
		}
		f := &freshServer{fx: fx}
		for b.Loop() {
			f.serve(w)
		}
		if w.code != 200 {
			b.Fatalf("status %d, want 200", w.code)
		}
	}
}

func BenchmarkSEP12(b *testing.B) {
	fx := newSEP12Fixture(b)
	w := &discardWriter{h: http.Header{}}
	run := func(rr *reusableRequest, want int) func(*testing.B) {
		return func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(fx.body)))
			for b.Loop() {
				rr.serve(fx.handler, w)
			}
			if w.code != want {
				b.Fatalf("status %d, want %d", w.code, want)
			}
		}
	}
	b.Run("handler", benchFresh(fx, w, int64(len(fx.body))))
	// The same request again and again: each is a replay, answered
	// without running the function.
	b.Run("replay", run(fx.valid, 200))
	b.Run("floor", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(fx.body)))
		for b.Loop() {
			fx.floor()
		}
	})
	b.Run("stale", run(fx.stale, 401))
	b.Run("malformed", run(fx.malformed, 401))
}

type xgatewayFixture struct {
	valid   *reusableRequest
	handler http.Handler
	floor   func()
}

// xgatewayWireFields is a plain struct of every XGateway wire field, as
// encoding/json decodes it: the floor's decoding.
type xgatewayWireFields struct {
	CallbackType           string            `json:"callbackType"`
	Hash                   string            `json:"hash"`
	ID                     string            `json:"id"`
	CustomerID             string            `json:"customerId"`
	Amount                 string            `json:"amount"`
	Currency               string            `json:"currency"`
	Status                 string            `json:"status"`
	DocsMissing            []json.RawMessage `json:"docsMissing"`
	KYCRejectLabel         string            `json:"kycRejectLabel"`
	KYCEndUserErrorMessage string            `json:"kycEndUserErrorMessage"`
	KYCProcessingStatus    string            `json:"kycProcessingStatus"`
	InvoiceID              string            `json:"invoiceId"`
	OrderID                string            `json:"orderId"`
	Network                string            `json:"network"`
	TransactionHash        string            `json:"transactionHash"`
	Type                   string            `json:"type"`
	ApplicationID          string            `json:"applicationId"`
	Info                   json.RawMessage   `json:"info"`
	Fee                    json.RawMessage   `json:"fee"`
	IBAN                   string            `json:"iban"`
	BIC                    string            `json:"bic"`
	AccountNumber          string            `json:"accountNumber"`
	SortCode               string            `json:"sortCode"`
	Country                string            `json:"country"`
}

// newXGatewayFixture measures a KYC callback against its floor: SHA-512 of
// the hashed fields plus encoding/json decoding the same body into a plain
// struct of its wire fields.
func newXGatewayFixture(tb testing.TB) *xgatewayFixture {
	body := []byte(xgatewayBody(tb, nil))
	h := kyccb.XGateway(testSecret, func(context.Context, kyccb.XGatewayKYC) error { return nil })
	floor := func() {
		var k xgatewayWireFields
		if err := json.Unmarshal(body, &k); err != nil {
			panic(err)
		}
		sum := sha512.Sum512([]byte(k.CustomerID + "." + testSecret))
		if base64.StdEncoding.EncodeToString(sum[:]) != k.Hash {
			panic("floor: bad hash")
		}
	}
	return &xgatewayFixture{valid: newReusableRequest(body, nil), handler: h, floor: floor}
}

// forgedMiB returns a forged SEP-12 request and a forged XGateway request
// of 1 MiB each, and handlers for them: what an attacker with no key or
// secret can make a receiver do.
func forgedMiB(tb testing.TB) (sep12, xgw *reusableRequest, sep12H, xgwH http.Handler) {
	now := time.Unix(1700000000, 0)
	const size = 1 << 20
	// SEP-12: a JSON object padded to 1 MiB, signed by another key.
	pad := strings.Repeat("x", size-len(`{"id":"c-1","status":"ACCEPTED","pad":""}`))
	sbody := []byte(`{"id":"c-1","status":"ACCEPTED","pad":"` + pad + `"}`)
	other := "SBGWSG6BTNCKCOB3DIFBGCVMUPQFYPA2G4O34RMTB343OYPXU5DJDVMN"
	sep12 = newReusableRequest(sbody, map[string]string{"Signature": sign(tb, other, testHost, string(sbody), now)})
	sep12H = kyccb.SEP12(testAddress, testHost, func(context.Context, kyccb.Customer) error { return nil },
		kyccb.WithClock(func() time.Time { return now }), kyccb.WithMaxBodyBytes(2<<20),
		kyccb.WithLogger(slog.New(slog.DiscardHandler)))
	// XGateway: a KYC callback whose docsMissing is empty strings, with a
	// wrong hash: the allocation bomb of the red-team round.
	head := `{"callbackType":"kyc","customerId":"c-1","hash":"` + kyccb.XGatewayHash("not-the-secret", "c-1") + `","docsMissing":[`
	n := (size - len(head) - 2) / 3
	xbody := []byte(head + strings.TrimSuffix(strings.Repeat(`"",`, n), ",") + `]}`)
	xgw = newReusableRequest(xbody, nil)
	xgwH = kyccb.XGateway(testSecret, func(context.Context, kyccb.XGatewayKYC) error { return nil },
		kyccb.WithMaxBodyBytes(2<<20), kyccb.WithLogger(slog.New(slog.DiscardHandler)))
	return sep12, xgw, sep12H, xgwH
}

// BenchmarkForgedMiB compares what a forged 1 MiB body costs in each mode;
// goal: XGateway at most twice SEP-12.
func BenchmarkForgedMiB(b *testing.B) {
	sep12, xgw, sep12H, xgwH := forgedMiB(b)
	w := &discardWriter{h: http.Header{}}
	b.Run("sep12", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sep12.serve(sep12H, w)
		}
	})
	b.Run("xgateway", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			xgw.serve(xgwH, w)
		}
	})
}

func BenchmarkXGateway(b *testing.B) {
	fx := newXGatewayFixture(b)
	w := &discardWriter{h: http.Header{}}
	b.Run("handler", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			fx.valid.serve(fx.handler, w)
		}
		if w.code != 200 {
			b.Fatalf("status %d", w.code)
		}
	})
	b.Run("floor", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			fx.floor()
		}
	})
}

// alternate runs each contender iters times per round, for rounds rounds,
// interleaved, and returns each one's mean time per call.
func alternate(rounds, iters int, contenders ...func()) []time.Duration {
	total := make([]time.Duration, len(contenders))
	for range rounds {
		for i, f := range contenders {
			start := time.Now()
			for range iters {
				f()
			}
			total[i] += time.Since(start)
		}
	}
	for i := range total {
		total[i] /= time.Duration(rounds * iters)
	}
	return total
}

func BenchmarkRatios(b *testing.B) {
	fx := newSEP12Fixture(b)
	xfx := newXGatewayFixture(b)
	tfx, tforged := newTransactionFixture(b)
	fs, fx1, fsH, fxH := forgedMiB(b)
	// The handler with replay protection, on requests signed anew each
	// time; and the same with an observer that counts, as a metrics
	// observer does.
	var seen atomic.Int64
	valid := &freshServer{fx: fx}
	tvalid := &freshServer{fx: tfx}
	observed := &freshServer{fx: fx, opts: []kyccb.Option{kyccb.WithObserver(func(*http.Request, kyccb.Verdict) { seen.Add(1) })}}
	w := &discardWriter{h: http.Header{}}
	for b.Loop() {
		f := alternate(10, 5,
			func() { fs.serve(fsH, w) },
			func() { fx1.serve(fxH, w) },
		)
		b.ReportMetric(float64(f[1])/float64(f[0]), "forged-MiB-xgw/sep12")
		d := alternate(40, freshCount,
			func() { valid.serve(w) },
			fx.freshFloor,
			func() { fx.stale.serve(fx.handler, w) },
			func() { fx.malformed.serve(fx.handler, w) },
			func() { xfx.valid.serve(xfx.handler, w) },
			xfx.floor,
			func() { observed.serve(w) },
			func() { tvalid.serve(w) },
			tfx.freshFloor,
			func() { tfx.stale.serve(tfx.handler, w) },
			func() { tfx.malformed.serve(tfx.handler, w) },
			func() { tforged.serve(tfx.handler, w) },
		)
		b.ReportMetric(float64(d[0].Nanoseconds()), "sep12-ns/op")
		b.ReportMetric(float64(d[1].Nanoseconds()), "sep12-floor-ns/op")
		b.ReportMetric(float64(d[0])/float64(d[1]), "sep12/floor")
		b.ReportMetric(float64(d[2])/float64(d[0]), "stale/valid")
		b.ReportMetric(float64(d[3])/float64(d[0]), "malformed/valid")
		b.ReportMetric(float64(d[4].Nanoseconds()), "xgw-ns/op")
		b.ReportMetric(float64(d[4])/float64(d[5]), "xgw/floor")
		b.ReportMetric(float64(d[6])/float64(d[1]), "sep12-observed/floor")
		b.ReportMetric(float64(d[7].Nanoseconds()), "tx-ns/op")
		b.ReportMetric(float64(d[7])/float64(d[8]), "tx/floor")
		b.ReportMetric(float64(d[9])/float64(d[7]), "tx-stale/valid")
		b.ReportMetric(float64(d[10])/float64(d[7]), "tx-malformed/valid")
		b.ReportMetric(float64(d[11])/float64(d[7]), "tx-forged/valid")
	}
}
