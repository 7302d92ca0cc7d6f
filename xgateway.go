package kyccb

import (
	"bytes"
	"context"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// XGatewayHash returns the hash XGateway puts in a callback: standard padded
// base64 of SHA-512 over fields joined with ".", followed by "." and secret.
// The fields per callback type are:
//
//	kyc:          customerId
//	transaction:  id, customerId ("N/A" when absent), amount, currency
//	bank_account: customerId, currency
func XGatewayHash(secret string, fields ...string) string {
	sum := xgatewaySum(secret, fields...)
	return base64.StdEncoding.EncodeToString(sum[:])
}

func xgatewaySum(secret string, fields ...string) [sha512.Size]byte {
	buf := make([]byte, 0, 256) // on the stack for the usual sizes
	for _, f := range fields {
		buf = append(buf, f...)
		buf = append(buf, '.')
	}
	return sha512.Sum512(append(buf, secret...))
}

// xgatewayHashMatches reports, in constant time, whether hash is the
// standard padded base64 of the SHA-512 of fields and secret.
func xgatewayHashMatches(hash, secret string, fields ...string) bool {
	var got [sha512.Size + 2]byte // room for what a wrong length decodes to
	enc := base64.StdEncoding.Strict()
	if len(hash) != enc.EncodedLen(sha512.Size) {
		return false
	}
	n, err := enc.Decode(got[:], []byte(hash))
	if err != nil || n != sha512.Size {
		return false
	}
	want := xgatewaySum(secret, fields...)
	return subtle.ConstantTimeCompare(want[:], got[:n]) == 1
}

// XGatewayCallback is one authenticated XGateway callback: Type says which
// of the other fields is set.
type XGatewayCallback struct {
	// Type is the callbackType: [XGatewayTypeKYC], [XGatewayTypeTransaction]
	// or [XGatewayTypeBankAccount].
	Type        string
	KYC         *XGatewayKYC
	Transaction *XGatewayTransaction
	BankAccount *XGatewayBankAccount
}

// XGatewayVerifier checks XGateway callback hashes for one merchant secret.
// It is safe for concurrent use. Build it with [NewXGatewayVerifier].
type XGatewayVerifier struct {
	secret string
	cfg    config
}

// NewXGatewayVerifier returns a verifier for callbacks hashed with secret,
// the merchant's secret key. It returns an error matching [ErrConfig] for an
// empty secret, a secret with leading or trailing white space (most often a
// newline left from the file it was read from), or an option that does not
// apply to XGateway.
func NewXGatewayVerifier(secret string, opts ...Option) (*XGatewayVerifier, error) {
	if err := checkXGatewaySecret(secret); err != nil {
		return nil, err
	}
	cfg, err := newConfig(modeXGateway, opts)
	if err != nil {
		return nil, err
	}
	return &XGatewayVerifier{secret: secret, cfg: cfg}, nil
}

func checkXGatewaySecret(secret string) error {
	if secret == "" {
		return fmt.Errorf("%w: empty XGateway secret", ErrConfig)
	}
	if strings.TrimSpace(secret) != secret {
		return fmt.Errorf("%w: XGateway secret has leading or trailing white space", ErrConfig)
	}
	return nil
}

// xgatewayWire is every field of every callback type, decoded once. The
// hashed fields take numbers too, as their literal text, in case a value
// documented as a string arrives unquoted.
type xgatewayWire struct {
	CallbackType string     `json:"callbackType"`
	Hash         *string    `json:"hash"`
	ID           flexString `json:"id"`
	CustomerID   *string    `json:"customerId"`
	Amount       flexString `json:"amount"`
	Currency     flexString `json:"currency"`
	Status       string     `json:"status"`

	DocsMissing            []docEntry `json:"docsMissing"`
	KYCRejectLabel         string     `json:"kycRejectLabel"`
	KYCEndUserErrorMessage string     `json:"kycEndUserErrorMessage"`
	KYCProcessingStatus    string     `json:"kycProcessingStatus"`

	InvoiceID       string          `json:"invoiceId"`
	OrderID         string          `json:"orderId"`
	Network         string          `json:"network"`
	TransactionHash string          `json:"transactionHash"`
	Type            string          `json:"type"`
	ApplicationID   string          `json:"applicationId"`
	Info            json.RawMessage `json:"info"`
	Fee             json.RawMessage `json:"fee"`

	IBAN          string `json:"iban"`
	BIC           string `json:"bic"`
	AccountNumber string `json:"accountNumber"`
	SortCode      string `json:"sortCode"`
	Country       string `json:"country"`
}

// flexString decodes a JSON string, a number as its literal text, or null.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	switch {
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
	case bytes.Equal(b, []byte("null")):
	case len(b) > 0 && (b[0] == '-' || b[0] >= '0' && b[0] <= '9'):
		*f = flexString(b)
	default:
		return fmt.Errorf("want a string or a number")
	}
	return nil
}

