package kyccb

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/kyccb/kyccb/internal/wire"
)

// XGatewayHash returns the hash XGateway puts in a callback: standard padded
// base64 of SHA-512 over fields joined with ".", followed by "." and secret.
// The fields per callback type are:
//
//	kyc:          customerId
//	transaction:  id, customerId ("N/A" when absent), amount, currency
//	bank_account: customerId, currency
func XGatewayHash(secret string, fields ...string) string {
	return wire.XGatewayHash(secret, fields...)
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
//
// A verifier, or a copy of one, prints and logs without its secret (see
// [XGatewayVerifier.String]).
type XGatewayVerifier struct {
	// matches checks a hash over fields. The secret lives in its closure
	// and nowhere else: fmt prints a func as an address with every verb,
	// even in an unexported field it prints without calling String, and
	// reflection cannot reach what it captured. A string field, or a
	// pointer to one, would print with some verb (%+v of the value; %s,
	// whose bad-verb fallback prints what a pointer points to).
	matches func(hash string, fields ...string) bool
	cfg     config
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
	matches := func(hash string, fields ...string) bool {
		return wire.XGatewayHashMatches(hash, secret, fields...)
	}
	return &XGatewayVerifier{matches: matches, cfg: cfg}, nil
}

func checkXGatewaySecret(secret string) error {
	if secret == "" {
		return configError("empty XGateway secret")
	}
	if strings.TrimSpace(secret) != secret {
		return configError("XGateway secret has leading or trailing white space")
	}
	return nil
}

// The methods that print a verifier have value receivers, so that they hold
// for a copy (fmt.Sprintf("%+v", *v), a configuration struct holding a
// verifier by value) as well as for the pointer.

const xgwVerifierText = "kyccb.XGatewayVerifier{secret: redacted}"

// String returns "kyccb.XGatewayVerifier{secret: redacted}".
func (XGatewayVerifier) String() string { return xgwVerifierText }

// GoString returns what String does, for %#v.
func (XGatewayVerifier) GoString() string { return xgwVerifierText }

// Format prints what String returns, for every verb of package fmt (%x and
// %d included), so that no verb prints the verifier field by field.
func (XGatewayVerifier) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, xgwVerifierText) }

// LogValue logs what String returns, for log/slog's handlers.
func (XGatewayVerifier) LogValue() slog.Value { return slog.StringValue(xgwVerifierText) }

// Verify authenticates body, the raw body of an XGateway callback, and
// returns it decoded. It reads the top level of the body strictly, so that
// what it authenticates is what any JSON parser, and any application that
// compares keys after changing their case, reads: a body with a duplicate
// key, or a key that becomes a field's name under a change of case
// ("CUSTOMERID", "cuſtomerId", "customerıd" with a dotless i, "ﬆatus"), is
// refused, and so is a number where XGateway sends a string (a parser that
// reads numbers as doubles reads customer 12345678901234567890 as
// 12345678901234567000). It checks the hash before decoding anything but
// the hashed fields, so a forged body costs a scan of its bytes and no
// allocation for its size.
//
// The error matches [ErrMalformedBody] when body is not exactly one JSON
// object read alike by every parser, or a value has the wrong type (a
// number for a string included); [ErrUnknownCallbackType] for a type whose
// hashed fields are unknown; [ErrMissingHash] when the hash is absent; and
// [ErrBadHash] when it is wrong, or when a hashed field is not in the form
// XGateway sends it (a string; a currency code; a decimal amount). The
// comparison takes the same time wherever the hashes differ.
//
// The hashed fields are joined with ".", so one hash could verify other
// splits of the same text: a transaction (77, 1234, 12.5, USD) as (77.1234,
// 12, 5, USD). Verify refuses every split it can without refusing genuine
// callbacks: a currency must be a code (2 to 12 of A-Z and 0-9), an amount
// a decimal number, and a transaction id free of dots. What remains,
// because customer ids are the merchant's own and may hold dots: a
// customer id ending in "." and digits with an integer amount (transactions
// (77, c.1, 5, USD) and (77, c, 1.5, USD) share a hash); a KYC callback for
// a dotted customer id shares its hash with the bank account or transaction
// callback whose fields spell that id (KYC "alice@example.COM" and bank
// account ("alice@example", "COM")); and a transaction without a customer
// shares its hash with one for customer "N/A". Such a forgery needs a
// genuine hash for the other reading, and names a customer or transaction
// that must then exist: confirm through XGateway's API before acting.
func (v *XGatewayVerifier) Verify(body []byte) (XGatewayCallback, error) {
	x, err := wire.ParseXGateway(body)
	if err != nil {
		return XGatewayCallback{}, fmt.Errorf("%w: %w", ErrMalformedBody, err)
	}
	fields, ferr := x.HashedFields()
	if errors.Is(ferr, wire.ErrUnknownCallbackType) {
		return XGatewayCallback{}, ErrUnknownCallbackType
	}
	hash, ok := x.Hash()
	if !ok {
		return XGatewayCallback{}, ErrMissingHash
	}
	if ferr != nil {
		return XGatewayCallback{}, fmt.Errorf("%w: %w", ErrBadHash, ferr)
	}
	if !v.matches(hash, fields...) {
		return XGatewayCallback{}, fmt.Errorf("%w: for a %s callback (wrong secret, or a field was changed)", ErrBadHash, x.Type())
	}
	cb, err := decodeXGateway(&x, hash)
	if err != nil {
		return XGatewayCallback{}, fmt.Errorf("%w: %w", ErrMalformedBody, err)
	}
	return cb, nil
}

