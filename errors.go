package kyccb

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/kyccb/kyccb/internal/wire"
)

// The reasons a callback is rejected or fails. Verifiers return them and
// handlers report them, wrapped with a short diagnosis, to the logger, the
// hook and the observer; match them with [errors.Is]. The comment on each
// gives the HTTP status a handler replies with. The error text is part of
// the API and will not change.
var (
	// ErrMethod: the request was not a POST (405, with Allow: POST).
	ErrMethod = errors.New("kyccb: method not allowed")

	// ErrMissingSignature: neither Signature nor X-Stellar-Signature was
	// present (401).
	ErrMissingSignature = errors.New("kyccb: missing signature header")

	// ErrMalformedSignature: the signature header is not "t=<digits>,
	// s=<base64>" or the signature does not decode to 64 bytes (401).
	ErrMalformedSignature = errors.New("kyccb: malformed signature header")

	// ErrExpired: the signature's timestamp is further in the past than the
	// tolerance (401).
	ErrExpired = errors.New("kyccb: signature timestamp too old")

	// ErrFuture: the signature's timestamp is further in the future than the
	// tolerance (401).
	ErrFuture = errors.New("kyccb: signature timestamp in the future")

	// ErrBadSignature: the signature does not verify under any trusted key
	// for the configured host (401).
	ErrBadSignature = errors.New("kyccb: signature does not verify")

	// ErrMissingHash: an XGateway callback has no hash field (401).
	ErrMissingHash = errors.New("kyccb: missing hash")

	// ErrBadHash: an XGateway callback's hash does not match, or a hashed
	// field is not in the form XGateway sends it, so the hash could be
	// read as another callback's (401).
	ErrBadHash = errors.New("kyccb: hash does not match")

	// ErrBodyTooLarge: the body is longer than the limit set by
	// [WithMaxBodyBytes] (413).
	ErrBodyTooLarge = errors.New("kyccb: body too large")

	// ErrMalformedBody: the body could not be read, is empty (most often
	// because a middleware before kyccb read it), is not a JSON object,
	// does not decode into the payload type, or (XGateway) has keys that
	// parsers read differently: a duplicate key, or one that matches a
	// field only when case is ignored (400).
	ErrMalformedBody = errors.New("kyccb: malformed body")

	// ErrUnknownCallbackType: an XGateway callbackType other than kyc,
	// transaction and bank_account (400).
	ErrUnknownCallbackType = errors.New("kyccb: unknown callback type")

	// ErrKeysUnavailable: the [KeySource] could not supply any signing key,
	// or could not finish looking for new ones in time (503, so the sender
	// retries).
	ErrKeysUnavailable = errors.New("kyccb: signing keys unavailable")

	// ErrDuplicate: under [WithDedup], the callback's body is the one last
	// processed for its customer: a redelivery, answered 200 without
	// running the function. Handlers report it only to the observer set by
	// [WithObserver]; a [Store] returns it from Reserve.
	ErrDuplicate = errors.New("kyccb: callback already processed")

	// ErrReplay: the SEP-12 request's signature is one already processed
	// (by this verifier, or under [WithDedup] for its customer by any
	// handler sharing the store): a captured request sent again, however
	// its header is spelled, answered 200 without running the function.
	// Senders sign every genuine attempt anew, so a repeated signature is
	// never a new delivery. Handlers report it to the observer and at
	// Debug; a [Store] returns it from Reserve.
	ErrReplay = errors.New("kyccb: signed request already processed")

	// ErrStale: under [WithDedup], a transaction callback whose updated_at
	// is older than the one last applied for its transaction: a delayed
	// delivery of a status the transaction has left, answered 200 without
	// running the function. Handlers report it to the observer and at
	// Debug; a [Store] returns it from Reserve.
	ErrStale = errors.New("kyccb: callback older than the status applied")

	// ErrDuplicateInProgress: under [WithDedup], another delivery for the
	// same customer holds its lease and may still be running the function
	// (503 with Retry-After, so the sender retries later).
	ErrDuplicateInProgress = errors.New("kyccb: duplicate callback in progress")

	// ErrStoreUnavailable: the [WithDedup] store failed, wrapping its
	// error (503 with Retry-After, so the sender retries). It is also
	// reported, without changing the reply, when [WithDedupFailOpen] let
	// the function run anyway, and when the store failed to record or
	// release a callback after the function returned.
	ErrStoreUnavailable = errors.New("kyccb: dedup store unavailable")

	// ErrCallback: the function given to the handler returned an error,
	// which is wrapped too (500, so the sender retries).
	ErrCallback = errors.New("kyccb: callback function failed")

	// ErrConfig: a constructor was given an unusable key, host, secret or
	// option. Constructors that cannot return an error panic with an error
	// that wraps it.
	ErrConfig = errors.New("kyccb: invalid configuration")
)

// HTTPStatus returns the HTTP status code a handler replies with for err:
// 200 for nil, [ErrDuplicate], [ErrReplay] and [ErrStale], the status
// documented on the matching sentinel, and 500 for any other error.
func HTTPStatus(err error) int {
	switch {
	case err == nil:
		return http.StatusOK
	case errors.Is(err, ErrCallback):
		// Checked first: the function's own error may wrap anything.
		return http.StatusInternalServerError
	case errors.Is(err, ErrDuplicate), errors.Is(err, ErrReplay), errors.Is(err, ErrStale):
		return http.StatusOK
	case errors.Is(err, ErrMethod):
		return http.StatusMethodNotAllowed
	case errors.Is(err, ErrMissingSignature), errors.Is(err, ErrMalformedSignature),
		errors.Is(err, ErrExpired), errors.Is(err, ErrFuture),
		errors.Is(err, ErrBadSignature), errors.Is(err, ErrMissingHash),
		errors.Is(err, ErrBadHash):
		return http.StatusUnauthorized
	case errors.Is(err, ErrBodyTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, ErrMalformedBody), errors.Is(err, ErrUnknownCallbackType):
		return http.StatusBadRequest
	case errors.Is(err, ErrKeysUnavailable), errors.Is(err, ErrDuplicateInProgress),
		errors.Is(err, ErrStoreUnavailable):
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// configError returns an error matching ErrConfig that says what is wrong,
// in words that never repeat the value.
func configError(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...)
}

var errNilFunc = configError("nil callback function")

// configPanic is what a constructor that cannot return an error panics
// with: its name, then the configuration error without the "kyccb: "
// that the name already says ("kyccb.SEP12: invalid configuration: ...").
// It matches [ErrConfig].
type configPanic struct {
	fn  string
	err error
}

func (e *configPanic) Error() string {
	return e.fn + ": " + strings.TrimPrefix(e.err.Error(), "kyccb: ")
}

func (e *configPanic) Unwrap() error { return e.err }

// Malformed headers, wrapped once: rejecting one must cost next to nothing.
var malformed = func() map[error]error {
	m := make(map[error]error)
	for _, e := range []error{wire.ErrNoEquals, wire.ErrTwiceT, wire.ErrTwiceS, wire.ErrMissingTS, wire.ErrBadT, wire.ErrBadBase64, wire.ErrSigLength} {
		m[e] = fmt.Errorf("%w: %w", ErrMalformedSignature, e)
	}
	return m
}()

// malformedSignature maps an error of package wire's header parsing to
// ErrMalformedSignature.
func malformedSignature(err error) error {
	if e, ok := malformed[err]; ok {
		return e
	}
	return fmt.Errorf("%w: %w", ErrMalformedSignature, err)
}
