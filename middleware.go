package kyccb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"
)

// DefaultMaxBodyBytes is the largest body a handler reads unless
// [WithMaxBodyBytes] says otherwise. Real callbacks are a few kilobytes.
const DefaultMaxBodyBytes = 1 << 20

// An Option configures a handler or verifier. Options that do not apply to
// what is being built (a tolerance for XGateway, which has no timestamp)
// make the constructor fail rather than be ignored.
type Option func(*config)

// mode is a set of things an option can configure.
type mode int

const (
	modeSEP12    mode = 1 << iota // SEP-12 handlers and verifiers
	modeXGateway                  // XGateway handlers and verifiers

	modeHandlers = modeSEP12 | modeXGateway
)

var modeNames = []string{"SEP-12", "XGateway"}

func (m mode) String() string {
	var names []string
	for i, n := range modeNames {
		if m&(1<<i) != 0 {
			names = append(names, n)
		}
	}
	if len(names) > 1 {
		return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
	}
	return strings.Join(names, "")
}

type config struct {
	now       func() time.Time
	tolerance time.Duration
	maxBody   int64
	onError   func(*http.Request, error)
	logger    *slog.Logger
	diagnose  bool // someone reads rejection reasons: worth explaining them

	onTransaction func(context.Context, XGatewayTransaction) error
	onBankAccount func(context.Context, XGatewayBankAccount) error

	dedup dedup

	only map[string]mode // option name -> the modes it applies to
	errs []error
}

func (c *config) fail(format string, args ...any) {
	c.errs = append(c.errs, fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...))
}

func (c *config) onlyFor(name string, m mode) {
	if c.only == nil {
		c.only = make(map[string]mode)
	}
	c.only[name] = m
}

func newConfig(m mode, opts []Option) (config, error) {
	c := config{
		now:       time.Now,
		tolerance: DefaultTolerance,
		maxBody:   DefaultMaxBodyBytes,
	}
	for _, o := range opts {
		if o == nil {
			c.fail("nil option")
			continue
		}
		o(&c)
	}
	for name, om := range c.only {
		if om&m == 0 {
			c.fail("%s applies only to %s", name, om)
		}
	}
	c.dedup.check(&c)
	c.diagnose = c.onError != nil || c.logger != nil
	return c, errors.Join(c.errs...)
}

// WithClock sets the clock SEP-12 timestamps are checked against. The
// default is [time.Now].
func WithClock(now func() time.Time) Option {
	return func(c *config) {
		c.onlyFor("WithClock", modeHandlers)
		if now == nil {
			c.fail("WithClock: nil clock")
			return
		}
		c.now = now
	}
}

// WithTolerance sets how far a SEP-12 signature's timestamp may be from the
// clock, in the past or the future; an age equal to d is accepted. The
// default is [DefaultTolerance]. It must be positive, and applies only to
// SEP-12.
func WithTolerance(d time.Duration) Option {
	return func(c *config) {
		c.onlyFor("WithTolerance", modeSEP12)
		if d <= 0 {
			c.fail("WithTolerance: tolerance must be positive")
			return
		}
		c.tolerance = d
	}
}

// WithMaxBodyBytes sets the largest body a handler reads; a longer one is
// answered 413 without being read further. The default is
// [DefaultMaxBodyBytes]. It must be positive, and applies only to handlers
// and verifiers.
func WithMaxBodyBytes(n int64) Option {
	return func(c *config) {
		c.onlyFor("WithMaxBodyBytes", modeHandlers)
		if n <= 0 {
			c.fail("WithMaxBodyBytes: limit must be positive")
			return
		}
		c.maxBody = n
	}
}

// WithErrorHook sets a function called with the request and the reason
// whenever a handler rejects a callback or the callback function fails,
// and when the [WithDedup] store fails even though the reply is 200. The
// reason matches one of the package's sentinel errors and may carry a
// diagnosis. The hook runs on the request's goroutine just before the reply
// is written (in the middleware forms, a store failure known only once
// next has replied is reported after), so keep it quick; it must be safe
// for concurrent use. It applies only to handlers and verifiers.
func WithErrorHook(hook func(*http.Request, error)) Option {
	return func(c *config) {
		c.onlyFor("WithErrorHook", modeHandlers)
		if hook == nil {
			c.fail("WithErrorHook: nil hook")
			return
		}
		c.onError = hook
	}
}

// WithLogger logs every rejection at level Warn and every failure of the
// callback function at level Error, with the reply status and the reason.
// By default nothing is logged. It applies only to handlers and verifiers.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		c.onlyFor("WithLogger", modeHandlers)
		if l == nil {
			c.fail("WithLogger: nil logger")
			return
		}
		c.logger = l
	}
}

// WithXGatewayTransaction makes an XGateway handler pass verified
// transaction callbacks to fn. Without it they are verified and answered
// 200 without further action. It applies only to XGateway.
func WithXGatewayTransaction(fn func(context.Context, XGatewayTransaction) error) Option {
	return func(c *config) {
		c.onlyFor("WithXGatewayTransaction", modeXGateway)
		if fn == nil {
			c.fail("WithXGatewayTransaction: nil function")
			return
		}
		c.onTransaction = fn
	}
}

