package kyccb

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"
	"unicode/utf8"
)

// Verdict is what a handler did with one request, as [WithObserver] sees
// it.
type Verdict struct {
	// Mode is "sep12" (customer and transaction callbacks alike) or
	// "xgateway".
	Mode string
	// Status is the HTTP status of the reply; in the middleware forms, the
	// status the next handler wrote for a callback it was given.
	Status int
	// Err is nil for a callback that was processed; [ErrDuplicate],
	// [ErrReplay] or [ErrStale] for one answered 200 without processing;
	// and otherwise the reason, matching one of the package's sentinels.
	// It can be set with Status 200 when the [WithDedup] store failed
	// after the function succeeded.
	Err error
	// Duration is the time from the start of the handler to the reply,
	// the callback function (or the next handler) included.
	Duration time.Duration
}

// Outcome names v's result in a word fit for a metric label: "accepted",
// "duplicate", "replay", "stale", or the reason: "method",
// "missing_signature", "malformed_signature", "expired", "future",
// "bad_signature", "missing_hash", "bad_hash", "body_too_large",
// "malformed_body", "unknown_callback_type", "keys_unavailable",
// "in_progress", "store_unavailable", "callback_error", and "error" for
// anything else.
func (v Verdict) Outcome() string {
	if v.Err == nil {
		return "accepted"
	}
	for _, o := range outcomes {
		if errors.Is(v.Err, o.err) {
			return o.name
		}
	}
	return "error"
}

// outcomes is in the order HTTPStatus checks: the function's error first,
// since it may wrap anything.
var outcomes = []struct {
	err  error
	name string
}{
	{ErrCallback, "callback_error"},
	{ErrDuplicate, "duplicate"},
	{ErrReplay, "replay"},
	{ErrStale, "stale"},
	{ErrMethod, "method"},
	{ErrMissingSignature, "missing_signature"},
	{ErrMalformedSignature, "malformed_signature"},
	{ErrExpired, "expired"},
	{ErrFuture, "future"},
	{ErrBadSignature, "bad_signature"},
	{ErrMissingHash, "missing_hash"},
	{ErrBadHash, "bad_hash"},
	{ErrBodyTooLarge, "body_too_large"},
	{ErrMalformedBody, "malformed_body"},
	{ErrUnknownCallbackType, "unknown_callback_type"},
	{ErrKeysUnavailable, "keys_unavailable"},
	{ErrDuplicateInProgress, "in_progress"},
	{ErrStoreUnavailable, "store_unavailable"},
}

// WithObserver sets a function that sees every verdict of a handler:
// callbacks processed, redeliveries, every rejection and every failure,
// with the mode and the time taken, for metrics and alerts ("every
// callback rejected since 10:32"). It runs on the request's goroutine after
// the reply is written, so keep it quick; it must be safe for concurrent
// use. It does not change what is logged.
func WithObserver(fn func(*http.Request, Verdict)) Option {
	return func(c *config) {
		if fn == nil {
			c.fail("WithObserver: nil function")
			return
		}
		c.observer = fn
	}
}

// observe passes the verdict on a request that started at start to the
// observer, if there is one.
func (c *config) observe(r *http.Request, mode string, code int, err error, start time.Time) {
	if c.observer != nil {
		c.observer(r, Verdict{Mode: mode, Status: code, Err: err, Duration: time.Since(start)})
	}
}

// start returns the time a request started, when an observer will want it.
func (c *config) start() time.Time {
	if c.observer == nil {
		return time.Time{}
	}
	return time.Now()
}

