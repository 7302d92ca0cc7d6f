package localanchor

import (
	"context"
	"net/http"
	"time"

	"github.com/kyccb/kyccb/send"
)

// This file is the only one that knows the library's SEP-12 sender,
// package send: callbacks are signed and retried by the code anchors use.

// attempt is one delivery attempt, as the events report it.
type attempt struct {
	n          int
	statusCode int
	err        error
	retryIn    time.Duration
}

// sendOptions are the sender's settings, taken from the Config.
type sendOptions struct {
	client           *http.Client
	attempts         int
	backoff, longest time.Duration
	now              func() time.Time
}

// deliverer sends signed SEP-12 callbacks with retries.
type deliverer struct {
	seed string
	opts []send.Option
	now  func() time.Time
}

// newDeliverer checks the settings by building a sender once.
func newDeliverer(seed string, o sendOptions) (*deliverer, error) {
	opts := []send.Option{
		send.WithHTTPClient(o.client),
		send.WithAttempts(o.attempts),
		send.WithBackoff(o.backoff, o.longest),
		send.WithClock(o.now),
	}
	if _, err := send.NewSEP12(seed, opts...); err != nil {
		return nil, err
	}
	return &deliverer{seed: seed, opts: opts, now: o.now}, nil
}

// deliver sends body to callbackURL, calling hook after each attempt, and
// returns how many attempts were made and nil once one was delivered.
// Its signatures are made skew after the clock: a duplicate delivery is
// signed a second later than the one before it, as a sender's retry
// would be, so that it is a redelivery the wallet's dedup must answer and
// not a byte-for-byte copy (ed25519 signs the same message alike), which
// the wallet's replay protection answers. A
// sender is built per delivery, since its attempt hook is per sender and
// the events need to know which delivery an attempt belongs to; building
// one costs a seed decoding.
func (d *deliverer) deliver(ctx context.Context, callbackURL string, body []byte, skew time.Duration, hook func(attempt)) (int, error) {
	opts := append(d.opts[:len(d.opts):len(d.opts)], send.WithAttemptHook(func(a send.Attempt) {
		hook(attempt{n: a.N, statusCode: a.StatusCode, err: a.Err, retryIn: a.Delay})
	}))
	if skew != 0 {
		opts = append(opts, send.WithClock(func() time.Time { return d.now().Add(skew) }))
	}
	s, err := send.NewSEP12(d.seed, opts...)
	if err != nil {
		return 0, err
	}
	dl, err := s.Send(ctx, callbackURL, body)
	return len(dl.Attempts), err
}
