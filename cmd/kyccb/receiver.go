package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kyccb/kyccb"
	"github.com/kyccb/kyccb/internal/httpx"
	"github.com/kyccb/kyccb/internal/wire"
)

// receiverConfig configures the verifying receiver that listen and demo run.
type receiverConfig struct {
	mode      string          // "sep12" or "xgateway"
	keys      kyccb.KeySource // SEP-12: the trusted signing keys
	host      string          // SEP-12: the host of the registered callback URL
	tolerance time.Duration   // SEP-12; 0 for kyccb.DefaultTolerance
	secret    string          // XGateway: the merchant secret
	forward   string          // where verified callbacks go on to, "" for nowhere
	client    *http.Client    // for forwarding; nil for a default one
	diagnose  string          // diagnoseCheap ("" too), diagnoseAll or diagnoseOff
	dedup     kyccb.Store     // kyccb.WithDedup's store (demo), nil for none (listen)
	now       func() time.Time
	// onReport receives the verdict on every request, before the reply is
	// sent. It must be safe for concurrent use.
	onReport func(*report)
}

// The diagnosis of a rejection tries the usual mistakes against the
// evidence: for a wrong signature, some 600 timestamps and a dozen forms
// of the body under every key, each an ed25519 verification over the whole
// body. That is a debugging aid for the person running listen, and nobody
// else may make it run at will: the library's own checks answer a forged
// request in microseconds, and listen's reply must cost about as little.
// So by default (--diagnose=cheap) a rejection is diagnosed only when its
// body is at most cheapBodyBytes, and at most diagnosisBurst at once and
// diagnosesPerSecond on average; the others get a line saying the
// diagnosis was skipped and why. --diagnose=all diagnoses every rejection,
// --diagnose=off none (the library's reason remains).
const (
	diagnoseCheap = "cheap"
	diagnoseAll   = "all"
	diagnoseOff   = "off"

	cheapBodyBytes     = 64 << 10 // real callbacks are a few kilobytes
	diagnosesPerSecond = 5
	diagnosisBurst     = 10
)

// The diagnosis lines of a rejection that was not diagnosed.
var (
	skippedRateLimit = fmt.Sprintf("diagnosis skipped (rate limit): more than %d rejections a second; --diagnose=all explains every one", diagnosesPerSecond)
	skippedLargeBody = fmt.Sprintf("diagnosis skipped (body over %d KiB): real callbacks are a few kilobytes; --diagnose=all explains it anyway", cheapBodyBytes>>10)
	bodyCutShort     = "the body could not be read in full: the sender stopped sending it, or sent it too slowly for the server's read timeout"
)

// forwardHeaders are the only headers of a verified callback that reach
// the app behind --forward, besides X-Forwarded-For (the sender's address
// as listen saw it), X-Forwarded-Host (SEP-12: listen's host, the one
// signed) and the Content-Length of the body. The signature
// covers the body, the host and the time, never the other headers: they
// are the sender's unauthenticated words, and the app would take them as
// coming from a trusted proxy. Hop-by-hop headers (RFC 9110, section
// 7.6.1) belong to the connection to listen, and client-supplied
// X-Forwarded-*, X-Real-Ip and Forwarded would let the sender choose the
// address the app logs. A header named in Connection is hop-by-hop, and
// dropped even if listed here.
var forwardHeaders = []string{"Content-Type", "Signature", "X-Stellar-Signature", "User-Agent"}

// forwardTimeout bounds a forwarded request: within the server's
// WriteTimeout, which runs from the end of the request's headers, once the
// body has come (at most its ReadTimeout).
const forwardTimeout = 15 * time.Second

// receiver verifies callbacks on any path with the library's middleware,
// reports every verdict with its diagnosis, and answers the sender: 200,
// the library's rejection, or the reply of the app it forwards to.
type receiver struct {
	cfg    receiverConfig
	xgw    *kyccb.XGatewayVerifier
	next   http.Handler // the library's middleware around r.verified
	budget *budget      // diagnoses left, nil for no limit
}

// reqState carries what the library decided about one request from its
// error hook and the next handler back to ServeHTTP.
type reqState struct {
	err     error
	body    []byte // the body the library authenticated
	forward *forwardResult
}

type stateKey struct{}

