package kyccb

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Defaults for [WithDedup].
const (
	// DefaultDedupTTL is how long a processed callback is remembered, so
	// that a later delivery of the same body is answered 200 without
	// running the function again. It outlasts the retries of both senders
	// by far.
	DefaultDedupTTL = 72 * time.Hour

	// DefaultDedupLease is how long one delivery may hold a callback while
	// its function runs. Duplicates that arrive meanwhile are answered 503.
	// If the process dies before the function returns, the lease ends by
	// itself after this long and the sender's next retry runs the function.
	// It is short so that a crashed replica delays a callback by a minute,
	// not by all of a sender's few retries; a function that may run longer
	// needs a longer lease (see [WithDedupLease]).
	DefaultDedupLease = time.Minute
)

// A Store remembers, per customer, the callback body last applied and
// which delivery is processing one now, for [WithDedup].
type Store interface {
	// Reserve takes a lease on key for the duration lease and returns a token no other
	// reservation of any key has. It returns ErrDuplicateInProgress (wrapped or not) if another
	// delivery holds an unexpired lease on key, and ErrDuplicate if fingerprint equals the
	// fingerprint last recorded by Confirm for key and that record has not expired. Taking a
	// lease leaves the applied record as it is. Any other error means the store could not answer.
	Reserve(ctx context.Context, key, fingerprint string, lease time.Duration) (token string, err error)
	// Confirm records fingerprint as the one last applied for key, for ttl, and ends the lease
	// token holds. If another token holds an unexpired lease on key, it changes nothing and
	// returns nil. If no lease is held (it ran out), it records fingerprint anyway.
	Confirm(ctx context.Context, key, token, fingerprint string, ttl time.Duration) error
	// Release ends the lease token holds on key, if it holds one, and leaves the applied record
	// as it was. Otherwise it changes nothing and returns nil.
	Release(ctx context.Context, key, token string) error
}

// dedup is the handler's duplicate suppression; a nil store turns it off.
type dedup struct {
	store    Store
	ttl      time.Duration
	lease    time.Duration
	failOpen bool
	needs    string // the first option given that needs WithDedup
}

// WithDedup makes a handler run its function once for each distinct
// callback, across every handler that shares store. Two deliveries are
// the same callback when they have the same mode and the same body, byte
// for byte: SEP-12 retries are signed anew but carry the same body.
// Callbacks are authenticated first; unauthenticated requests never reach
// the store.
//
// Before the function runs, the delivery takes a lease on the callback
// (see [WithDedupLease]). When the function returns nil the callback is
// recorded as done for [WithDedupTTL]; when it fails, or panics, the lease
// is released so that the sender's retry runs it again. A delivery of a
// callback that is done is answered 200 without running the function; one
// that arrives while another holds the lease is answered 503 with
// Retry-After and reported as [ErrDuplicateInProgress], so the function
// never runs twice at once. When the store fails the callback is refused
// with 503 and reported as [ErrStoreUnavailable], unless
// [WithDedupFailOpen] is given; nothing is lost, since the sender retries.
//
// In the middleware forms the next handler's status decides: 2xx (or
// nothing written) records the callback as done, anything else releases
// it.
//
// Handlers that share a store share its keys: give senders that could send
// byte-identical bodies (two anchors numbering customers alike) stores of
// their own, or key prefixes of their own in a shared store. A genuinely
// repeated callback with an identical body within the TTL is suppressed
// too.
func WithDedup(store Store) Option {
	return func(c *config) {
		c.onlyFor("WithDedup", modeHandlers)
		if store == nil {
			c.fail("WithDedup: nil store")
			return
		}
		c.dedup.store = store
	}
}

// WithDedupTTL sets how long a processed callback is remembered by
// [WithDedup]. The default is [DefaultDedupTTL]. It must be positive and
// no shorter than the lease, and needs WithDedup.
func WithDedupTTL(d time.Duration) Option {
	return func(c *config) {
		c.dedup.need("WithDedupTTL")
		if d <= 0 {
			c.fail("WithDedupTTL: TTL must be positive")
			return
		}
		c.dedup.ttl = d
	}
}

// WithDedupLease sets how long one delivery may hold a callback while its
// function runs, under [WithDedup]. Set it above the longest time the
// function can take: a function still running when its lease ends may run
// beside a retry. The default is [DefaultDedupLease]. It must be positive,
// and needs WithDedup.
func WithDedupLease(d time.Duration) Option {
	return func(c *config) {
		c.dedup.need("WithDedupLease")
		if d <= 0 {
			c.fail("WithDedupLease: lease must be positive")
			return
		}
		c.dedup.lease = d
	}
}

// WithDedupFailOpen makes a handler run its function when the [WithDedup]
// store fails, instead of refusing the callback with 503: a callback is
// then never delayed by the store, but may be processed twice. The store's
// error is reported all the same. It needs WithDedup.
func WithDedupFailOpen() Option {
	return func(c *config) {
		c.dedup.need("WithDedupFailOpen")
		c.dedup.failOpen = true
	}
}

func (d *dedup) need(option string) {
	if d.needs == "" {
		d.needs = option
	}
}

// check fills in defaults and reports options that cannot work together.
func (d *dedup) check(c *config) {
	if d.store == nil {
		if d.needs != "" {
			c.fail("%s needs WithDedup", d.needs)
		}
		return
	}
	if d.ttl == 0 {
		d.ttl = DefaultDedupTTL
	}
	if d.lease == 0 {
		d.lease = DefaultDedupLease
	}
	if d.ttl < d.lease {
		c.fail("WithDedupTTL: TTL %s is shorter than the lease %s", d.ttl, d.lease)
	}
}

