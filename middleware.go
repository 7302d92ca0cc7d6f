package kyccb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/kyccb/kyccb/internal/wire"
)

// SEP12 returns a handler for SEP-12 customer callbacks signed by the anchor
// whose SIGNING_KEY is signingKey (a "G..." public key from its
// stellar.toml), sent to the callback URL registered at host (a host,
// host:port, or the callback URL itself; never taken from the request).
// Each authenticated callback is decoded and passed to fn with the request's
// context.
//
// The handler replies 200 when fn returns nil; 401 when the signature is
// missing, malformed, stale, from the future or wrong; 400 when the body is
// not a JSON object with a customer status (a transaction callback among
// them: see [Transactions]); 405 for methods other than POST; 413 past the
// body limit; 500 when fn returns an error, so the anchor retries; 503 when
// the keys are unavailable and for the duplicates described at [WithDedup].
// Header and timestamp are checked before the body is read.
//
// A request whose signature was processed before is answered 200 without
// calling fn, and reported as [ErrReplay]: senders sign every delivery
// anew, so a repeated signature is a captured request sent again, however
// its header is spelled. Without [WithDedup] the verifier remembers the
// signature of each request fn (or, in the middleware form, next) succeeded
// with, in this process, until twice the tolerance after it was signed; at
// most 100,000 of them (about 13 MB), forgetting those that expire soonest
// when full, so that a flood of more genuine callbacks than that in a few
// minutes lets the oldest be replayed for what is left of their time.
// Signatures of failed deliveries are not remembered: the same request
// sent again is processed. Replicas of a service share what they remember
// only through a [WithDedup] store.
//
// SEP12 panics if signingKey, host, fn or an option is unusable, as
// [http.ServeMux.Handle] does for a bad pattern, with an error matching
// [ErrConfig]; [NewSEP12Verifier] returns the error instead. The handler is
// safe for concurrent use.
func SEP12(signingKey, host string, fn func(context.Context, Customer) error, opts ...Option) http.Handler {
	v, err := newVerifierFor("SEP12", signingKey, host, fn == nil, opts)
	if err != nil {
		panic(&configPanic{"kyccb.SEP12", err})
	}
	return v.Handler(fn)
}

// newVerifierFor builds the verifier of SEP12 or Transactions (named by
// call), with a hint when the arguments look swapped, and refuses a nil
// function.
func newVerifierFor(call, signingKey, host string, nilFn bool, opts []Option) (*SEP12Verifier, error) {
	keys, err := ParseKeys(signingKey)
	if _, herr := wire.ParsePublicKey(host); err != nil && herr == nil {
		return nil, configError("the host is a Stellar public key and the signing key is not: are they swapped? %s(signingKey, host, fn)", call)
	}
	if err != nil {
		return nil, err
	}
	if nilFn {
		return nil, errNilFunc
	}
	return NewSEP12Verifier(keys, host, opts...)
}

// Transactions returns a handler for SEP-6 and SEP-24 on_change_callback
// (and SEP-24 callback) and SEP-31 transaction callbacks, signed as
// SEP-12 callbacks are, by the anchor whose SIGNING_KEY is signingKey, and
// sent to the callback URL registered at host. Each authenticated callback
// is decoded and its [Transaction] passed to fn with the request's
// context. Key sources, key rotation, host rules, the body limit and
// freshness are those of [SEP12]: build the handler with
// [NewSEP12Verifier] and [SEP12Verifier.TransactionHandler] for them, and
// with [SEP12Verifier.CombinedHandler] for one URL that receives customer
// callbacks too.
//
// The handler replies as [SEP12] does, and 400 for a body that is not
// {"transaction": {...}} with a non-empty id (a customer callback among
// them, [ErrMalformedBody]). With [WithDedup], a redelivered body is not
// run again, and a callback whose updated_at is before that of the last
// one applied for its transaction is answered 200 without running fn and
// reported as [ErrStale]. A transaction without updated_at cannot be
// ordered: it is processed whenever its body is new.
//
// Transactions panics with an error matching [ErrConfig] if signingKey,
// host, fn or an option is unusable; [NewSEP12Verifier] returns the error
// instead. The handler is safe for concurrent use.
func Transactions(signingKey, host string, fn func(context.Context, Transaction) error, opts ...Option) http.Handler {
	v, err := newVerifierFor("Transactions", signingKey, host, fn == nil, opts)
	if err != nil {
		panic(&configPanic{"kyccb.Transactions", err})
	}
	return v.TransactionHandler(fn)
}

