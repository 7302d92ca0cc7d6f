package kyccb

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// The reasons a callback is rejected or fails. Handlers report them, wrapped
// with a short diagnosis, to the hook set by [WithErrorHook]; match them with
// [errors.Is]. The comment on each gives the HTTP status a handler replies with.
// The error text is part of the API and will not change.
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

	// ErrBadHash: an XGateway callback's hash does not match (401).
	ErrBadHash = errors.New("kyccb: hash does not match")

	// ErrBodyTooLarge: the body is longer than the limit set by
	// [WithMaxBodyBytes] (413).
	ErrBodyTooLarge = errors.New("kyccb: body too large")

	// ErrMalformedBody: the body could not be read, is not a JSON object, or
	// does not decode into the payload type (400).
	ErrMalformedBody = errors.New("kyccb: malformed body")

	// ErrUnknownCallbackType: an XGateway callbackType other than kyc,
	// transaction and bank_account (400).
	ErrUnknownCallbackType = errors.New("kyccb: unknown callback type")

	// ErrKeysUnavailable: the [KeySource] could not supply any signing key
	// (503, so the sender retries).
	ErrKeysUnavailable = errors.New("kyccb: signing keys unavailable")

	// ErrDuplicate: under [WithDedup], the callback's body is the one last
	// applied for its customer: a redelivery, answered 200 without running
	// the function.
	ErrDuplicate = errors.New("kyccb: callback already processed")

	// ErrDuplicateInProgress: under [WithDedup], another delivery of the
	// same callback holds its lease and may still be running the function
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
	// option, or a sender or registration an unusable URL. Constructors that
	// cannot return an error panic with it.
	ErrConfig = errors.New("kyccb: invalid configuration")

	// ErrNotDelivered: a [Sender] gave up on a callback: the receiver
	// refused it with a 4xx other than 429, every attempt failed, or the
	// context ended. The error wraps the last request's failure or the
	// context's error; the [Delivery] says what each attempt got.
	ErrNotDelivered = errors.New("kyccb: callback not delivered")
)

// AnchorError is an anchor's reply, other than success, to a request made
// for a wallet, such as [RegisterCallback]'s. Match it with [errors.As].
type AnchorError struct {
	// StatusCode is the reply's HTTP status. SEP-12 documents 401 (the JWT
	// is missing, expired or not the customer's) and 404 (no such
	// customer); redirects are not followed and come back as they are.
	StatusCode int
	// Message is the "error" field of the anchor's JSON reply, "" when the
	// reply was not a JSON object with a string "error". It is the anchor's
	// text, cut to at most 256 bytes.
	Message string
}

func (e *AnchorError) Error() string {
	msg := strings.TrimSpace(fmt.Sprintf("kyccb: anchor replied %d %s", e.StatusCode, http.StatusText(e.StatusCode)))
	if e.Message == "" {
		return msg
	}
	// Quoted: the text is the anchor's and may hold anything.
	return msg + ": " + strconv.Quote(e.Message)
}

// HTTPStatus returns the HTTP status code a handler replies with for err: 200
// for nil, the status documented on the matching sentinel, and 500 for any
// other error.
func HTTPStatus(err error) int {
	switch {
	case err == nil:
		return http.StatusOK
	case errors.Is(err, ErrCallback):
		// Checked first: the function's own error may wrap anything.
		return http.StatusInternalServerError
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
