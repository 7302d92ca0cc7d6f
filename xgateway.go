package kyccb

import (
	"bytes"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
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
		return configError("empty XGateway secret")
	}
	if strings.TrimSpace(secret) != secret {
		return configError("XGateway secret has leading or trailing white space")
	}
	return nil
}

// String describes v without its secret.
func (v *XGatewayVerifier) String() string { return "kyccb.XGatewayVerifier{secret: redacted}" }

// GoString describes v without its secret, for %#v.
func (v *XGatewayVerifier) GoString() string { return v.String() }

// LogValue describes v without its secret, for log/slog.
func (v *XGatewayVerifier) LogValue() slog.Value { return slog.StringValue(v.String()) }

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
