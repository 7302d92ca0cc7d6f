package wallet

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/kyccb/kyccb"
)

// DefaultRequestTimeout is how long one HTTP request to an anchor (a
// registration, a stellar.toml fetch) may take, reply included, unless
// [WithRequestTimeout] says otherwise.
const DefaultRequestTimeout = 10 * time.Second

// DefaultRefreshInterval is the least time between two fetches of an
// anchor's stellar.toml by a [TOMLKeys], unless [WithRefreshInterval] says
// otherwise. It bounds what a flood of forged callbacks costs the anchor,
// and how long a rotated key can go unnoticed while such a flood lasts.
const DefaultRefreshInterval = 10 * time.Second

// DefaultMaxKeyAge is how long a [TOMLKeys] trusts a fetched key without
// looking again, unless [WithMaxKeyAge] says otherwise. Without it, a key
// the anchor has withdrawn (because it leaked) would be trusted for as long
// as callbacks signed with it keep verifying.
const DefaultMaxKeyAge = time.Hour

// An Option configures a call to an anchor. [WithHTTPClient] and
// [WithRequestTimeout] apply to every call; [WithRefreshInterval],
// [WithMaxKeyAge] and [WithClock] only to [NewTOMLKeys], and the other
// calls refuse them rather than ignore them. An option given an unusable
// value makes the call fail.
type Option func(*config)

type config struct {
	client  *http.Client // nil: a zero http.Client
	timeout time.Duration
	now     func() time.Time
	refresh time.Duration
	maxAge  time.Duration

	keysOnly []string // the options given that only NewTOMLKeys takes
	errs     []error
}

func (c *config) fail(msg string) {
	c.errs = append(c.errs, fmt.Errorf("%w: %s", kyccb.ErrConfig, msg))
}

// newConfig applies opts for NewTOMLKeys (keys) or for another call.
func newConfig(keys bool, opts []Option) (config, error) {
	c := config{
		timeout: DefaultRequestTimeout,
		now:     time.Now,
		refresh: DefaultRefreshInterval,
		maxAge:  DefaultMaxKeyAge,
	}
	for _, o := range opts {
		if o == nil {
			c.fail("nil option")
			continue
		}
		o(&c)
	}
	if !keys {
		for _, name := range c.keysOnly {
			c.fail(name + " applies only to NewTOMLKeys")
		}
	}
	return c, errors.Join(c.errs...)
}

// httpClient returns a copy of the configured client with the given
// redirect policy.
func (c *config) httpClient(checkRedirect func(*http.Request, []*http.Request) error) *http.Client {
	var hc http.Client
	if c.client != nil {
		hc = *c.client
	}
	hc.CheckRedirect = checkRedirect
	return &hc
}

// WithHTTPClient sets the client requests to the anchor are made with, for
// its transport, proxy or TLS settings. The client is copied, not
// modified: its redirect policy is replaced (registration follows no
// redirect; stellar.toml fetches follow only redirects to https) and
// [WithRequestTimeout] bounds each request. The default is a zero
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

// WithRequestTimeout sets how long one request to the anchor may take,
// reading the reply included. The default is [DefaultRequestTimeout]. It
// must be positive.
func WithRequestTimeout(d time.Duration) Option {
	return func(c *config) {
		if d <= 0 {
			c.fail("WithRequestTimeout: timeout must be positive")
			return
		}
		c.timeout = d
	}
}

// WithRefreshInterval sets the least time between two fetches of the
// stellar.toml by a [TOMLKeys], successful or not. The default is
// [DefaultRefreshInterval]. It must be positive, and applies only to
// [NewTOMLKeys].
func WithRefreshInterval(d time.Duration) Option {
	return func(c *config) {
		c.keysOnly = append(c.keysOnly, "WithRefreshInterval")
		if d <= 0 {
			c.fail("WithRefreshInterval: interval must be positive")
			return
		}
		c.refresh = d
	}
}

// WithMaxKeyAge sets how long a [TOMLKeys] uses a fetched key before it
// fetches the stellar.toml again. The default is [DefaultMaxKeyAge]. It
// must be positive, and applies only to [NewTOMLKeys].
func WithMaxKeyAge(d time.Duration) Option {
	return func(c *config) {
		c.keysOnly = append(c.keysOnly, "WithMaxKeyAge")
		if d <= 0 {
			c.fail("WithMaxKeyAge: age must be positive")
			return
		}
		c.maxAge = d
	}
}

// WithClock sets the clock a [TOMLKeys] measures its refresh interval and
// key age with. The default is [time.Now]. It applies only to
// [NewTOMLKeys].
func WithClock(now func() time.Time) Option {
	return func(c *config) {
		c.keysOnly = append(c.keysOnly, "WithClock")
		if now == nil {
			c.fail("WithClock: nil clock")
			return
		}
		c.now = now
	}
}
