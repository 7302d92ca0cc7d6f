package kyccb

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
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

// Field describes a piece of information the anchor asks for: a
// customer's (SEP-12), or a transaction's in [InfoFields], whose fields
// have no Type.
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

// sep12Body is the body of a callback signed as SEP-12 signs: a
// customer's (SEP-12) at the top level, or a transaction's (SEP-6, SEP-24,
// SEP-31) under "transaction". One decode tells them apart.
type sep12Body struct {
	Customer
	Transaction *transactionWire `json:"transaction"`
}

// The bodies no SEP sends, and the bodies of the other kind of callback.
var (
	errNoStatus        = fmt.Errorf("%w: neither a customer with a status nor a transaction", ErrMalformedBody)
	errTransactionNoID = fmt.Errorf("%w: a transaction without an id", ErrMalformedBody)
	errBothKinds       = fmt.Errorf("%w: both a customer status and a transaction", ErrMalformedBody)
	errNotCustomer     = fmt.Errorf("%w: a transaction callback, where customer callbacks are expected", ErrMalformedBody)
	errNotTransaction  = fmt.Errorf("%w: a customer callback, where transaction callbacks are expected", ErrMalformedBody)
)

// decodeSEP12 decodes body, which the verifier has already seen start as a
// JSON object, as a customer or a transaction callback. A customer without
// a status, a transaction without an id, and a body with both are refused:
// the SEPs send none of them, and half of one must not pass for the other.
func decodeSEP12(body []byte) (sep12Body, error) {
	var cb sep12Body
	if err := decodeObject(body, &cb); err != nil {
		return sep12Body{}, err
	}
	switch {
	case cb.Transaction != nil && cb.Status != "":
		return sep12Body{}, errBothKinds
	case cb.Transaction != nil && cb.Transaction.ID == "":
		return sep12Body{}, errTransactionNoID
	case cb.Transaction == nil && cb.Status == "":
		return sep12Body{}, errNoStatus
	}
	return cb, nil
}

// describeJSONError says what is wrong with a body without quoting it:
// encoding/json's own messages include bytes of the input.
func describeJSONError(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.Is(err, errTimeFormat):
		return "a time in no known format"
	case errors.As(err, &syn):
		return fmt.Sprintf("invalid JSON at byte %d", syn.Offset)
	case errors.As(err, &typ):
		// Not typ.Field: its path includes map keys from the input.
		return fmt.Sprintf("a value of the wrong type at byte %d", typ.Offset)
	default:
		return "invalid JSON"
	}
}

// TransactionKind is the kind of a SEP-6, SEP-24 or SEP-31 transaction.
// Anchors may add kinds: an unknown one decodes as it was sent.
type TransactionKind string

// The transaction kinds of SEP-6 and SEP-24, and the one the Anchor
// Platform gives SEP-31 transactions (SEP-31 itself sends no kind).
const (
	KindDeposit            TransactionKind = "deposit"
	KindWithdrawal         TransactionKind = "withdrawal"
	KindDepositExchange    TransactionKind = "deposit-exchange"    // SEP-6 with a SEP-38 quote
	KindWithdrawalExchange TransactionKind = "withdrawal-exchange" // SEP-6 with a SEP-38 quote
	KindReceive            TransactionKind = "receive"             // SEP-31, as the Anchor Platform names it
)

// TransactionStatus is the status of a SEP-6, SEP-24 or SEP-31
// transaction. Anchors may add statuses: an unknown one decodes as it was
// sent.
type TransactionStatus string

