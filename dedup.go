package kyccb

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"time"
)

// Defaults for [WithDedup].
const (
	// DefaultDedupTTL is how long the body last processed for a customer
	// is remembered, so that a later delivery of the same body is answered
	// 200 without running the function again. It outlasts the retries of
	// both senders by far.
	DefaultDedupTTL = 72 * time.Hour

	// DefaultDedupLease is how long one delivery may hold a customer while
	// its function runs. Deliveries for that customer that arrive
	// meanwhile are answered 503. If the process dies before the function
	// returns, the lease ends by itself after this long and the sender's
	// next retry runs the function. It is short so that a crashed replica
	// delays a callback by a minute, not by all of a sender's few retries;
	// a function that may run longer needs a longer lease (see
	// [WithDedupLease]).
	DefaultDedupLease = time.Minute
)

// A Store remembers, for [WithDedup], which customer's callback is being
// processed, which body was last processed for each customer, which signed
// requests were processed, and, for transaction callbacks, the newest
// updated_at applied. [NewMemoryStore] keeps that in the process; a shared
// store (packages github.com/kyccb/kyccb/redisstore and
// github.com/kyccb/kyccb/pgstore) makes several replicas process each
// delivery once between them.
//
// A key names the customer a callback is about (for XGateway, also the
// callback type and the transaction or currency; for SEP-6, SEP-24 and
// SEP-31, the transaction), as an opaque string of at most a hundred ASCII
// bytes. For each key a store keeps, each expiring on its own: a lease,
// held by one delivery while its function runs; the fingerprint last
// applied, with the newest UpdatedAt applied (the watermark), both kept
// for the TTL from the last delivery applied; and the signatures of the
// deliveries applied, each for its own SignatureTTL, which may be longer
// or shorter than that TTL.
//
// Each method must be atomic with respect to the others on the same key,
// also across processes for a shared store: that is what makes two
// concurrent deliveries run the function once. Methods must be safe for
// concurrent use. Any error other than the four below means the store could
// not answer (unreachable, full): the handler then refuses the callback
// with 503, or processes it anyway with [WithDedupFailOpen].
type Store interface {
	// Reserve takes a lease on key for the duration lease and returns a
	// token that no other reservation of any key has. It returns, checked
	// in this order and even while another delivery holds a lease:
	// ErrReplay if d.Signature is not empty and is one recorded for key
	// and not yet expired; ErrDuplicate if d.Fingerprint is the one last
	// applied for key and that record has not expired; ErrStale if
	// d.UpdatedAt is not zero and is before the watermark of key. Otherwise
	// it returns ErrDuplicateInProgress if another delivery holds an
	// unexpired lease on key. Taking a lease leaves the applied record as
	// it is.
	Reserve(ctx context.Context, key string, d Delivery, lease time.Duration) (token string, err error)

	// Confirm records d as applied for key: d.Fingerprint as the one last
	// applied, for ttl; the watermark raised to d.UpdatedAt when that is
	// later (a zero UpdatedAt leaves it), kept for ttl as well; and
	// d.Signature, when neither it nor d.SignatureTTL is zero, for
	// d.SignatureTTL. It ends the lease token holds. If another token holds an
	// unexpired lease on key, it changes nothing and returns nil. If no
	// lease is held (it ran out while the function ran), it records d all
	// the same; a [BindingStore] returns an error instead.
	Confirm(ctx context.Context, key, token string, d Delivery, ttl time.Duration) error

	// Release ends the lease token holds on key, if it holds one, and
	// leaves the applied record as it was; otherwise it changes nothing.
	Release(ctx context.Context, key, token string) error
}

// A Delivery is what a handler tells its [Store] about one authenticated
// callback.
type Delivery struct {
	// Fingerprint names the body: its SHA-256, in hex.
	Fingerprint string

	// Signature names the signed request: the SHA-256, in hex, of the
	// signature's decoded bytes, so that respellings of one signature
	// (base64 alphabets, padding, pair order) are one. It is empty for
	// XGateway callbacks, which carry no signature.
	Signature string

	// SignatureTTL is how long Signature must be remembered: until twice
	// the tolerance after the request was signed. The verifier stops
	// accepting it one tolerance after; the second covers replicas whose
	// clocks are behind this one's.
	SignatureTTL time.Duration

	// UpdatedAt is the updated_at of a SEP-6, SEP-24 or SEP-31
	// transaction callback, which orders two callbacks about one
	// transaction; zero when the body has none or one that is not a time,
	// and for customer callbacks, which carry no time. Stores compare
	// instants, to the nanosecond, whatever the zone.
	UpdatedAt time.Time
}

