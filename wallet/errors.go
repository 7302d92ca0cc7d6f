package wallet

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// ErrTOML: an anchor's stellar.toml could not be fetched or read, lacks a
// field the call needs, or has a field that is refused (see [StellarTOML]).
// The error says which; it names fields, never quotes the file. An
// unusable domain or option matches kyccb.ErrConfig instead.
var ErrTOML = errors.New("kyccb: unusable stellar.toml")

// ErrBadReply: an anchor answered a request with success, but not with
// what the request asks for, such as a [GetCustomer] reply that is not a
// SEP-12 customer. The error says what is wrong; it never quotes the reply.
var ErrBadReply = errors.New("kyccb: malformed reply from the anchor")

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

// Error returns "kyccb: anchor replied <status> <text>" and the anchor's
// message, quoted.
func (e *AnchorError) Error() string {
	msg := strings.TrimSpace(fmt.Sprintf("kyccb: anchor replied %d %s", e.StatusCode, http.StatusText(e.StatusCode)))
	if e.Message == "" {
		return msg
	}
	// Quoted: the text is the anchor's and may hold anything.
	return msg + ": " + strconv.Quote(e.Message)
}