// decodeXGateway builds the typed callback of an authenticated body.
func decodeXGateway(x *wire.XGateway, hash string) (XGatewayCallback, error) {
	d := xgatewayDecoder{x: x}
	cb := XGatewayCallback{Type: x.Type()}
	switch cb.Type {
	case XGatewayTypeKYC:
		cb.KYC = &XGatewayKYC{
			CallbackType:           cb.Type,
			CustomerID:             d.str("customerId"),
			DocsMissing:            d.docs(),
			Hash:                   hash,
			KYCRejectLabel:         d.str("kycRejectLabel"),
			KYCEndUserErrorMessage: d.str("kycEndUserErrorMessage"),
			Status:                 XGatewayStatus(d.str("status")),
			KYCProcessingStatus:    d.str("kycProcessingStatus"),
		}
	case XGatewayTypeTransaction:
		cb.Transaction = &XGatewayTransaction{
			CallbackType:    cb.Type,
			ID:              d.str("id"),
			CustomerID:      d.str("customerId"),
			Amount:          d.str("amount"),
			Currency:        d.str("currency"),
			Status:          d.str("status"),
			InvoiceID:       d.str("invoiceId"),
			OrderID:         d.str("orderId"),
			Network:         d.str("network"),
			TransactionHash: d.str("transactionHash"),
			Type:            d.str("type"),
			ApplicationID:   d.str("applicationId"),
			Info:            d.object("info"),
			Fee:             d.object("fee"),
			Hash:            hash,
		}
	case XGatewayTypeBankAccount:
		cb.BankAccount = &XGatewayBankAccount{
			CallbackType:  cb.Type,
			CustomerID:    d.str("customerId"),
			Currency:      d.str("currency"),
			IBAN:          d.str("iban"),
			BIC:           d.str("bic"),
			AccountNumber: d.str("accountNumber"),
			SortCode:      d.str("sortCode"),
			Country:       d.str("country"),
			Status:        d.str("status"),
			Hash:          hash,
		}
	}
	return cb, d.err
}

// xgatewayDecoder reads typed values from a parsed body, keeping the first
// error.
type xgatewayDecoder struct {
	x   *wire.XGateway
	err error
}

func (d *xgatewayDecoder) str(name string) string {
	s, err := d.x.String(name)
	if err != nil && d.err == nil {
		d.err = err
	}
	return s
}

// docs decodes docsMissing in both documented shapes; null and absent
// decode as an empty, non-nil slice.
func (d *xgatewayDecoder) docs() []string {
	raw := d.x.Raw("docsMissing")
	if raw == nil || string(raw) == "null" {
		return []string{}
	}
	var entries []docEntry
	if err := json.Unmarshal(raw, &entries); err != nil {
		if d.err == nil {
			d.err = fmt.Errorf("docsMissing: %s", describeJSONError(err))
		}
		return nil
	}
	docs := make([]string, len(entries))
	for i, e := range entries {
		docs[i] = string(e)
	}
	return docs
}

// object returns a nested object as sent, nil for null or absent.
func (d *xgatewayDecoder) object(name string) json.RawMessage {
	raw := d.x.Raw(name)
	if raw == nil || string(raw) == "null" {
		return nil
	}
	return bytes.Clone(raw)
}