// A BindingStore is a [Store] that gives the function of each delivery it
// reserved a context of its own. Package github.com/kyccb/kyccb/pgstore is
// one: its Reserve opens a database transaction, the function's context
// carries it, and Confirm commits the function's writes together with the
// record of the delivery, so that both are kept or neither is. A handler
// whose store is a BindingStore therefore answers 503 when Confirm fails,
// so that the sender retries, where other stores answer 200 (the
// function's effect was kept, only its record was lost). For the same
// reason its Confirm returns an error, and records nothing, when the lease
// ran out before it: the function's writes ended with the lease.
type BindingStore interface {
	Store

	// Bind returns the context the function of the delivery that holds
	// token on key runs with, derived from ctx.
	Bind(ctx context.Context, key, token string) context.Context
}

// dedup is the handler's duplicate suppression; a nil store turns it off.
type dedup struct {
	store    Store
	ttl      time.Duration
	lease    time.Duration
	failOpen bool
	needs    string // the first option given that needs WithDedup
}

// WithDedup makes a handler suppress redeliveries: a callback whose body is
// the one last processed for its customer is answered 200 without running
// the function again, across every handler that shares store. Any other
// body is processed, so a genuine return to an earlier status (ACCEPTED,
// NEEDS_INFO, ACCEPTED again) is never lost. SEP-12 retries are signed
// anew but carry the same body.
//
// A callback's customer is, for SEP-12, the body's "id" (for SEP-6,
// SEP-24 and SEP-31 transaction callbacks, the transaction's id; with
// neither, the URL the request was sent to, path and query, for wallets
// that register one URL per customer); for XGateway, the callback type and
// customerId, with the transaction id for transactions and the currency
// for bank accounts.
// Callbacks are authenticated first; unauthenticated requests never reach
// the store.
//
// Before the function runs, the delivery takes a lease on its customer
// (see [WithDedupLease]), so the function never runs twice at once for one
// customer: a delivery that arrives meanwhile is answered 503 with
// Retry-After and reported as [ErrDuplicateInProgress]. When the function
// returns nil the body is recorded as the customer's last applied one for
// [WithDedupTTL]; when it fails, or panics, the lease is released so that
// the sender's retry runs it again. When the store fails the callback is
// refused with 503 and reported as [ErrStoreUnavailable], unless
// [WithDedupFailOpen] is given; nothing is lost, since the sender retries.
//
// In the middleware forms the next handler's status decides: 2xx (or
// nothing written) records the body, anything else releases the lease.
// With a [BindingStore] the next handler's request carries the store's
// context (the database transaction of package pgstore), and its reply is
// held in memory, up to 1 MiB, and sent only after Confirm committed: when
// Confirm fails after a 2xx the sender gets 503 instead, and delivers
// again. Such a handler cannot flush or hijack its reply.
//
// The store also remembers the signature of each SEP-12 request processed
// (see [Delivery]), so that the same request sent again, verbatim or
// respelled, is answered 200 without running the function and reported
// as [ErrReplay], by every handler sharing the store. Without WithDedup a
// SEP-12 verifier remembers them in its own process (see [SEP12]).
//
// Transaction callbacks (SEP-6, SEP-24 and SEP-31) are ordered by their
// transaction's updated_at: one older than the newest applied for its
// transaction is answered 200 without running the function and reported
// as [ErrStale]. One with the same updated_at and another body is
// processed, since the time cannot tell them apart; so is one without
// updated_at, which nothing can order, and, in the middleware form, one
// whose updated_at is not an ISO 8601 time (RFC 3339, or without a zone,
// read as UTC); the typed handlers refuse that one with 400. The newest
// updated_at is kept as long as the body last applied ([WithDedupTTL]);
// after that, an older callback is processed again.
//
// Customer callbacks are not ordered. SEP-12 bodies carry no event time
// and senders sign every retry anew, so an older status that arrives after
// a newer one (a retry that was delayed) is processed as the change it
// looks like. Where the order matters, treat a callback as a prompt to
// read the customer's current status from the anchor (GET /customer) or
// from XGateway's API.
//
// Handlers that share a store share its keys: give senders that could name
// customers alike (two anchors numbering customers from 1) stores of their
// own, or key prefixes of their own in a shared store.
func WithDedup(store Store) Option {
	return func(c *config) {
		if store == nil {
			c.fail("WithDedup: nil store")
			return
		}
		c.dedup.store = store
	}
}

// WithDedupTTL sets how long the body last processed for a customer is
// remembered by [WithDedup]. The default is [DefaultDedupTTL]. It must be
// positive and no shorter than the lease, and needs WithDedup.
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

// WithDedupLease sets how long one delivery may hold its customer while
// the function runs, under [WithDedup]. Set it above the longest time the
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
// error is reported all the same. It needs WithDedup, and a store that is
// not a [BindingStore], whose function writes through the store.
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
	// A BindingStore's function writes through what Bind gives it, which
	// a store that cannot answer cannot give.
	if _, ok := d.store.(BindingStore); ok && d.failOpen {
		c.fail("WithDedupFailOpen: a BindingStore's function needs the store to run")
	}
}