// XGateway returns a handler for the merchant's XGateway callback URL, which
// receives every callback type. Callbacks are authenticated with secret, the
// merchant's secret key. Verified KYC callbacks are passed to fn with the
// request's context; transaction and bank account callbacks are verified and
// answered 200, or passed to the functions set by [WithXGatewayTransaction]
// and [WithXGatewayBankAccount].
//
// The handler replies 200 when fn returns nil; 401 when the hash is missing
// or wrong; 400 when the body is not a JSON object that every parser reads
// alike, or the callback type is unknown; 405 for methods other than POST;
// 413 past the body limit; 500 when fn returns an error, so XGateway
// retries; 503 for the duplicates described at [WithDedup].
//
// The hash covers no timestamp and, for KYC callbacks, only the customer id:
// a captured callback can be replayed, or its status changed, forever. Treat
// it as a hint and confirm through XGateway's API before anything
// irreversible; see [XGatewayVerifier.Verify] for what the hash can and
// cannot tell apart.
//
// XGateway panics with an error matching [ErrConfig] if secret, fn or an
// option is unusable; [NewXGatewayVerifier] returns the error instead. The
// handler is safe for concurrent use.
func XGateway(secret string, fn func(context.Context, XGatewayKYC) error, opts ...Option) http.Handler {
	v, err := NewXGatewayVerifier(secret, opts...)
	if err == nil && fn == nil {
		err = errNilFunc
	}
	if err != nil {
		panic(&configPanic{"kyccb.XGateway", err})
	}
	return v.Handler(fn)
}

// Handler returns a handler that authenticates SEP-12 callbacks with v and
// passes each decoded [Customer] to fn, replying as described at [SEP12].
// A transaction callback, or a body without a customer status, is answered
// 400 ([ErrMalformedBody]). It panics with an error matching [ErrConfig] if
// fn is nil.
func (v *SEP12Verifier) Handler(fn func(context.Context, Customer) error) http.Handler {
	if fn == nil {
		panic(&configPanic{"kyccb.SEP12Verifier.Handler", errNilFunc})
	}
	return v.handler(fn, nil)
}

// TransactionHandler returns a handler that authenticates SEP-6, SEP-24 and
// SEP-31 transaction callbacks with v and passes each decoded [Transaction]
// to fn, replying as described at [Transactions]. It panics with an error
// matching [ErrConfig] if fn is nil.
func (v *SEP12Verifier) TransactionHandler(fn func(context.Context, Transaction) error) http.Handler {
	if fn == nil {
		panic(&configPanic{"kyccb.SEP12Verifier.TransactionHandler", errNilFunc})
	}
	return v.handler(nil, fn)
}

// CombinedHandler returns a handler for a callback URL registered both for
// customers (SEP-12) and for transactions (SEP-6, SEP-24, SEP-31), as the
// Anchor Platform allows: it authenticates each callback with v, passes a
// customer's to onCustomer and a transaction's to onTransaction, and
// replies as described at [SEP12]. Both kinds are told apart by the body
// alone, which the signature covers: a transaction callback is
// {"transaction": {...}} with an id, a customer callback has a status at
// the top; a body that is neither, or both, is answered 400. It panics with
// an error matching [ErrConfig] if either function is nil: a wallet that
// expects one kind mounts [SEP12Verifier.Handler] or
// [SEP12Verifier.TransactionHandler], which refuse the other.
func (v *SEP12Verifier) CombinedHandler(onCustomer func(context.Context, Customer) error, onTransaction func(context.Context, Transaction) error) http.Handler {
	if onCustomer == nil || onTransaction == nil {
		panic(&configPanic{"kyccb.SEP12Verifier.CombinedHandler", errNilFunc})
	}
	return v.handler(onCustomer, onTransaction)
}

// handler is the one request path of the three SEP-12 handlers: a nil
// function refuses its kind of callback.
func (v *SEP12Verifier) handler(onCustomer func(context.Context, Customer) error, onTransaction func(context.Context, Transaction) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := v.cfg.start()
		body, sig, err := v.verifyRequest(w, r)
		if err == nil {
			var cb sep12Body
			if cb, err = decodeSEP12(body); err == nil {
				ctx := withCallback(r.Context(), body, sig.Time)
				switch {
				case cb.Transaction == nil && onCustomer != nil:
					key := ""
					if v.cfg.dedup.store != nil {
						key = sep12Key(cb.ID, "", r)
					}
					callOnce(&v.cfg, w, r, modeSEP12, key, v.delivery(body, sig, time.Time{}), ctx, onCustomer, cb.Customer, start)
					return
				case cb.Transaction != nil && onTransaction != nil:
					tx := cb.Transaction.transaction()
					key := ""
					if v.cfg.dedup.store != nil {
						key = sep12Key("", tx.ID, r)
					}
					callOnce(&v.cfg, w, r, modeSEP12, key, v.delivery(body, sig, tx.UpdatedAt), ctx, onTransaction, tx, start)
					return
				case cb.Transaction == nil:
					err = errNotTransaction
				default:
					err = errNotCustomer
				}
			}
		}
		v.cfg.reply(w, r, modeSEP12, err, start)
	})
}