// The transaction statuses SEP-6, SEP-24 and SEP-31 list. Each SEP uses a
// subset: pending_sender and pending_receiver are SEP-31's alone;
// pending_customer_info_update and pending_transaction_info_update are
// SEP-6's and SEP-31's.
const (
	TransactionIncomplete                   TransactionStatus = "incomplete"                      // not enough information yet to start
	TransactionPendingUserTransferStart     TransactionStatus = "pending_user_transfer_start"     // the user has not yet sent funds to the anchor
	TransactionPendingUserTransferComplete  TransactionStatus = "pending_user_transfer_complete"  // withdrawal: the funds are ready for the user to pick up
	TransactionPendingExternal              TransactionStatus = "pending_external"                // submitted to an external network, not yet confirmed
	TransactionPendingAnchor                TransactionStatus = "pending_anchor"                  // being processed by the anchor
	TransactionOnHold                       TransactionStatus = "on_hold"                         // held for more checks after the funds arrived
	TransactionPendingStellar               TransactionStatus = "pending_stellar"                 // submitted to the Stellar network, not yet confirmed
	TransactionPendingTrust                 TransactionStatus = "pending_trust"                   // the user must add a trustline for the asset
	TransactionPendingUser                  TransactionStatus = "pending_user"                    // the user must act before it can complete
	TransactionPendingCustomerInfoUpdate    TransactionStatus = "pending_customer_info_update"    // SEP-12 KYC information must be updated
	TransactionPendingTransactionInfoUpdate TransactionStatus = "pending_transaction_info_update" // see Transaction.RequiredInfoUpdates
	TransactionPendingSender                TransactionStatus = "pending_sender"                  // SEP-31: awaiting the sending anchor's payment
	TransactionPendingReceiver              TransactionStatus = "pending_receiver"                // SEP-31: being processed by the receiving anchor
	TransactionCompleted                    TransactionStatus = "completed"                       // done
	TransactionRefunded                     TransactionStatus = "refunded"                        // fully refunded: see Transaction.Refunds
	TransactionExpired                      TransactionStatus = "expired"                         // abandoned: the funds never arrived
	TransactionNoMarket                     TransactionStatus = "no_market"                       // no market to create the account with
	TransactionTooSmall                     TransactionStatus = "too_small"                       // below the asset's min_amount
	TransactionTooLarge                     TransactionStatus = "too_large"                       // above the asset's max_amount
	TransactionError                        TransactionStatus = "error"                           // any other failure
)