func (w *xgatewayWire) customerID() string {
	if w.CustomerID != nil {
		return *w.CustomerID
	}
	return ""
}

// hashedFields returns the fields XGateway hashes, before the secret, for
// w's callback type. The verifier and the sender share it, so that they
// cannot disagree.
func (w *xgatewayWire) hashedFields() ([]string, error) {
	switch w.CallbackType {
	case XGatewayTypeKYC:
		return []string{w.customerID()}, nil
	case XGatewayTypeTransaction:
		txCustomer := w.customerID()
		if txCustomer == "" {
			txCustomer = "N/A"
		}
		return []string{string(w.ID), txCustomer, string(w.Amount), string(w.Currency)}, nil
	case XGatewayTypeBankAccount:
		return []string{w.customerID(), string(w.Currency)}, nil
	default:
		return nil, ErrUnknownCallbackType
	}
}

// Verify authenticates body, the raw body of an XGateway callback, and
// returns it decoded. The error matches [ErrMalformedBody] when body is not a
// JSON object, [ErrUnknownCallbackType] for a type whose hashed fields are
// unknown, and [ErrMissingHash] or [ErrBadHash] when the hash is absent or
// wrong. The comparison takes the same time wherever the hashes differ.
func (v *XGatewayVerifier) Verify(body []byte) (XGatewayCallback, error) {
	var w xgatewayWire
	if err := decodeObject(body, &w); err != nil {
		return XGatewayCallback{}, err
	}
	fields, err := w.hashedFields()
	if err != nil {
		return XGatewayCallback{}, err
	}
	customerID := w.customerID()
	if w.Hash == nil || *w.Hash == "" {
		return XGatewayCallback{}, ErrMissingHash
	}
	if !xgatewayHashMatches(*w.Hash, v.secret, fields...) {
		return XGatewayCallback{}, fmt.Errorf("%w: for a %s callback (wrong secret, or a field was changed)", ErrBadHash, w.CallbackType)
	}
	cb := XGatewayCallback{Type: w.CallbackType}
	switch w.CallbackType {
	case XGatewayTypeKYC:
		docs := make([]string, len(w.DocsMissing))
		for i, d := range w.DocsMissing {
			docs[i] = string(d)
		}
		cb.KYC = &XGatewayKYC{
			CallbackType:           w.CallbackType,
			CustomerID:             customerID,
			DocsMissing:            docs,
			Hash:                   *w.Hash,
			KYCRejectLabel:         w.KYCRejectLabel,
			KYCEndUserErrorMessage: w.KYCEndUserErrorMessage,
			Status:                 XGatewayStatus(w.Status),
			KYCProcessingStatus:    w.KYCProcessingStatus,
		}
	case XGatewayTypeTransaction:
		cb.Transaction = &XGatewayTransaction{
			CallbackType:    w.CallbackType,
			ID:              string(w.ID),
			CustomerID:      customerID,
			Amount:          string(w.Amount),
			Currency:        string(w.Currency),
			Status:          w.Status,
			InvoiceID:       w.InvoiceID,
			OrderID:         w.OrderID,
			Network:         w.Network,
			TransactionHash: w.TransactionHash,
			Type:            w.Type,
			ApplicationID:   w.ApplicationID,
			Info:            nullAsNil(w.Info),
			Fee:             nullAsNil(w.Fee),
			Hash:            *w.Hash,
		}
	case XGatewayTypeBankAccount:
		cb.BankAccount = &XGatewayBankAccount{
			CallbackType:  w.CallbackType,
			CustomerID:    customerID,
			Currency:      string(w.Currency),
			IBAN:          w.IBAN,
			BIC:           w.BIC,
			AccountNumber: w.AccountNumber,
			SortCode:      w.SortCode,
			Country:       w.Country,
			Status:        w.Status,
			Hash:          *w.Hash,
		}
	}
	return cb, nil
}

