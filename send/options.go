package send

import (
	"fmt"
	"net/http"
	"time"

	"github.com/kyccb/kyccb"
)

// DefaultRequestTimeout is how long one delivery attempt may take, reply
// included, unless [WithRequestTimeout] says otherwise.
const DefaultRequestTimeout = 10 * time.Second

// The default backoff: the first retry waits about a second, each next one
// twice as long, none more than half a minute.
const (
	defaultBackoff    = time.Second
	defaultMaxBackoff = 30 * time.Second
)

// An Option configures a [Sender]. Every option applies to both protocols
// except [WithLegacySignatureHeader], which [NewXGateway] refuses: XGateway
// has no signature header. An option given an unusable value makes the
// constructor fail rather than be ignored.
type Option func(*config)

type config struct {
	now        func() time.Time
	client     *http.Client // nil: a zero http.Client
	timeout    time.Duration
	attempts   int // 0: the protocol's own default
	backoff    time.Duration
	maxBackoff time.Duration
	onAttempt  func(Attempt)
	legacy     bool // also send X-Stellar-Signature
	errs       []error
}

func (c *config) fail(msg string) {
	c.errs = append(c.errs, fmt.Errorf("%w: %s", kyccb.ErrConfig, msg))
}

func newConfig(opts []Option) config {
	c := config{
		now:        time.Now,
		timeout:    DefaultRequestTimeout,
		backoff:    defaultBackoff,
		maxBackoff: defaultMaxBackoff,
	}
	for _, o := range opts {
		if o == nil {
			c.fail("nil option")
			continue
		}
		o(&c)
	}
	return c
}

// WithAttempts sets how many times a sender tries to deliver one callback,
// the first attempt included. The default follows the real senders: 4 for
// SEP-12 (the Anchor Platform retries up to 3 times) and 11 for XGateway
// (up to 10 retries). It must be at least 1.
func WithAttempts(n int) Option {
	return func(c *config) {
		if n < 1 {
			c.fail("WithAttempts: at least one attempt is needed")
			return
		}
		c.attempts = n
	}
}

// WithBackoff sets how long a sender waits before retrying: about first
// before the second attempt, twice as long before each next one, never
// more than longest. Each wait is drawn at random between half and all of
// that (jitter, so that many failed deliveries do not all come back at
// once), and is lengthened to a reply's Retry-After, up to longest. The
// default is 1 s up to 30 s. Both must be positive and first at most
// longest.
func WithBackoff(first, longest time.Duration) Option {
	return func(c *config) {
		if first <= 0 || longest < first {
			c.fail("WithBackoff: want 0 < first <= longest")
			return
		}
		c.backoff, c.maxBackoff = first, longest
	}
}

// WithAttemptHook sets a function a sender calls after each attempt, on the
// goroutine that called Send, before waiting to retry. By default attempts
// are only recorded in the [Delivery].
func WithAttemptHook(hook func(Attempt)) Option {
	return func(c *config) {
		if hook == nil {
			c.fail("WithAttemptHook: nil hook")
			return
		}
		c.onAttempt = hook
	}
}

// WithLegacySignatureHeader makes a SEP-12 sender send the signature in
// X-Stellar-Signature too, for receivers that read only the header SEP-12
// has deprecated. By default only Signature is sent, as the Anchor Platform
// does. [NewXGateway] refuses it.
func WithLegacySignatureHeader() Option {
	return func(c *config) { c.legacy = true }
}

// WithHTTPClient sets the client a sender makes its requests with, for its
// transport, proxy or TLS settings. The client is copied, not modified: its
// redirect policy is replaced (a sender follows no redirect) and
// [WithRequestTimeout] bounds each attempt. The default is a zero
// [http.Client], which uses [http.DefaultTransport].
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) {
		if hc == nil {
			c.fail("WithHTTPClient: nil client")
			return
		}
		c.client = hc
	}
}

// WithRequestTimeout sets how long one attempt may take, reading the reply
// included. The default is [DefaultRequestTimeout]. It must be positive.
func WithRequestTimeout(d time.Duration) Option {
	return func(c *config) {
		if d <= 0 {
			c.fail("WithRequestTimeout: timeout must be positive")
			return
		}
		c.timeout = d
	}
}

// WithClock sets the clock a SEP-12 sender signs with, and against which
// a Retry-After date is read. The default is [time.Now].
func WithClock(now func() time.Time) Option {
	return func(c *config) {
		if now == nil {
			c.fail("WithClock: nil clock")
			return
		}
		c.now = now
	}
}