// Transaction is the transaction in the body of a SEP-6 or SEP-24
// on_change_callback (or SEP-24 callback) and of a SEP-31 transaction
// callback: the same JSON as the anchor's GET /transaction response, whose
// fields it has, all of them optional but ID and Status (and Kind, which
// SEP-31 leaves out). Amounts are decimal strings as sent. Times are read
// in RFC 3339 with or without fractional seconds, and also with a space
// for the "T" or without a zone (taken as UTC, as the SEPs say their times
// are), as anchors send them, and given in UTC; an absent, null or empty
// time is the zero time. A value of another type than the SEPs give it (a
// number for an amount, say) makes the body malformed. Fields the anchor
// adds are ignored; [RawBody] has the body as it was signed.
type Transaction struct {
	// ID is the anchor's transaction id, never empty in a callback that
	// reached the function.
	ID string `json:"id"`
	// Kind is the kind of transaction; SEP-31 anchors may send none.
	Kind TransactionKind `json:"kind,omitempty"`
	// Status is the transaction's status.
	Status TransactionStatus `json:"status"`
	// StatusETA is the anchor's estimate of the seconds until the status
	// changes, 0 when it gave none.
	StatusETA int64 `json:"status_eta,omitempty"`
	// StatusMessage describes the status (SEP-31).
	StatusMessage string `json:"status_message,omitempty"`
	// KYCVerified reports whether the anchor verified the user's KYC
	// information for this transaction (SEP-24).
	KYCVerified bool `json:"kyc_verified,omitempty"`
	// MoreInfoURL is a page about the transaction for the user.
	MoreInfoURL string `json:"more_info_url,omitempty"`

	// AmountIn is the amount the anchor received or will receive, in
	// AmountInAsset.
	AmountIn      string `json:"amount_in,omitempty"`
	AmountInAsset string `json:"amount_in_asset,omitempty"` // a SEP-38 asset, e.g. "iso4217:BRL"
	// AmountOut is the amount the anchor sent or will send the user, in
	// AmountOutAsset.
	AmountOut      string `json:"amount_out,omitempty"`
	AmountOutAsset string `json:"amount_out_asset,omitempty"`
	// AmountFee and AmountFeeAsset are deprecated by the SEPs in favour of
	// FeeDetails, and still sent.
	AmountFee      string `json:"amount_fee,omitempty"`
	AmountFeeAsset string `json:"amount_fee_asset,omitempty"`
	// FeeDetails is the fee the anchor charged, nil when it sent none.
	FeeDetails *FeeDetails `json:"fee_details,omitempty"`
	// QuoteID is the SEP-38 quote the transaction was made with.
	QuoteID string `json:"quote_id,omitempty"`

	// StartedAt is when the transaction started.
	StartedAt time.Time `json:"started_at,omitzero"`
	// UpdatedAt is when the transaction reached its current status: what
	// orders two callbacks about one transaction (see [WithDedup]). It is
	// zero when the anchor sent none, and then nothing can order them.
	UpdatedAt time.Time `json:"updated_at,omitzero"`
	// CompletedAt is when the transaction was completed or refunded.
	CompletedAt time.Time `json:"completed_at,omitzero"`
	// UserActionRequiredBy is when the user must have acted (in
	// pending_user_transfer_start or incomplete, say) before the anchor
	// moves the transaction on, to expired or refunded.
	UserActionRequiredBy time.Time `json:"user_action_required_by,omitzero"`

	// StellarTransactionID is the hash of the Stellar transaction that
	// completed the deposit or started the withdrawal or payment.
	StellarTransactionID string `json:"stellar_transaction_id,omitempty"`
	// ExternalTransactionID is the id of the transaction on the external
	// network (a bank transfer's reference, say).
	ExternalTransactionID string `json:"external_transaction_id,omitempty"`
	// Message explains the status to the user.
	Message string `json:"message,omitempty"`

	// Refunded is deprecated by the SEPs in favour of Refunds and the
	// refunded status: true when the transaction was refunded in full.
	Refunded bool `json:"refunded,omitempty"`
	// Refunds describes the refunds made, nil when the anchor sent none.
	Refunds *Refunds `json:"refunds,omitempty"`

	// From and To are the accounts the funds came from and went to: a
	// bank account, an IBAN or a Stellar account, depending on the kind.
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
	// ExternalExtra and ExternalExtraText identify the external account's
	// institution (a routing number and the bank's name, say; SEP-6).
	ExternalExtra     string `json:"external_extra,omitempty"`
	ExternalExtraText string `json:"external_extra_text,omitempty"`
	// DepositMemo and DepositMemoType are the memo of a deposit's payment
	// to To.
	DepositMemo     string `json:"deposit_memo,omitempty"`
	DepositMemoType string `json:"deposit_memo_type,omitempty"`
	// WithdrawAnchorAccount is the anchor's Stellar account the user pays
	// a withdrawal to, with WithdrawMemo of WithdrawMemoType.
	WithdrawAnchorAccount string `json:"withdraw_anchor_account,omitempty"`
	WithdrawMemo          string `json:"withdraw_memo,omitempty"`
	WithdrawMemoType      string `json:"withdraw_memo_type,omitempty"`
	// StellarAccountID is the receiving anchor's Stellar account the
	// sending anchor pays, with StellarMemo of StellarMemoType (SEP-31).
	StellarAccountID string `json:"stellar_account_id,omitempty"`
	StellarMemo      string `json:"stellar_memo,omitempty"`
	StellarMemoType  string `json:"stellar_memo_type,omitempty"`
	// ClaimableBalanceID is the claimable balance a deposit was paid with.
	ClaimableBalanceID string `json:"claimable_balance_id,omitempty"`
	// SenderID and ReceiverID are the SEP-12 customer ids of a SEP-31
	// payment's sender and receiver, where the anchor sends them.
	SenderID   string `json:"sender_id,omitempty"`
	ReceiverID string `json:"receiver_id,omitempty"`

	// RequiredInfoMessage says why the anchor needs RequiredInfoUpdates
	// (status pending_transaction_info_update).
	RequiredInfoMessage string `json:"required_info_message,omitempty"`
	// RequiredInfoUpdates are the transaction fields the anchor asks to be
	// updated (status pending_transaction_info_update).
	RequiredInfoUpdates InfoFields `json:"required_info_updates,omitempty"`
	// RequiredCustomerInfoMessage says why the anchor needs
	// RequiredCustomerInfoUpdates (SEP-6).
	RequiredCustomerInfoMessage string `json:"required_customer_info_message,omitempty"`
	// RequiredCustomerInfoUpdates names the SEP-9 fields to update through
	// SEP-12 PUT /customer (SEP-6, status pending_customer_info_update).
	RequiredCustomerInfoUpdates []string `json:"required_customer_info_updates,omitempty"`
	// Instructions tell the user how to complete an off-chain deposit,
	// keyed by SEP-9 financial account field name (SEP-6).
	Instructions map[string]Instruction `json:"instructions,omitempty"`
}

// FeeDetails is the fee an anchor charged for a transaction.
type FeeDetails struct {
	// Total is the whole fee, in Asset (a SEP-38 asset).
	Total string `json:"total"`
	Asset string `json:"asset"`
	// Details, if any, are the fee's parts.
	Details []FeeDetail `json:"details,omitempty"`
}

// FeeDetail is one part of a [FeeDetails].
type FeeDetail struct {
	Name        string `json:"name"` // such as "ACH fee"
	Amount      string `json:"amount"`
	Description string `json:"description,omitempty"`
}

// Refunds describes the refunds made for a transaction, in units of its
// AmountInAsset.
type Refunds struct {
	// AmountRefunded is the total refunded; AmountFee, the total charged
	// for refunding.
	AmountRefunded string          `json:"amount_refunded"`
	AmountFee      string          `json:"amount_fee"`
	Payments       []RefundPayment `json:"payments,omitempty"`
}

