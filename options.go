package kyccb

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"
)

// DefaultMaxBodyBytes is the largest body a handler reads unless
// [WithMaxBodyBytes] says otherwise. Real callbacks are a few kilobytes.
const DefaultMaxBodyBytes = 1 << 20

// An Option configures a verifier and the handlers made from it. Every
// option applies to both modes but [WithTolerance] (SEP-12 only: XGateway
// callbacks carry no time) and [WithXGatewayTransaction] and
// [WithXGatewayBankAccount] (XGateway only); given to the other mode, they
// make the constructor fail rather than be ignored.
type Option func(*config)

type config struct {
	now       func() time.Time
	tolerance time.Duration
	maxBody   int64
	onError   func(*http.Request, error)
	logger    *slog.Logger // nil: slog.Default()
	observer  func(*http.Request, Verdict)

	rejections, failures *logBudget

	onTransaction func(context.Context, XGatewayTransaction) error
	onBankAccount func(context.Context, XGatewayBankAccount) error

	dedup dedup
	// replay remembers the signatures processed by a SEP-12 verifier
	// without a store; nil for XGateway, and with WithDedup, whose store
	// remembers them.
	replay *replayMemory

	sep12Only, xgatewayOnly string // the first option given that fits one mode
	errs                    []error
}

func (c *config) fail(format string, args ...any) {
	c.errs = append(c.errs, configError(format, args...))
}

// newConfig applies opts for a verifier of one mode, "SEP-12" or
// "XGateway".
func newConfig(mode string, opts []Option) (config, error) {
	c := config{
		now:        time.Now,
		tolerance:  DefaultTolerance,
		maxBody:    DefaultMaxBodyBytes,
		rejections: &logBudget{summary: rejectionSummary},
		failures:   &logBudget{summary: failureSummary},
	}
	for _, o := range opts {
		if o == nil {
			c.fail("nil option")
			continue
		}
		o(&c)
	}
	if mode == modeXGateway && c.sep12Only != "" {
		c.fail("%s applies only to SEP-12", c.sep12Only)
	}
	if mode == modeSEP12 && c.xgatewayOnly != "" {
		c.fail("%s applies only to XGateway", c.xgatewayOnly)
	}
	c.dedup.check(&c)
	if mode == modeSEP12 && c.dedup.store == nil {
		c.replay = newReplayMemory(replaySignatures)
	}
	return c, errors.Join(c.errs...)
}

// The modes, as [Verdict.Mode] names them.
const (
	modeSEP12    = "sep12"
	modeXGateway = "xgateway"
)

// WithClock sets the clock SEP-12 timestamps are checked against. The
// default is [time.Now].
func WithClock(now func() time.Time) Option {
	return func(c *config) {
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
		if c.sep12Only == "" {
			c.sep12Only = "WithTolerance"
		}
		if d <= 0 {
			c.fail("WithTolerance: tolerance must be positive")
			return
		}
		c.tolerance = d
	}
}

// WithMaxBodyBytes sets the largest body a handler reads; a longer one is
// answered 413 without being read further. The default is
// [DefaultMaxBodyBytes]. It must be positive.
func WithMaxBodyBytes(n int64) Option {
	return func(c *config) {
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
// diagnosis, built when its Error method is first called. The hook runs on
// the request's goroutine just before the reply is written (in the
// middleware forms, a store failure known only once next has replied is
// reported after), so keep it quick; it must be safe for concurrent use.
//
// The hook does not change what is logged: a handler with a hook still
// logs as [WithLogger] says (to [slog.Default] without it). To log nothing,
// add WithLogger(slog.New(slog.DiscardHandler)).
func WithErrorHook(hook func(*http.Request, error)) Option {
	return func(c *config) {
		if hook == nil {
			c.fail("WithErrorHook: nil hook")
			return
		}
		c.onError = hook
	}
}

// WithLogger sets the logger rejections and failures are logged to: a
// rejection at level Warn, a failure of the callback function or of the
// service (500, 503) at level Error, and a delivery deferred while another
// for the same customer runs at level Debug, each with the mode, the reply
// status, the request's path (escaped, and cut to 200 bytes), its remote
// address and the reason.
//
// Without WithLogger, handlers log to [slog.Default], so that a wrong
// host, a key rotation or a clock problem shows up in the logs rather than
// only as 401s; [WithErrorHook] does not change that. At most five
// rejections are logged every ten seconds, and apart from them at most
// five failures of callbacks that passed authentication (the function's
// errors, the [WithDedup] store's failures), so that a flood of forgeries
// can neither flood the log nor crowd those failures out of it. The rest
// are counted, and one record at the end of the ten seconds says how many
// were left out. To log nothing, pass a logger that discards, such as
// slog.New(slog.DiscardHandler).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l == nil {
			c.fail("WithLogger: nil logger (to log nothing, pass slog.New(slog.DiscardHandler))")
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
		if c.xgatewayOnly == "" {
			c.xgatewayOnly = "WithXGatewayTransaction"
		}
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
		if c.xgatewayOnly == "" {
			c.xgatewayOnly = "WithXGatewayBankAccount"
		}
		if fn == nil {
			c.fail("WithXGatewayBankAccount: nil function")
			return
		}
		c.onBankAccount = fn
	}
}