func nullAsNil(m json.RawMessage) json.RawMessage {
	if bytes.Equal(m, []byte("null")) {
		return nil
	}
	return m
}

// XGateway returns a handler for the merchant's XGateway callback URL, which
// receives every callback type. Callbacks are authenticated with secret, the
// merchant's secret key. Verified KYC callbacks are passed to fn with the
// request's context; transaction and bank account callbacks are verified and
// answered 200, or passed to the functions set by [WithXGatewayTransaction]
// and [WithXGatewayBankAccount].
//
// The handler replies 200 when fn returns nil; 401 when the hash is missing
// or wrong; 400 when the body is not a JSON object or the callback type is
// unknown; 405 for methods other than POST; 413 past the body limit; 500
// when fn returns an error, so XGateway retries; 503 for the duplicates
// described at [WithDedup].
//
// The hash covers no timestamp and, for KYC callbacks, only the customer id:
// a captured callback can be replayed, or its status changed, forever. Treat
// it as a hint and confirm through XGateway's API before anything
// irreversible.
//
// XGateway panics if secret or an option is unusable; [NewXGatewayVerifier]
// returns the error instead. The handler is safe for concurrent use.
func XGateway(secret string, fn func(context.Context, XGatewayKYC) error, opts ...Option) http.Handler {
	return mustXGatewayVerifier("XGateway", secret, opts).Handler(fn)
}

// XGatewayMiddleware returns middleware that authenticates XGateway
// callbacks of every type as [XGateway] does and calls next with the body
// restored byte for byte. It panics on the same errors as XGateway.
func XGatewayMiddleware(secret string, opts ...Option) func(http.Handler) http.Handler {
	return mustXGatewayVerifier("XGatewayMiddleware", secret, opts).Middleware
}

func mustXGatewayVerifier(caller, secret string, opts []Option) *XGatewayVerifier {
	v, err := NewXGatewayVerifier(secret, opts...)
	if err != nil {
		panic("kyccb." + caller + ": " + err.Error())
	}
	return v
}

// Handler returns a handler that authenticates XGateway callbacks with v and
// passes each KYC callback to fn, replying as described at [XGateway]. It
// panics if fn is nil.
func (v *XGatewayVerifier) Handler(fn func(context.Context, XGatewayKYC) error) http.Handler {
	if fn == nil {
		panic("kyccb: nil callback function")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, cb, err := v.verifyRequest(w, r)
		if err == nil {
			ctx := withCallback(r.Context(), body, time.Time{})
			switch {
			case cb.KYC != nil:
				callOnce(&v.cfg, w, r, modeXGateway, body, ctx, fn, *cb.KYC)
				return
			case cb.Transaction != nil && v.cfg.onTransaction != nil:
				callOnce(&v.cfg, w, r, modeXGateway, body, ctx, v.cfg.onTransaction, *cb.Transaction)
				return
			case cb.BankAccount != nil && v.cfg.onBankAccount != nil:
				callOnce(&v.cfg, w, r, modeXGateway, body, ctx, v.cfg.onBankAccount, *cb.BankAccount)
				return
			}
		}
		v.cfg.reply(w, r, err)
	})
}

// Middleware authenticates XGateway callbacks with v and calls next with the
// body restored byte for byte; [RawBody] works on the request's context.
// Rejected requests get the replies described at [XGateway] and never reach
// next; with [WithDedup], duplicates are answered without reaching next.
func (v *XGatewayVerifier) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _, err := v.verifyRequest(w, r)
		if err != nil {
			v.cfg.reply(w, r, err)
			return
		}
		v.cfg.serveOnce(w, restore(r, body, time.Time{}), modeXGateway, body, next)
	})
}

func (v *XGatewayVerifier) verifyRequest(w http.ResponseWriter, r *http.Request) ([]byte, XGatewayCallback, error) {
	if r.Method != http.MethodPost {
		return nil, XGatewayCallback{}, ErrMethod
	}
	body, err := readBody(w, r, make([]byte, 0, bodyHint(r, v.cfg.maxBody)), v.cfg.maxBody)
	if err != nil {
		return nil, XGatewayCallback{}, err
	}
	cb, err := v.Verify(body)
	return body, cb, err
}