// report passes err, the reason for a reply with status code, to the hook
// and the logger, independently: a hook added for metrics does not turn
// the log off.
func (c *config) report(r *http.Request, mode string, code int, err error) {
	if c.onError != nil {
		c.onError(r, err)
	}
	l := c.logger
	if l == nil {
		l = slog.Default()
	}
	// Failures of callbacks that passed authentication have a budget of
	// their own, so that a flood of forgeries, which anyone can send,
	// cannot keep them out of the log.
	budget := c.rejections
	if authenticated(err) {
		budget = c.failures
	}
	level, msg := slog.LevelWarn, "kyccb: callback rejected"
	switch {
	case errors.Is(err, ErrDuplicateInProgress):
		// The sender's retry will be processed: routine, not a failure.
		level, msg = slog.LevelDebug, "kyccb: callback deferred while another delivery for its customer runs"
	case errors.Is(err, ErrStale):
		level, msg = slog.LevelDebug, "kyccb: callback older than the transaction status applied, not processed"
	case errors.Is(err, ErrReplay):
		level, msg = slog.LevelDebug, "kyccb: signed request already processed, not processed again"
	case code >= 500:
		level, msg = slog.LevelError, "kyccb: callback failed"
	case code < 300:
		msg = "kyccb: callback processed with a store failure"
	}
	if !l.Enabled(r.Context(), level) || !budget.allow(l) {
		return
	}
	// The path and the remote address say which endpoint and which peer.
	// Both are request data (a proxy middleware may set RemoteAddr from a
	// header): they go in attributes, which slog's handlers quote and
	// escape, and are cut to a bounded length. The path is logged in its
	// escaped form, which is printable ASCII.
	l.LogAttrs(r.Context(), level, msg, slog.String("mode", mode), slog.Int("status", code),
		slog.String("path", bounded(r.URL.EscapedPath(), maxLoggedPath)),
		slog.String("remote", bounded(r.RemoteAddr, maxLoggedRemote)),
		slog.String("reason", err.Error()))
}

// authenticated reports whether err, a reason report was given, is about
// a callback that passed authentication: the function failed, the dedup
// store failed, or another delivery for the customer is running. No forged
// request can produce these.
func authenticated(err error) bool {
	return errors.Is(err, ErrCallback) || errors.Is(err, ErrStoreUnavailable) || errors.Is(err, ErrDuplicateInProgress)
}

// How much of a request's path and remote address a log record keeps.
const (
	maxLoggedPath   = 200
	maxLoggedRemote = 64
)

// bounded returns s cut to at most n bytes, on a character boundary, with
// "..." after what was cut.
func bounded(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

// Logging limits: at most logBurst records per logWindow for rejections,
// and as many again for failures of authenticated callbacks. A variable
// so that tests can shorten it.
var logWindow = 10 * time.Second

const logBurst = 5

// logBudget limits how many records a handler writes of one kind, so that
// a flood of forged requests cannot flood the log, and says how many it
// left out. A handler has one for rejections and one for failures of
// authenticated callbacks.
type logBudget struct {
	summary string // the message of the record that counts what was left out

	mu      sync.Mutex
	start   time.Time // of the current window
	n       int       // records written in it
	dropped int       // records left out in it
	armed   bool      // a timer will report dropped at the window's end
	logger  *slog.Logger
}

// The summaries of the two budgets.
const (
	rejectionSummary = "kyccb: more callbacks rejected than are logged; they were counted"
	failureSummary   = "kyccb: more callback failures than are logged; they were counted"
)

// allow reports whether one more record may be written to l now.
func (rl *logBudget) allow(l *slog.Logger) bool {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	now := time.Now()
	if now.Sub(rl.start) >= logWindow && !rl.armed {
		rl.start, rl.n = now, 0
	}
	if rl.n < logBurst {
		rl.n++
		return true
	}
	rl.dropped++
	if !rl.armed {
		rl.armed, rl.logger = true, l
		time.AfterFunc(rl.start.Add(logWindow).Sub(now), rl.flush)
	}
	return false
}

// flush writes one record saying how many were left out, and opens a new
// window.
func (rl *logBudget) flush() {
	rl.mu.Lock()
	n, l, window := rl.dropped, rl.logger, logWindow
	rl.dropped, rl.armed, rl.n, rl.start = 0, false, 0, time.Now()
	rl.mu.Unlock()
	l.LogAttrs(context.Background(), slog.LevelWarn, rl.summary,
		slog.Int("not_logged", n), slog.Duration("within", window))
}
