package kyccb

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Status is a SEP-12 customer status. Anchors may add statuses: an unknown
// one decodes as it was sent.
type Status string

// The SEP-12 customer statuses.
const (
	StatusAccepted   Status = "ACCEPTED"   // KYC passed; an anchor can later move the customer back
	StatusProcessing Status = "PROCESSING" // the anchor is reviewing what was provided
	StatusNeedsInfo  Status = "NEEDS_INFO" // more fields are required: see Customer.Fields
	StatusRejected   Status = "REJECTED"   // KYC failed for good: see Customer.Message
)

// Customer is the body of a SEP-12 customer callback: the same JSON as the
// anchor's GET /customer response. Fields the anchor adds are ignored.
type Customer struct {
	// ID is the anchor's customer id, if it sent one.
	ID string `json:"id,omitempty"`
	// Status is the customer's KYC status.
	Status Status `json:"status"`
	// Fields are what the anchor still needs, keyed by SEP-9 field name;
	// required with NEEDS_INFO.
	Fields map[string]Field `json:"fields,omitempty"`
	// ProvidedFields are what the customer gave, with its review state.
	ProvidedFields map[string]ProvidedField `json:"provided_fields,omitempty"`
	// Message is a human-readable explanation; required with REJECTED.
	Message string `json:"message,omitempty"`
}

// Field describes a piece of customer information the anchor asks for.
type Field struct {
	// Type is the value's type: "string", "binary", "number" or "date".
	Type        string `json:"type"`
	Description string `json:"description,omitempty"`
	// Choices, if any, are the only values the anchor accepts.
	Choices  []string `json:"choices,omitempty"`
	Optional bool     `json:"optional,omitempty"`
}

// ProvidedField describes a piece of customer information the customer has
// provided and its review state.
type ProvidedField struct {
	// Type is the value's type: "string", "binary", "number" or "date".
	Type        string   `json:"type"`
	Description string   `json:"description,omitempty"`
	Choices     []string `json:"choices,omitempty"`
	Optional    bool     `json:"optional,omitempty"`
	// Status is the anchor's review state of the value: "ACCEPTED",
	// "PROCESSING", "REJECTED" or "VERIFICATION_REQUIRED".
	Status string `json:"status,omitempty"`
	// Error says why the value was rejected.
	Error string `json:"error,omitempty"`
}

// XGatewayStatus is an XGateway KYC status. Unknown statuses decode as
// sent; a null status decodes as "".
type XGatewayStatus string

// The XGateway KYC statuses.
const (
	XGatewayCreated        XGatewayStatus = "CREATED"          // KYC user created
	XGatewayKYCNeeded      XGatewayStatus = "KYC_NEEDED"       // KYC process required
	XGatewayPendingKYCData XGatewayStatus = "PENDING_KYC_DATA" // awaiting KYC data
	XGatewayKYCPending     XGatewayStatus = "KYC_PENDING"      // KYC in progress
	XGatewaySoftKYCFailed  XGatewayStatus = "SOFT_KYC_FAILED"  // non-critical failure: the customer can fix it
	XGatewayHardKYCFailed  XGatewayStatus = "HARD_KYC_FAILED"  // critical failure
	XGatewayFullUser       XGatewayStatus = "FULL_USER"        // KYC passed; can be reversed later
)

// The XGateway callback types, in the callbackType field.
const (
	XGatewayTypeKYC         = "kyc"
	XGatewayTypeTransaction = "transaction"
	XGatewayTypeBankAccount = "bank_account"
)

// XGatewayKYC is an XGateway KYC callback. Null strings decode as "".
type XGatewayKYC struct {
	// CallbackType is always "kyc".
	CallbackType string `json:"callbackType"`
	// CustomerID is the merchant's own customer id.
	CustomerID string `json:"customerId"`
	// DocsMissing names the documents still needed. Both wire shapes,
	// ["SELFIE"] and [{"docType": "SELFIE"}], decode to plain strings; null
	// decodes to an empty, non-nil slice.
	DocsMissing []string `json:"docsMissing"`
	// Hash is the callback's hash field, already checked.
	Hash string `json:"hash"`
	// KYCRejectLabel is the rejection reason, e.g. "BAD_SELFIE, BAD_PASSPORT".
	KYCRejectLabel string `json:"kycRejectLabel"`
	// KYCEndUserErrorMessage describes the error for the end user.
	KYCEndUserErrorMessage string `json:"kycEndUserErrorMessage"`
	// Status is the KYC status.
	Status XGatewayStatus `json:"status"`
	// KYCProcessingStatus is the step in progress, "" when none is.
	KYCProcessingStatus string `json:"kycProcessingStatus"`
}

// XGatewayTransaction is an XGateway transaction callback. XGateway sends
// every value as a string; null strings decode as "".
type XGatewayTransaction struct {
	CallbackType    string `json:"callbackType"`
	ID              string `json:"id"`
	CustomerID      string `json:"customerId"`
	Amount          string `json:"amount"`
	Currency        string `json:"currency"`
	Status          string `json:"status"`
	InvoiceID       string `json:"invoiceId"`
	OrderID         string `json:"orderId"`
	Network         string `json:"network"`
	TransactionHash string `json:"transactionHash"`
	Type            string `json:"type"`
	ApplicationID   string `json:"applicationId"`
	// Info and Fee are the nested objects as sent; XGateway documents
	// their content per transaction type.
	Info json.RawMessage `json:"info,omitempty"`
	Fee  json.RawMessage `json:"fee,omitempty"`
	Hash string          `json:"hash"`
}

// XGatewayBankAccount is an XGateway bank account callback. Null strings
// decode as "".
type XGatewayBankAccount struct {
	CallbackType  string `json:"callbackType"`
	CustomerID    string `json:"customerId"`
	Currency      string `json:"currency"`
	IBAN          string `json:"iban"`
	BIC           string `json:"bic"`
	AccountNumber string `json:"accountNumber"`
	SortCode      string `json:"sortCode"`
	Country       string `json:"country"`
	// Status is PENDING or ACTIVE.
	Status string `json:"status"`
	Hash   string `json:"hash"`
}

// docEntry decodes both documented shapes of a docsMissing entry:
// "SELFIE" and {"docType": "SELFIE"}.
type docEntry string

func (d *docEntry) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*d = docEntry(s)
		return nil
	}
	var obj struct {
		DocType string `json:"docType"`
	}
	if err := json.Unmarshal(b, &obj); err != nil {
		return err
	}
	*d = docEntry(obj.DocType)
	return nil
}

// decodeObject decodes body, which the verifier has already seen start as
// a JSON object (json.Unmarshal alone would take null for a struct), into
// v.
func decodeObject(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("%w: %s", ErrMalformedBody, describeJSONError(err))
	}
	return nil
}

// describeJSONError says what is wrong with a body without quoting it:
// encoding/json's own messages include bytes of the input.
func describeJSONError(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("invalid JSON at byte %d", syn.Offset)
	case errors.As(err, &typ):
		// Not typ.Field: its path includes map keys from the input.
		return fmt.Sprintf("a value of the wrong type at byte %d", typ.Offset)
	default:
		return "invalid JSON"
	}
}
