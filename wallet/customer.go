package wallet

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/kyccb/kyccb"
)

// maxCustomerBytes is the longest GET /customer reply read: the body limit
// the receiving handlers apply to the same JSON sent as a callback.
const maxCustomerBytes = kyccb.DefaultMaxBodyBytes

// CustomerQuery names the customer [GetCustomer] reads: the parameters of
// SEP-12's GET /customer. Empty fields are not sent. With none set, the
// anchor answers for the customer of the JWT's account (and memo, if the
// JWT was issued for one).
type CustomerQuery struct {
	// ID is the anchor's customer id, from an earlier PUT /customer or a
	// callback. With it, the anchor needs nothing else.
	ID string
	// Account is the customer's Stellar account. Deprecated by SEP-12:
	// the anchor takes it from the JWT.
	Account string
	// Memo tells customers apart who share an account.
	Memo string
	// MemoType is Memo's type: "text", "id" or "hash". Deprecated by
	// SEP-12.
	MemoType string
	// Type is the kind of customer the anchor should answer for, such as
	// "sep31-sender": what it asks for may depend on it.
	Type string
	// TransactionID is the transaction the customer's information is
	// for, when what the anchor asks for depends on it.
	TransactionID string
	// Lang is the language, as an ISO 639-1 code, of the descriptions and
	// message in the reply.
	Lang string
}

// GetCustomer reads the customer that q names from the anchor whose KYC
// server is kycServer (see [KYCServer]): it sends GET {kycServer}/customer
// with q as query parameters and jwt, the wallet's SEP-10 token, as a
// Bearer token, and returns the customer's current status as the anchor
// states it. A callback is a prompt to call it: see the package
// documentation.
//
// Before any request it checks kycServer and jwt as [RegisterCallback] does,
// and that q.MemoType is empty, text, id or hash; an error matches
// [kyccb.ErrConfig]. A 2xx reply must be a JSON object with a status, of
// at most [kyccb.DefaultMaxBodyBytes], and, when q.ID is set and the reply
// has an id, for that customer; otherwise the error matches [ErrBadReply].
// Any other reply, redirects included (they are not followed: the request
// carries the JWT), returns an [*AnchorError]: SEP-12 documents 401 for a
// JWT that is missing, expired or not the customer's, and 404 for a
// customer the anchor does not know. No error repeats the JWT or a URL.
//
// The options that apply are [WithHTTPClient] and [WithRequestTimeout]. It
// is safe for concurrent use.
func GetCustomer(ctx context.Context, kycServer, jwt string, q CustomerQuery, opts ...Option) (kyccb.Customer, error) {
	cfg, err := newConfig(false, opts)
	if err != nil {
		return kyccb.Customer{}, err
	}
	server, err := checkURL("KYC server URL", kycServer)
	if err != nil {
		return kyccb.Customer{}, err
	}
	if err := checkJWT(jwt); err != nil {
		return kyccb.Customer{}, err
	}
	if err := checkMemoType(q.MemoType); err != nil {
		return kyccb.Customer{}, err
	}

	u := server.JoinPath("customer")
	params := u.Query() // kept: a KYC server URL may carry a query of its own
	for _, p := range []struct{ name, v string }{
		{"id", q.ID},
		{"account", q.Account},
		{"memo", q.Memo},
		{"memo_type", q.MemoType},
		{"type", q.Type},
		{"transaction_id", q.TransactionID},
		{"lang", q.Lang},
	} {
		if p.v != "" {
			params.Set(p.name, p.v)
		}
	}
	u.RawQuery = params.Encode()

	status, reply, err := cfg.request(ctx, http.MethodGet, u, jwt, nil, maxCustomerBytes)
	if err != nil {
		return kyccb.Customer{}, fmt.Errorf("kyccb: reading the customer: %w", err)
	}
	if status < 200 || status > 299 {
		return kyccb.Customer{}, &AnchorError{StatusCode: status, Message: anchorMessage(reply)}
	}
	return decodeCustomer(reply, q.ID)
}

// decodeCustomer decodes a GET /customer reply read with room for one byte
// more than the limit. The errors describe the reply without quoting it.
func decodeCustomer(reply []byte, id string) (kyccb.Customer, error) {
	if len(reply) > maxCustomerBytes {
		return kyccb.Customer{}, fmt.Errorf("%w: the customer is longer than %d bytes", ErrBadReply, maxCustomerBytes)
	}
	// json.Unmarshal would take null for an empty customer.
	if t := bytes.TrimLeft(reply, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return kyccb.Customer{}, fmt.Errorf("%w: the customer is not a JSON object", ErrBadReply)
	}
	var c kyccb.Customer
	if err := json.Unmarshal(reply, &c); err != nil {
		// Not err's text: encoding/json's messages quote the input.
		return kyccb.Customer{}, fmt.Errorf("%w: the customer is not the JSON SEP-12 defines", ErrBadReply)
	}
	switch {
	case c.Status == "":
		return kyccb.Customer{}, fmt.Errorf("%w: the customer has no status", ErrBadReply)
	case id != "" && c.ID != "" && c.ID != id:
		// Applied to the customer asked for, another one's status would
		// be wrong in the wallet's records.
		return kyccb.Customer{}, fmt.Errorf("%w: the reply is for another customer than asked for", ErrBadReply)
	}
	return c, nil
}