// WithXGatewayBankAccount makes an XGateway handler pass verified bank
// account callbacks to fn. Without it they are verified and answered 200
// without further action. It applies only to XGateway.
func WithXGatewayBankAccount(fn func(context.Context, XGatewayBankAccount) error) Option {
	return func(c *config) {
		c.onlyFor("WithXGatewayBankAccount", modeXGateway)
		if fn == nil {
			c.fail("WithXGatewayBankAccount: nil function")
			return
		}
		c.onBankAccount = fn
	}
}

// SEP12 returns a handler for SEP-12 customer callbacks signed by the anchor
// whose SIGNING_KEY is signingKey (a "G..." public key from its
// stellar.toml), sent to the callback URL registered at host (a host,
// host:port, or the callback URL itself; never taken from the request).
// Each authenticated callback is decoded and passed to fn with the request's
// context.
//
// The handler replies 200 when fn returns nil; 401 when the signature is
// missing, malformed, stale, from the future or wrong; 400 when the body is
// not a JSON object; 405 for methods other than POST; 413 past the body
// limit; 500 when fn returns an error, so the anchor retries; 503 for the
// duplicates described at [WithDedup]. Header and timestamp are checked
// before the body is read.
//
// SEP12 panics if signingKey, host or an option is unusable, as
// [http.ServeMux.Handle] does for a bad pattern; [NewSEP12Verifier] returns
// the error instead. The handler is safe for concurrent use.
func SEP12(signingKey, host string, fn func(context.Context, Customer) error, opts ...Option) http.Handler {
	return mustSEP12Verifier("SEP12", signingKey, host, opts).Handler(fn)
}

// SEP12Middleware returns middleware that authenticates SEP-12 callbacks as
// [SEP12] does and calls next with the body restored byte for byte, for
// callers who decode it themselves. It panics on the same errors as SEP12.
func SEP12Middleware(signingKey, host string, opts ...Option) func(http.Handler) http.Handler {
	return mustSEP12Verifier("SEP12Middleware", signingKey, host, opts).Middleware
}

func mustSEP12Verifier(caller, signingKey, host string, opts []Option) *SEP12Verifier {
	keys, err := ParseKeys(signingKey)
	if err != nil {
		panic("kyccb." + caller + ": " + err.Error())
	}
	v, err := NewSEP12Verifier(keys, host, opts...)
	if err != nil {
		panic("kyccb." + caller + ": " + err.Error())
	}
	return v
}

// Handler returns a handler that authenticates SEP-12 callbacks with v and
// passes each decoded [Customer] to fn, replying as described at [SEP12].
// It panics if fn is nil.
func (v *SEP12Verifier) Handler(fn func(context.Context, Customer) error) http.Handler {
	if fn == nil {
		panic("kyccb: nil callback function")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, at, err := v.verifyRequest(w, r)
		if err == nil {
			var c Customer
			if err = decodeObject(body, &c); err == nil {
				callOnce(&v.cfg, w, r, modeSEP12, body, withCallback(r.Context(), body, at), fn, c)
				return
			}
		}
		v.cfg.reply(w, r, err)
	})
}

// Middleware authenticates SEP-12 callbacks with v and calls next with the
// body restored byte for byte; [RawBody] and [SignedAt] work on the
// request's context. Rejected requests get the replies described at [SEP12]
// and never reach next; with [WithDedup], duplicates are answered without
// reaching next.
func (v *SEP12Verifier) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, at, err := v.verifyRequest(w, r)
		if err != nil {
			v.cfg.reply(w, r, err)
			return
		}
		v.cfg.serveOnce(w, restore(r, body, at), modeSEP12, body, next)
	})
}

// verifyRequest does the cheap checks, then reads the body and checks the
// signature. The body is read straight into the signed message after its
// "<t>.<host>." prefix, so it is never copied.
func (v *SEP12Verifier) verifyRequest(w http.ResponseWriter, r *http.Request) ([]byte, time.Time, error) {
	if r.Method != http.MethodPost {
		return nil, time.Time{}, ErrMethod
	}
	sig, err := v.checkHeader(SignatureValue(r.Header), v.cfg.now())
	if err != nil {
		return nil, time.Time{}, err
	}
	msg := make([]byte, 0, len(sig.Timestamp)+len(v.host)+2+bodyHint(r, v.cfg.maxBody))
	msg = signedMessage(msg, sig.Timestamp, v.host, nil)
	prefix := len(msg)
	if msg, err = readBody(w, r, msg, v.cfg.maxBody); err != nil {
		return nil, time.Time{}, err
	}
	var reqHost string
	if v.cfg.diagnose {
		reqHost = r.Host
	}
	if err := v.checkSignature(r.Context(), sig, msg, prefix, reqHost); err != nil {
		return nil, time.Time{}, err
	}
	return msg[prefix:len(msg):len(msg)], sig.Time, nil
}