// Middleware authenticates SEP-12 callbacks with v and calls next with the
// body restored byte for byte; [RawBody] and [SignedAt] work on the
// request's context. Rejected requests, bodies that are not a JSON object
// among them, get the replies described at [SEP12] and never reach next;
// nor do replays (see [SEP12]), and, with [WithDedup], duplicates and
// stale transaction callbacks.
func (v *SEP12Verifier) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := v.cfg.start()
		body, sig, err := v.verifyRequest(w, r)
		if err == nil && !wire.IsObject(body) {
			err = errNotObject
		}
		if err != nil {
			v.cfg.reply(w, r, modeSEP12, err, start)
			return
		}
		key, updated := "", time.Time{}
		if v.cfg.dedup.store != nil {
			var id, txID string
			id, txID, updated = callbackIDs(body)
			key = sep12Key(id, txID, r)
		}
		v.cfg.serveOnce(w, restore(r, body, sig.Time), modeSEP12, key, v.delivery(body, sig, updated), next, start)
	})
}

// verifyRequest is the SEP-12 request path: method, then the header and
// its freshness before any of the body is read (the first half of
// [SEP12Verifier.Verify]), then the body, read within the limit, then the
// second half of Verify. It returns the body and the signature, whose
// Time is the signing time.
func (v *SEP12Verifier) verifyRequest(w http.ResponseWriter, r *http.Request) ([]byte, wire.Signature, error) {
	if r.Method != http.MethodPost {
		return nil, wire.Signature{}, ErrMethod
	}
	sig, err := v.checkHeader(wire.SignatureValue(r.Header), v.cfg.now())
	if err != nil {
		return nil, wire.Signature{}, err
	}
	// The body is read straight after the signed prefix, so that the
	// message is never copied.
	msg := v.signedPrefix(sig, bodyHint(r))
	bodyAt := len(msg)
	if msg, err = readBody(w, r, v.cfg.maxBody, msg); err != nil {
		return nil, wire.Signature{}, err
	}
	// Verify's second half. Not full: the handler's decode checks the
	// JSON, and the middleware checks it itself.
	if _, err := v.verifyMessage(r.Context(), sig, msg, bodyAt, false); err != nil {
		return nil, wire.Signature{}, withRequestHost(err, r.Host, r.Header.Get("X-Forwarded-Host"))
	}
	return msg[bodyAt:len(msg):len(msg)], sig, nil
}

// delivery describes a verified request for the store, or for the
// verifier's memory of signatures without one: the body's fingerprint
// (only a store needs it), the signature and how long to remember it, and
// updated, the transaction's updated_at or zero.
func (v *SEP12Verifier) delivery(body []byte, sig wire.Signature, updated time.Time) Delivery {
	d := Delivery{
		SignatureTTL: signatureTTL(sig, v.cfg.tolerance, v.cfg.now()),
		UpdatedAt:    updated,
	}
	if v.cfg.dedup.store == nil {
		// Only the verifier's own memory sees it: the decoded bytes name
		// the signature as well as their hash does, at a seventh of the
		// cost, on the path the handler's speed is measured on.
		d.Signature = string(sig.Bytes)
		return d
	}
	d.Fingerprint, d.Signature = fingerprint(body), signatureID(sig.Bytes)
	return d
}

// Handler returns a handler that authenticates XGateway callbacks with v and
// passes each KYC callback to fn, replying as described at [XGateway]. It
// panics with an error matching [ErrConfig] if fn is nil.
func (v *XGatewayVerifier) Handler(fn func(context.Context, XGatewayKYC) error) http.Handler {
	if fn == nil {
		panic(&configPanic{"kyccb.XGatewayVerifier.Handler", errNilFunc})
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := v.cfg.start()
		body, cb, err := v.verifyRequest(w, r)
		if err == nil {
			ctx := withCallback(r.Context(), body, time.Time{})
			key := ""
			if v.cfg.dedup.store != nil {
				key = xgatewayKey(cb)
			}
			switch {
			case cb.KYC != nil:
				callOnce(&v.cfg, w, r, modeXGateway, key, v.cfg.xgatewayDelivery(body), ctx, fn, *cb.KYC, start)
				return
			case cb.Transaction != nil && v.cfg.onTransaction != nil:
				callOnce(&v.cfg, w, r, modeXGateway, key, v.cfg.xgatewayDelivery(body), ctx, v.cfg.onTransaction, *cb.Transaction, start)
				return
			case cb.BankAccount != nil && v.cfg.onBankAccount != nil:
				callOnce(&v.cfg, w, r, modeXGateway, key, v.cfg.xgatewayDelivery(body), ctx, v.cfg.onBankAccount, *cb.BankAccount, start)
				return
			}
		}
		v.cfg.reply(w, r, modeXGateway, err, start)
	})
}