func newReceiver(cfg receiverConfig) (*receiver, error) {
	if cfg.now == nil {
		cfg.now = time.Now
	}
	if cfg.tolerance == 0 {
		cfg.tolerance = kyccb.DefaultTolerance
	}
	if cfg.client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		// No Accept-Encoding of our own: the app gets forwardHeaders only,
		// and its reply goes back to the sender as it came.
		tr.DisableCompression = true
		cfg.client = &http.Client{
			Transport: tr,
			Timeout:   forwardTimeout,
			// The sender gets the app's redirect as it is.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if cfg.forward != "" {
		u, err := url.Parse(cfg.forward)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("%w: --forward must be an http or https URL", errUsage)
		}
	}
	r := &receiver{cfg: cfg}
	switch cfg.diagnose {
	case "", diagnoseCheap:
		r.cfg.diagnose = diagnoseCheap
		r.budget = newBudget(diagnosesPerSecond, diagnosisBurst)
	case diagnoseAll, diagnoseOff:
	default:
		return nil, fmt.Errorf("%w: --diagnose must be cheap, all or off, not %q", errUsage, cfg.diagnose)
	}
	opts := []kyccb.Option{
		kyccb.WithClock(cfg.now),
		// listen prints every verdict itself; the library's log would
		// repeat them on stderr.
		kyccb.WithLogger(slog.New(slog.DiscardHandler)),
		kyccb.WithErrorHook(func(req *http.Request, err error) {
			if st, ok := req.Context().Value(stateKey{}).(*reqState); ok {
				st.err = err
			}
		}),
	}
	if cfg.dedup != nil {
		opts = append(opts, kyccb.WithDedup(cfg.dedup),
			// A redelivery reaches the observer only, not the error hook.
			kyccb.WithObserver(func(req *http.Request, v kyccb.Verdict) {
				if st, ok := req.Context().Value(stateKey{}).(*reqState); ok && errors.Is(v.Err, kyccb.ErrDuplicate) {
					st.err = v.Err
				}
			}))
	}
	verified := http.HandlerFunc(r.verified)
	switch cfg.mode {
	case "sep12":
		v, err := kyccb.NewSEP12Verifier(cfg.keys, cfg.host, append(opts, kyccb.WithTolerance(cfg.tolerance))...)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", errUsage, err)
		}
		host, err := wire.CallbackHost(cfg.host)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", errUsage, err)
		}
		r.cfg.host, r.next = host, v.Middleware(verified)
	case "xgateway":
		v, err := kyccb.NewXGatewayVerifier(cfg.secret, opts...)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", errUsage, err)
		}
		r.xgw, r.next = v, v.Middleware(verified)
	default:
		return nil, fmt.Errorf("%w: unknown mode %q (sep12 or xgateway)", errUsage, cfg.mode)
	}
	return r, nil
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The library checks the header (SEP-12: presence, syntax, freshness)
	// before it reads the body, and reads at most its limit. A copy of what
	// it reads, up to what a diagnosis may look at, is kept for the report.
	if r.Body == nil {
		r.Body = http.NoBody
	}
	limit := cheapBodyBytes
	if rc.cfg.diagnose == diagnoseAll {
		limit = kyccb.DefaultMaxBodyBytes
	}
	cp := &bodyCopy{r: r.Body, limit: limit}
	r.Body = readCloser{cp, r.Body}
	st := &reqState{}
	r = r.WithContext(context.WithValue(r.Context(), stateKey{}, st))

	// The reply is held back until the verdict is reported, so whoever
	// sent the callback finds it reported when the reply arrives. (listen's
	// onReport waits for its line only while stdout keeps up: see output.)
	rec := &heldReply{header: http.Header{}}
	rc.next.ServeHTTP(rec, r)
	rep := rc.report(r, st, cp)
	rep.HTTPStatus = rec.code
	if rc.cfg.onReport != nil {
		rc.cfg.onReport(rep)
	}
	rec.sendTo(w)
}