// bodyPrealloc is the most room made for a body before any of it has
// arrived. A declared length is only a claim: trusting it up to the body
// limit let each connection that sent headers alone hold 1 MiB until
// ReadTimeout. Real callbacks are a few kilobytes and still fit at once;
// longer bodies grow the buffer as their bytes arrive.
const bodyPrealloc = 16 << 10

// bodyHint is how many bytes to make room for before reading the body: one
// more than a declared length, so that the read that finds EOF does not grow
// the buffer, but never more than bodyPrealloc.
func bodyHint(r *http.Request, limit int64) int {
	if r.ContentLength > 0 && r.ContentLength <= limit {
		return int(min(r.ContentLength+1, bodyPrealloc))
	}
	return 512
}

// readBody appends at most limit bytes of r's body to buf. It refuses a
// declared length over the limit without reading anything.
func readBody(w http.ResponseWriter, r *http.Request, buf []byte, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, ErrBodyTooLarge
	}
	if r.Body == nil {
		return buf, nil
	}
	body := http.MaxBytesReader(w, r.Body, limit)
	start := len(buf)
	for {
		if len(buf) == cap(buf) {
			// Double the room as bytes arrive, up to the one byte past
			// the limit that MaxBytesReader reads to tell it is too long.
			buf = slices.Grow(buf, int(max(1, min(int64(len(buf)), limit+1-int64(len(buf)-start)))))
		}
		n, err := body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				return nil, ErrBodyTooLarge
			}
			return nil, fmt.Errorf("%w: reading the body failed", ErrMalformedBody)
		}
	}
}

// restore returns r for the next handler: the body readable again from the
// start and the callback's details on the context.
func restore(r *http.Request, body []byte, signedAt time.Time) *http.Request {
	r = r.WithContext(withCallback(r.Context(), body, signedAt))
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	return r
}

// callFn runs the user's function, marking its error so that the reply is a
// 500 whatever the error wraps.
func callFn[T any](fn func(context.Context, T) error, ctx context.Context, v T) error {
	if err := fn(ctx, v); err != nil {
		return fmt.Errorf("%w: %w", ErrCallback, err)
	}
	return nil
}

// reply reports err, then answers with fixed text for its status. Reporting
// first means a hook has run by the time the sender sees the reply.
func (c *config) reply(w http.ResponseWriter, r *http.Request, err error) {
	c.replyCode(w, r, HTTPStatus(err), err)
}

// replyCode is reply with the status given: err may be a problem that did
// not change the reply, such as a store failure after the function
// succeeded.
func (c *config) replyCode(w http.ResponseWriter, r *http.Request, code int, err error) {
	if err != nil {
		c.report(r, code, err)
	}
	h := w.Header()
	switch code {
	case http.StatusMethodNotAllowed:
		h.Set("Allow", http.MethodPost)
	case http.StatusServiceUnavailable:
		h.Set("Retry-After", "5")
	}
	// Fixed text only: never the reason, which may describe the request.
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	io.WriteString(w, replyText(code))
}

// report passes err, the reason for a reply with status code, to the hook
// and the logger.
func (c *config) report(r *http.Request, code int, err error) {
	if c.onError != nil {
		c.onError(r, err)
	}
	if c.logger != nil {
		level, msg := slog.LevelWarn, "kyccb: callback rejected"
		switch {
		case code >= 500:
			level, msg = slog.LevelError, "kyccb: callback failed"
		case code < 300:
			msg = "kyccb: callback processed with a store failure"
		}
		c.logger.LogAttrs(r.Context(), level, msg, slog.Int("status", code), slog.String("reason", err.Error()))
	}
}

func replyText(code int) string {
	switch code {
	case http.StatusOK:
		return "ok\n"
	case http.StatusUnauthorized:
		return "callback not authenticated\n"
	default:
		return http.StatusText(code) + "\n"
	}
}

type callbackKey struct{}

type callbackInfo struct {
	body     []byte
	signedAt time.Time
}

func withCallback(ctx context.Context, body []byte, signedAt time.Time) context.Context {
	return context.WithValue(ctx, callbackKey{}, &callbackInfo{body: body, signedAt: signedAt})
}

// RawBody returns the exact bytes of the callback being handled, as they
// were authenticated, or nil when ctx is not a callback's. The caller must
// not modify them.
func RawBody(ctx context.Context) []byte {
	if info, ok := ctx.Value(callbackKey{}).(*callbackInfo); ok {
		return info.body
	}
	return nil
}

// SignedAt returns the verified signing time of the SEP-12 callback being
// handled. It reports false for XGateway callbacks, which carry no time,
// and when ctx is not a callback's.
func SignedAt(ctx context.Context) (time.Time, bool) {
	if info, ok := ctx.Value(callbackKey{}).(*callbackInfo); ok && !info.signedAt.IsZero() {
		return info.signedAt, true
	}
	return time.Time{}, false
}