// Middleware authenticates XGateway callbacks with v and calls next with the
// body restored byte for byte; [RawBody] works on the request's context.
// Rejected requests get the replies described at [XGateway] and never reach
// next; with [WithDedup], duplicates are answered without reaching next.
// A body next receives is read alike by every JSON parser, and by code
// that compares keys after changing their case: it has no duplicate key,
// no key that becomes a field's name under a change of case, and no
// number where XGateway sends a string (see [XGatewayVerifier.Verify]).
func (v *XGatewayVerifier) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := v.cfg.start()
		body, cb, err := v.verifyRequest(w, r)
		if err != nil {
			v.cfg.reply(w, r, modeXGateway, err, start)
			return
		}
		key := ""
		if v.cfg.dedup.store != nil {
			key = xgatewayKey(cb)
		}
		v.cfg.serveOnce(w, restore(r, body, time.Time{}), modeXGateway, key, v.cfg.xgatewayDelivery(body), next, start)
	})
}

func (v *XGatewayVerifier) verifyRequest(w http.ResponseWriter, r *http.Request) ([]byte, XGatewayCallback, error) {
	if r.Method != http.MethodPost {
		return nil, XGatewayCallback{}, ErrMethod
	}
	body, err := readBody(w, r, v.cfg.maxBody, make([]byte, 0, bodyHint(r)))
	if err != nil {
		return nil, XGatewayCallback{}, err
	}
	cb, err := v.Verify(body)
	return body, cb, err
}

// bodyPrealloc is the most room made for a body before any of it has
// arrived. A declared length is only a claim: trusting it up to the body
// limit let each connection that sent headers alone hold 1 MiB until
// ReadTimeout. Real callbacks are a few kilobytes and still fit at once;
// longer bodies grow the buffer as their bytes arrive.
const bodyPrealloc = 16 << 10

// bodyHint is how many bytes of body to make room for before any has
// arrived: one more than a declared length, so that the read that finds
// EOF does not grow the buffer, but never more than bodyPrealloc.
func bodyHint(r *http.Request) int {
	if r.ContentLength > 0 {
		return int(min(r.ContentLength+1, bodyPrealloc))
	}
	return 512
}

// readBody appends at most limit bytes of r's body to dst. It refuses a
// declared length over the limit without reading anything, and an empty
// body.
func readBody(w http.ResponseWriter, r *http.Request, limit int64, dst []byte) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, ErrBodyTooLarge
	}
	if r.Body == nil || r.Body == http.NoBody {
		return nil, errEmptyBody
	}
	buf, start := dst, len(dst)
	body := http.MaxBytesReader(w, r.Body, limit)
	for {
		if len(buf) == cap(buf) {
			// Double the room as bytes arrive, up to the one byte past the
			// limit that MaxBytesReader reads to tell it is too long.
			n := int64(len(buf) - start)
			buf = slices.Grow(buf, int(max(512, min(n, limit+1-n))))
		}
		n, err := body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF && len(buf) == start {
			// No callback is empty; the likeliest cause is a middleware
			// that read the body before the handler (a logger, a
			// framework's binding) without restoring it.
			return nil, errEmptyBody
		}
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

var errEmptyBody = fmt.Errorf("%w: empty body: did something read it before kyccb?", ErrMalformedBody)

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

// reply answers with the status for err.
func (c *config) reply(w http.ResponseWriter, r *http.Request, mode string, err error, start time.Time) {
	c.replyCode(w, r, mode, HTTPStatus(err), err, start)
}

// replyCode reports err, then answers with fixed text for code, then tells
// the observer. err may be a problem that did not change the reply, such as
// a store failure after the function succeeded. Reporting first means a
// hook has run by the time the sender sees the reply.
func (c *config) replyCode(w http.ResponseWriter, r *http.Request, mode string, code int, err error, start time.Time) {
	if err != nil && !errors.Is(err, ErrDuplicate) {
		c.report(r, mode, code, err)
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
	c.observe(r, mode, code, err, start)
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
// and when ctx is not a callback's. It is the time of this delivery, not of
// the status change: the Anchor Platform signs every retry anew, so it
// cannot order callbacks.
func SignedAt(ctx context.Context) (time.Time, bool) {
	if info, ok := ctx.Value(callbackKey{}).(*callbackInfo); ok && !info.signedAt.IsZero() {
		return info.signedAt, true
	}
	return time.Time{}, false
}