// verified runs for callbacks the library authenticated.
func (rc *receiver) verified(w http.ResponseWriter, r *http.Request) {
	st, _ := r.Context().Value(stateKey{}).(*reqState)
	body := kyccb.RawBody(r.Context())
	st.body = body
	if rc.cfg.mode == "sep12" {
		// The middleware refused anything but a JSON object and leaves
		// decoding to its next handler; refuse what kyccb's handlers would.
		if _, err := decodeSEP12Callback(body); err != nil {
			st.err = err
			http.Error(w, http.StatusText(http.StatusBadRequest), http.StatusBadRequest)
			return
		}
	}
	if rc.cfg.forward == "" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
		return
	}
	st.forward = rc.forwardTo(w, r, body)
}

// forwardTo passes a verified callback to the user's app, body byte for
// byte with the headers of forwardHeaders, and answers the sender with
// the app's reply, so that the sender retries when the app fails.
func (rc *receiver) forwardTo(w http.ResponseWriter, r *http.Request, body []byte) *forwardResult {
	res := &forwardResult{URL: displayURL(rc.cfg.forward)}
	req, err := http.NewRequestWithContext(r.Context(), r.Method, rc.cfg.forward, bytes.NewReader(body))
	if err != nil {
		res.Error = "the --forward URL is unusable"
		http.Error(w, "forwarding failed", http.StatusBadGateway)
		return res
	}
	hop := connectionHeaders(r.Header)
	for _, name := range forwardHeaders {
		if v := r.Header.Values(name); len(v) > 0 && !hop[name] {
			req.Header[name] = slices.Clone(v)
		}
	}
	if _, ok := req.Header["User-Agent"]; !ok {
		// Present but empty: net/http then sends none of its own.
		req.Header["User-Agent"] = nil
	}
	if ip, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		req.Header.Set("X-Forwarded-For", ip)
	}
	if rc.cfg.mode == "sep12" {
		// The host the callback was signed for, the registered URL's:
		// kyccb in the app names it in its diagnosis when the app is
		// configured with its own host instead.
		req.Header.Set("X-Forwarded-Host", rc.cfg.host)
	}
	resp, err := rc.cfg.client.Do(req)
	if err != nil {
		res.Error = httpx.RequestError(err).Error() // without the URL, which may hold a token
		http.Error(w, "forwarding failed", http.StatusBadGateway)
		return res
	}
	defer resp.Body.Close()
	res.HTTPStatus = resp.StatusCode
	if resp.StatusCode == http.StatusUnauthorized && rc.cfg.mode == "sep12" {
		res.Hint = fmt.Sprintf("the app refused a callback listen verified: configure it with host %q, the registered URL's (listen's --host), not its own", rc.cfg.host)
	}
	for _, name := range []string{"Content-Type", "Location", "Retry-After"} {
		if v := resp.Header.Get(name); v != "" {
			w.Header().Set(name, v)
		}
	}
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, io.LimitReader(resp.Body, 1<<20))
	return res
}

// connectionHeaders returns the canonical names listed in h's Connection
// headers: hop-by-hop by RFC 9110, section 7.6.1, whatever their names.
func connectionHeaders(h http.Header) map[string]bool {
	names := map[string]bool{}
	for _, v := range h.Values("Connection") {
		for name := range strings.SplitSeq(v, ",") {
			if name = strings.TrimSpace(name); name != "" {
				names[http.CanonicalHeaderKey(name)] = true
			}
		}
	}
	return names
}

// report describes what happened to r.
func (rc *receiver) report(r *http.Request, st *reqState, cp *bodyCopy) *report {
	now := rc.cfg.now()
	rep := reportFor(rc.cfg.mode, st.err, now)
	rep.Method, rep.Path = r.Method, r.URL.Path
	rep.Forward = st.forward
	body, complete := st.body, true
	if st.body == nil && st.err != nil {
		body, complete = cp.rest(st.err)
	}
	switch rc.cfg.mode {
	case "sep12":
		rep.Host = rc.cfg.host
		rep.addSignature(r.Header, now)
		rep.addSEP12(body)
	case "xgateway":
		var cb *kyccb.XGatewayCallback
		if st.err == nil {
			if c, err := rc.xgw.Verify(body); err == nil {
				cb = &c
			}
		}
		rep.addXGateway(cb, body)
	}
	if st.err != nil {
		rep.Diagnosis = rc.diagnose(r, st.err, body, complete, cp.overflow, now)
	}
	return rep
}