// RefundPayment is one payment of a refund.
type RefundPayment struct {
	// ID is a Stellar transaction hash or an off-chain reference, as
	// IDType says: "stellar" or "external" (SEP-31 sends no IDType: its
	// refunds are Stellar payments). It need not be unique.
	ID     string `json:"id"`
	IDType string `json:"id_type,omitempty"`
	Amount string `json:"amount"`
	Fee    string `json:"fee"`
}

// Instruction is one SEP-9 field of a deposit's instructions, such as
// "organization.bank_account_number".
type Instruction struct {
	Value       string `json:"value"`
	Description string `json:"description,omitempty"`
}

// InfoFields are the fields an anchor asks to be updated, keyed by name.
// Both shapes anchors send decode into it: the SEPs' object of fields
// (with or without a "transaction" object around it, as in the SEPs'
// examples) and the Anchor Platform's list of names, whose entries have an
// empty [Field]. It encodes as the object, without the wrapper.
type InfoFields map[string]Field

// UnmarshalJSON reads either shape of an [InfoFields].
func (f *InfoFields) UnmarshalJSON(b []byte) error {
	b = bytes.TrimLeft(b, " \t\r\n")
	switch {
	case len(b) == 0:
		return errors.New("kyccb: empty JSON value")
	case b[0] == 'n':
		return json.Unmarshal(b, new(struct{})) // null leaves the map as it is
	case b[0] == '[':
		var names []string
		if err := json.Unmarshal(b, &names); err != nil {
			return err
		}
		m := make(InfoFields, len(names))
		for _, n := range names {
			m[n] = Field{}
		}
		*f = m
		return nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	// The SEPs' examples wrap the fields in "transaction"; a field of that
	// name would hold strings, which no map of fields does.
	if raw, ok := m["transaction"]; ok && len(m) == 1 {
		var inner map[string]Field
		if json.Unmarshal(raw, &inner) == nil {
			*f = inner
			return nil
		}
	}
	var fields map[string]Field
	if err := json.Unmarshal(b, &fields); err != nil {
		return err
	}
	*f = fields
	return nil
}

// plainTransaction is a Transaction without its methods, for decoding.
type plainTransaction Transaction

// transactionWire is a Transaction as sent: its times in the forms anchors
// write them. Its own fields hide the time.Time fields of the embedded
// plainTransaction.
type transactionWire struct {
	plainTransaction
	StartedAt            wireTime `json:"started_at"`
	UpdatedAt            wireTime `json:"updated_at"`
	CompletedAt          wireTime `json:"completed_at"`
	UserActionRequiredBy wireTime `json:"user_action_required_by"`
}

func (w *transactionWire) transaction() Transaction {
	t := Transaction(w.plainTransaction)
	t.StartedAt = time.Time(w.StartedAt)
	t.UpdatedAt = time.Time(w.UpdatedAt)
	t.CompletedAt = time.Time(w.CompletedAt)
	t.UserActionRequiredBy = time.Time(w.UserActionRequiredBy)
	return t
}

// UnmarshalJSON decodes a transaction, with its times read as described at
// [Transaction].
func (t *Transaction) UnmarshalJSON(b []byte) error {
	var w transactionWire
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*t = w.transaction()
	return nil
}

// wireTime is a time as anchors send it.
type wireTime time.Time

// Time layouts anchors write, tried in order after RFC 3339 (which takes
// fractional seconds too): Python's isoformat and str without a zone, and
// with a space for the "T".
var timeLayouts = []string{
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
}

var errTimeFormat = errors.New("kyccb: a time in no known format")

func (t *wireTime) UnmarshalJSON(b []byte) error {
	if len(b) == 0 || b[0] != '"' {
		if string(b) == "null" {
			return nil
		}
		return errTimeFormat
	}
	if len(b) < 2 || b[len(b)-1] != '"' {
		return errTimeFormat
	}
	s := b[1 : len(b)-1]
	if len(s) == 0 {
		*t = wireTime{}
		return nil
	}
	if bytes.IndexByte(s, '\\') >= 0 {
		return errTimeFormat // no layout has an escape
	}
	if v, err := time.Parse(time.RFC3339, string(s)); err == nil {
		*t = wireTime(v.UTC())
		return nil
	}
	for _, layout := range timeLayouts {
		if v, err := time.Parse(layout, string(s)); err == nil {
			*t = wireTime(v.UTC()) // without a zone: UTC, as the SEPs' times are
			return nil
		}
	}
	return errTimeFormat
}