// storeKey returns kind and the SHA-256 of parts, so that a key is short
// and free of the sender's text however long its customer id is.
func storeKey(kind string, parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return kind + ":" + hex.EncodeToString(h.Sum(nil))
}

// sep12Key is the store key of a SEP-12 callback about customer id, or of
// the transaction txID for the SEP-6, SEP-24 and SEP-31 callbacks the
// middleware serves, or, with neither, of the URL it was sent to, path and
// query, for wallets that register one URL per customer.
func sep12Key(id, txID string, r *http.Request) string {
	switch {
	case id != "":
		return storeKey("sep12:id", id)
	case txID != "":
		return storeKey("sep12:transaction", txID)
	}
	return storeKey("sep12:url", r.URL.RequestURI())
}

// callbackIDs returns the "id" of a SEP-12 body that is a valid JSON
// object, and the id and updated_at of its "transaction", "" and zero when
// it has none.
func callbackIDs(body []byte) (id, txID string, updatedAt time.Time) {
	var c struct {
		ID          string `json:"id"`
		Transaction struct {
			ID        string          `json:"id"`
			UpdatedAt json.RawMessage `json:"updated_at"`
		} `json:"transaction"`
	}
	json.Unmarshal(body, &c) // a wrong type leaves "", the URL then serves
	var t wireTime
	t.UnmarshalJSON(c.Transaction.UpdatedAt) // a time in no known format cannot order
	return c.ID, c.Transaction.ID, time.Time(t)
}

// xgatewayKey is the store key of an XGateway callback.
func xgatewayKey(cb XGatewayCallback) string {
	switch {
	case cb.KYC != nil:
		return storeKey("xgateway:kyc", cb.KYC.CustomerID)
	case cb.Transaction != nil:
		return storeKey("xgateway:transaction", cb.Transaction.CustomerID, cb.Transaction.ID)
	case cb.BankAccount != nil:
		return storeKey("xgateway:bank_account", cb.BankAccount.CustomerID, cb.BankAccount.Currency)
	}
	return ""
}

// xgatewayDelivery describes an XGateway callback for the store: its
// fingerprint, which only a store needs. XGateway signs nothing and sends
// no time.
func (c *config) xgatewayDelivery(body []byte) Delivery {
	if c.dedup.store == nil {
		return Delivery{}
	}
	return Delivery{Fingerprint: fingerprint(body)}
}