// dedupKey returns the store key of body in mode m.
func dedupKey(m mode, body []byte) string {
	sum := sha256.Sum256(body)
	var buf [len("xgateway:") + 2*sha256.Size]byte
	b := append(buf[:0], "sep12:"...)
	if m == modeXGateway {
		b = append(buf[:0], "xgateway:"...)
	}
	return string(hex.AppendEncode(b, sum[:]))
}

// delivery is one request's passage through the store.
type delivery struct {
	d           *dedup
	key         string
	fingerprint string
	token       string // the lease held, or "" when there is none to settle
	// settled is set once the lease is confirmed or released.
	settled bool
	// err is a store failure that did not stop the function (fail open).
	err error
}

// TEMPORARY (h-redis): the lead's dedup.go replaces this. The key is the
// customer for SEP-12 callbacks with an id, else the old body key.
func customerKey(m mode, v any, body []byte) string {
	if c, ok := v.(Customer); ok && c.ID != "" {
		sum := sha256.Sum256([]byte(c.ID))
		return "sep12:id:" + hex.EncodeToString(sum[:])
	}
	return dedupKey(m, body)
}

// begin reserves the callback whose body is body. When the function must
// not run it returns run false and the reason for the reply (nil for a
// processed duplicate, answered 200).
func (d *dedup) begin(ctx context.Context, key string, body []byte) (dl delivery, run bool, reason error) {
	sum := sha256.Sum256(body)
	fp := hex.EncodeToString(sum[:])
	token, err := d.store.Reserve(ctx, key, fp, d.lease)
	switch {
	case err == nil && token != "":
		return delivery{d: d, key: key, fingerprint: fp, token: token}, true, nil
	case errors.Is(err, ErrDuplicate):
		return delivery{}, false, nil
	case errors.Is(err, ErrDuplicateInProgress):
		return delivery{}, false, ErrDuplicateInProgress
	case err == nil:
		err = fmt.Errorf("%w: reserving: the store answered no token", ErrStoreUnavailable)
	default:
		err = fmt.Errorf("%w: reserving: %w", ErrStoreUnavailable, err)
	}
	if d.failOpen {
		return delivery{err: err}, true, nil
	}
	return delivery{}, false, err
}

// settle confirms the lease when the function succeeded and releases it
// otherwise. It returns the store's failure and any kept from begin. The
// request's cancellation does not stop it: a client that went away after
// the function succeeded must not cost the record of it.
func (dl *delivery) settle(ctx context.Context, ok bool) error {
	if dl.token == "" || dl.settled {
		return dl.err
	}
	dl.settled = true
	ctx = context.WithoutCancel(ctx)
	if ok {
		if err := dl.d.store.Confirm(ctx, dl.key, dl.token, dl.fingerprint, dl.d.ttl); err != nil {
			return fmt.Errorf("%w: recording a processed callback (a later identical delivery may run again): %w", ErrStoreUnavailable, err)
		}
		return nil
	}
	if err := dl.d.store.Release(ctx, dl.key, dl.token); err != nil {
		return fmt.Errorf("%w: releasing a failed callback (retries wait for the lease to end): %w", ErrStoreUnavailable, err)
	}
	return nil
}

// abandon releases a lease the function left unsettled by panicking, so
// that the sender's retry does not wait for the lease to end.
func (dl *delivery) abandon(ctx context.Context) {
	dl.settle(ctx, false)
}

// callOnce runs fn with v and replies: directly without dedup, else at
// most once per distinct callback and never twice at once. It is generic
// rather than taking a closure so that the path without dedup allocates
// nothing more.
func callOnce[T any](c *config, w http.ResponseWriter, r *http.Request, m mode, body []byte, ctx context.Context, fn func(context.Context, T) error, v T) {
	if c.dedup.store == nil {
		c.reply(w, r, callFn(fn, ctx, v))
		return
	}
	dl, run, reason := c.dedup.begin(r.Context(), customerKey(m, v, body), body)
	if !run {
		c.reply(w, r, reason)
		return
	}
	defer dl.abandon(r.Context())
	err := callFn(fn, ctx, v)
	code := HTTPStatus(err)
	c.replyCode(w, r, code, joinErrors(err, dl.settle(r.Context(), err == nil)))
}

// serveOnce calls next for a verified request: directly without dedup,
// else at most once per distinct callback, judging next's success by the
// status it writes.
func (c *config) serveOnce(w http.ResponseWriter, r *http.Request, m mode, body []byte, next http.Handler) {
	if c.dedup.store == nil {
		next.ServeHTTP(w, r)
		return
	}
	dl, run, reason := c.dedup.begin(r.Context(), dedupKey(m, body), body)
	if !run {
		c.reply(w, r, reason)
		return
	}
	defer dl.abandon(r.Context())
	sw := &statusWriter{ResponseWriter: w}
	next.ServeHTTP(sw, r)
	code := sw.status()
	// next wrote its own reply; only the store's failures are ours to
	// report.
	if err := dl.settle(r.Context(), code >= 200 && code <= 299); err != nil {
		c.report(r, code, err)
	}
}

func joinErrors(a, b error) error {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	return errors.Join(a, b)
}

// statusWriter records the status the next handler replies with.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	// Informational replies (103 Early Hints) come before the real one.
	if w.code == 0 && code >= 200 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets [http.ResponseController] reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// status is what the client received: 200 when nothing was written, as
// net/http sends then.
func (w *statusWriter) status() int {
	if w.code == 0 {
		return http.StatusOK
	}
	return w.code
}