// diagnose explains the rejection of r for err, within the limits of
// rc.cfg.diagnose. body is what was kept of r's body: all of it when
// complete, else its first bytes, more than cheapBodyBytes of them when
// overflow.
func (rc *receiver) diagnose(r *http.Request, err error, body []byte, complete, overflow bool, now time.Time) []string {
	if rc.cfg.diagnose == diagnoseOff {
		return nil
	}
	if lines, ok := diagnoseCommon(err, r.Method); ok {
		return lines // fixed text, nothing tried
	}
	if errors.Is(err, kyccb.ErrStale) {
		return []string{staleLine(body)} // the body's updated_at, nothing tried
	}
	switch {
	case overflow:
		return []string{skippedLargeBody}
	case !complete:
		return []string{bodyCutShort}
	case rc.budget != nil && !rc.budget.take(time.Now()):
		return []string{skippedRateLimit}
	}
	if rc.cfg.mode == "xgateway" {
		return diagnoseXGateway(rc.cfg.secret, r.Method, body, err)
	}
	keys, _ := rc.cfg.keys.SigningKeys(r.Context())
	return diagnoseSEP12(sep12Evidence{
		keys: keys, host: rc.cfg.host, tolerance: rc.cfg.tolerance, now: now,
		method: r.Method, header: r.Header, body: body, requestHost: r.Host,
	}, err)
}

// bodyCopy passes a request body through, keeping a copy of its first
// limit bytes.
type bodyCopy struct {
	r        io.Reader
	limit    int
	buf      []byte
	overflow bool  // more than limit bytes went by
	eof      bool  // the body was read to its end
	err      error // a read error other than io.EOF
}

func (c *bodyCopy) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if room := c.limit - len(c.buf); n > room {
		c.buf, c.overflow = append(c.buf, p[:max(room, 0)]...), true
	} else {
		c.buf = append(c.buf, p[:n]...)
	}
	switch {
	case err == io.EOF:
		c.eof = true
	case err != nil:
		c.err = err
	}
	return n, err
}

// rest returns the body of a request the library rejected for err, as far
// as it is kept, and whether that is all of it. When the library turned
// the request away before reading the body (a missing or stale
// signature), rest reads it now, up to the copy's limit: a diagnosis may
// need it, the unverified customer is shown from it, and the server would
// read as much to reuse the connection anyway. A body over the library's
// limit is not read.
func (c *bodyCopy) rest(err error) ([]byte, bool) {
	if !c.eof && !c.overflow && c.err == nil && !errors.Is(err, kyccb.ErrBodyTooLarge) {
		io.Copy(io.Discard, io.LimitReader(c, int64(c.limit-len(c.buf)+1)))
	}
	return c.buf, c.eof && !c.overflow
}

// budget is a token bucket: it allows burst events at once and rate a
// second on average. It is safe for concurrent use. (golang.org/x/time/rate
// does this; it is not worth a dependency of the module for one counter.)
type budget struct {
	mu     sync.Mutex
	rate   float64 // tokens a second
	burst  float64
	tokens float64
	last   time.Time
}

func newBudget(rate, burst float64) *budget {
	return &budget{rate: rate, burst: burst, tokens: burst}
}

// take reports whether an event at time now is within the budget, and if
// so counts it.
func (b *budget) take(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.last.IsZero() && now.After(b.last) {
		b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	}
	if b.last.IsZero() || now.After(b.last) {
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

type readCloser struct {
	io.Reader
	io.Closer
}

// heldReply is a reply written in full before it is sent.
type heldReply struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (h *heldReply) Header() http.Header { return h.header }

func (h *heldReply) WriteHeader(code int) {
	if h.code == 0 {
		h.code = code
	}
}

func (h *heldReply) Write(b []byte) (int, error) {
	h.WriteHeader(http.StatusOK)
	return h.body.Write(b)
}

func (h *heldReply) sendTo(w http.ResponseWriter) {
	if h.code == 0 {
		h.code = http.StatusOK
	}
	for name, values := range h.header {
		w.Header()[name] = values
	}
	w.WriteHeader(h.code)
	w.Write(h.body.Bytes())
}

// hostOf returns the host of a URL, or s itself when it is no URL.
func hostOf(s string) string {
	if strings.Contains(s, "://") {
		if u, err := url.Parse(s); err == nil {
			return u.Host
		}
	}
	return s
}