func fingerprint(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

// delivery is one request's passage through the store.
type delivery struct {
	d     *dedup
	key   string
	dv    Delivery
	token string // the lease held, or "" when there is none to settle
	// settled is set once the lease is confirmed or released.
	settled bool
	// err is a store failure that did not stop the function (fail open).
	err error
}

// storeAnswers are the errors of [Store.Reserve] that are answers, not
// failures.
var storeAnswers = [...]error{ErrReplay, ErrDuplicate, ErrStale, ErrDuplicateInProgress}

// begin reserves key for the delivery dv. When the function must not run
// it returns run false and the reason for the reply: ErrDuplicate for a
// redelivery, ErrReplay for a request processed before and ErrStale for an
// older transaction status, each answered 200.
func (d *dedup) begin(ctx context.Context, key string, dv Delivery) (dl delivery, run bool, reason error) {
	token, err := d.store.Reserve(ctx, key, dv, d.lease)
	if err == nil && token != "" {
		return delivery{d: d, key: key, dv: dv, token: token}, true, nil
	}
	for _, answer := range storeAnswers {
		if errors.Is(err, answer) {
			// The sentinel itself: a store's wrapping is not the reply's.
			return delivery{}, false, answer
		}
	}
	if err == nil {
		err = fmt.Errorf("%w: reserving: the store answered an empty token", ErrStoreUnavailable)
	} else {
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
		if err := dl.d.store.Confirm(ctx, dl.key, dl.token, dl.dv, dl.d.ttl); err != nil {
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

// callOnce runs fn with v and replies: without dedup, unless the verifier
// remembers dv's signature as processed, remembering it when fn succeeds;
// with dedup, at most once per distinct body of a customer, never for a
// replayed or stale delivery, and never twice at once for one customer.
// It is generic rather than taking a closure so that the path without
// dedup allocates nothing more.
func callOnce[T any](c *config, w http.ResponseWriter, r *http.Request, mode, key string, dv Delivery, ctx context.Context, fn func(context.Context, T) error, v T, start time.Time) {
	if c.dedup.store == nil {
		if c.replay.seen(dv.Signature) {
			c.reply(w, r, mode, ErrReplay, start)
			return
		}
		err := callFn(fn, ctx, v)
		if err == nil {
			c.replay.remember(dv.Signature, dv.SignatureTTL, c.now())
		}
		c.reply(w, r, mode, err, start)
		return
	}
	dl, run, reason := c.dedup.begin(r.Context(), key, dv)
	if !run {
		c.reply(w, r, mode, reason, start)
		return
	}
	defer dl.abandon(r.Context())
	if b, ok := c.dedup.store.(BindingStore); ok && dl.token != "" {
		ctx = b.Bind(ctx, key, dl.token)
	}
	err := callFn(fn, ctx, v)
	serr := dl.settle(r.Context(), err == nil)
	code := HTTPStatus(err)
	if _, ok := c.dedup.store.(BindingStore); ok && err == nil && serr != nil {
		// The function's writes were not committed with the record: the
		// sender must deliver again.
		code = http.StatusServiceUnavailable
	}
	c.replyCode(w, r, mode, code, joinErrors(err, serr), start)
}

// serveOnce calls next for a verified request as callOnce runs a
// function, judging next's success by the status it writes: 2xx, or
// nothing written.
func (c *config) serveOnce(w http.ResponseWriter, r *http.Request, mode, key string, dv Delivery, next http.Handler, start time.Time) {
	if c.dedup.store == nil && c.observer == nil && c.replay == nil {
		next.ServeHTTP(w, r)
		return
	}
	if c.dedup.store == nil && c.replay.seen(dv.Signature) {
		c.reply(w, r, mode, ErrReplay, start)
		return
	}
	sw := &statusWriter{ResponseWriter: w}
	if c.dedup.store == nil {
		next.ServeHTTP(sw, r)
		code := sw.status()
		if code >= 200 && code <= 299 {
			c.replay.remember(dv.Signature, dv.SignatureTTL, c.now())
		}
		c.observe(r, mode, code, nil, start)
		return
	}
	dl, run, reason := c.dedup.begin(r.Context(), key, dv)
	if !run {
		c.reply(w, r, mode, reason, start)
		return
	}
	defer dl.abandon(r.Context())
	if b, ok := c.dedup.store.(BindingStore); ok && dl.token != "" {
		c.serveBound(w, r.WithContext(b.Bind(r.Context(), key, dl.token)), mode, &dl, next, start)
		return
	}
	next.ServeHTTP(sw, r)
	code := sw.status()
	// next wrote its own reply; only the store's failures are ours to
	// report.
	err := dl.settle(r.Context(), code >= 200 && code <= 299)
	if err != nil {
		c.report(r, mode, code, err)
	}
	c.observe(r, mode, code, err, start)
}

// serveBound is serveOnce for a [BindingStore], which commits next's
// writes in Confirm: next's reply is held until then, so that the sender
// never sees a 2xx for writes that were not kept. When Confirm fails after
// a 2xx the sender gets 503 instead, and delivers again.
func (c *config) serveBound(w http.ResponseWriter, r *http.Request, mode string, dl *delivery, next http.Handler, start time.Time) {
	hw := &heldWriter{header: make(http.Header)}
	next.ServeHTTP(hw, r)
	code := hw.status()
	ok := code >= 200 && code <= 299
	err := dl.settle(r.Context(), ok)
	if ok && err != nil {
		c.replyCode(w, r, mode, http.StatusServiceUnavailable, err, start)
		return
	}
	if err != nil {
		c.report(r, mode, code, err)
	}
	maps.Copy(w.Header(), hw.header)
	w.WriteHeader(code)
	w.Write(hw.body)
	c.observe(r, mode, code, err, start)
}

// maxHeldReply bounds the reply a heldWriter keeps: a callback's reply is
// a few bytes.
const maxHeldReply = 1 << 20

// errHeldReplyTooLong is what a heldWriter's Write returns past
// maxHeldReply.
var errHeldReplyTooLong = errors.New("kyccb: the next handler's reply to a callback is longer than 1 MiB")

// heldWriter keeps the next handler's reply until the store has committed.
// It cannot flush or hijack: the reply leaves only after the commit.
// Informational replies (103 Early Hints) are dropped.
type heldWriter struct {
	header http.Header
	code   int
	body   []byte
}

func (w *heldWriter) Header() http.Header { return w.header }

func (w *heldWriter) WriteHeader(code int) {
	if w.code == 0 && code >= 200 {
		w.code = code
	}
}

func (w *heldWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	if len(w.body)+len(b) > maxHeldReply {
		return 0, errHeldReplyTooLong
	}
	w.body = append(w.body, b...)
	return len(b), nil
}

// status is what the client is to receive: 200 when nothing was written.
func (w *heldWriter) status() int {
	if w.code == 0 {
		return http.StatusOK
	}
	return w.code
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
