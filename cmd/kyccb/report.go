package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/kyccb/kyccb"
	"github.com/kyccb/kyccb/internal/wire"
)

// report is the verdict on one callback with what explains it; listen,
// verify and demo print it, as text or as one JSON object.
//
// What the body says is in CustomerID, Status and CallbackType only when
// the callback was accepted; for a rejected one it is a claim anyone could
// have made, and goes in Unverified instead: in JSON, a rejected callback
// has no top-level customer_id and status (see MarshalJSON).
type report struct {
	Time       time.Time `json:"time"`
	Method     string    `json:"method,omitempty"`
	Path       string    `json:"path,omitempty"`
	Mode       string    `json:"mode"`                  // sep12 or xgateway
	Verdict    string    `json:"verdict"`               // accepted or rejected
	Reason     string    `json:"reason"`                // the library's reason for a rejection, "" when accepted
	HTTPStatus int       `json:"http_status,omitempty"` // the reply the sender got (listen)
	// CustomerID and Status are read from an accepted callback's body.
	CustomerID   string          `json:"customer_id"`
	Status       string          `json:"status"`
	CallbackType string          `json:"callback_type,omitempty"` // XGateway
	Unverified   *claims         `json:"unverified,omitempty"`    // what a rejected callback's body claims
	Host         string          `json:"host,omitempty"`          // SEP-12: the host checked against
	SignedHost   string          `json:"signed_host,omitempty"`   // SEP-12, verify: the host an accepted signature covers
	SignedAt     int64           `json:"signed_at,omitempty"`     // SEP-12: the header's t
	AgeSeconds   *int64          `json:"age_s,omitempty"`         // SEP-12: clock minus t
	Diagnosis    []string        `json:"diagnosis,omitempty"`
	Notes        []string        `json:"notes,omitempty"`
	Payload      json.RawMessage `json:"payload,omitempty"` // the decoded payload, accepted callbacks only
	Forward      *forwardResult  `json:"forward,omitempty"`

	// TransactionID is read from an accepted SEP-6, SEP-24 or SEP-31
	// callback's body, whose CallbackType is then "transaction".
	TransactionID string `json:"transaction_id,omitempty"`

	details []field // decoded fields worth a line of text
	// unprocessed: the callback was authenticated and answered 200
	// without being processed (a replay, a redelivery, an older status);
	// its Verdict is "rejected" all the same, so that nothing reads its
	// customer as one acted on.
	unprocessed bool
}

// claims is what the body of a rejected callback says about itself:
// unauthenticated, shown to help debugging and never to act on.
type claims struct {
	CustomerID   string `json:"customer_id,omitempty"`
	Status       string `json:"status,omitempty"`
	CallbackType string `json:"callback_type,omitempty"` // XGateway

	TransactionID string `json:"transaction_id,omitempty"` // SEP-6, SEP-24, SEP-31
}

// MarshalJSON writes an accepted report as its fields say, and a rejected
// one without the top-level customer_id and status, whose values are under
// "unverified": a script reading .customer_id must not find a forger's.
func (r *report) MarshalJSON() ([]byte, error) {
	type plain report // without this method
	if r.accepted() {
		return json.Marshal((*plain)(r))
	}
	return json.Marshal(struct {
		*plain
		// Shallower than plain's fields of the same names, so these win;
		// nil and omitempty, so they are left out.
		CustomerID *struct{} `json:"customer_id,omitempty"`
		Status     *struct{} `json:"status,omitempty"`

		TransactionID *struct{} `json:"transaction_id,omitempty"`
	}{plain: (*plain)(r)})
}

// claim records what a rejected callback's body says; an empty claim is
// not recorded.
func (r *report) claim(c claims) {
	if c != (claims{}) {
		r.Unverified = &c
	}
}

// forwardResult is what the user's app answered a forwarded callback.
type forwardResult struct {
	URL        string `json:"url"`
	HTTPStatus int    `json:"http_status,omitempty"`
	Error      string `json:"error,omitempty"`
	// Hint says what to fix when the app refused a verified callback.
	Hint string `json:"hint,omitempty"`
}

func (r *report) accepted() bool { return r.Verdict == "accepted" }

// reportFor starts a report on a callback the library judged with err.
func reportFor(mode string, err error, at time.Time) *report {
	r := &report{Time: at.UTC(), Mode: mode, Verdict: "accepted"}
	if err != nil {
		r.Verdict, r.Reason = "rejected", err.Error()
		r.unprocessed = errors.Is(err, kyccb.ErrReplay) || errors.Is(err, kyccb.ErrStale) || errors.Is(err, kyccb.ErrDuplicate)
	}
	return r
}

// addSignature records the SEP-12 signing time of h relative to now.
func (r *report) addSignature(h http.Header, now time.Time) {
	sig, err := wire.ParseSignature(wire.SignatureValue(h))
	if err != nil {
		return
	}
	age := int64(now.Sub(sig.Time).Round(time.Second) / time.Second)
	r.SignedAt, r.AgeSeconds = sig.Time.Unix(), &age
}

// addCustomer records what a SEP-12 body says. An accepted body decoded
// when the library checked it, so errors here only concern rejected ones.
func (r *report) addCustomer(body []byte) {
	var c kyccb.Customer
	if json.Unmarshal(body, &c) != nil {
		return
	}
	if !r.accepted() {
		r.claim(claims{CustomerID: c.ID, Status: string(c.Status)})
		return // the rest is unauthenticated detail
	}
	r.CustomerID, r.Status = c.ID, string(c.Status)
	r.Payload, _ = json.Marshal(c)
	if c.Message != "" {
		r.details = append(r.details, field{label: "message", value: c.Message})
	}
	if len(c.Fields) > 0 {
		names := make([]string, 0, len(c.Fields))
		for name, f := range c.Fields {
			if f.Optional {
				name += " (optional)"
			}
			names = append(names, name)
		}
		sort.Strings(names)
		r.details = append(r.details, field{label: "needs", value: strings.Join(names, ", ")})
	}
	if len(c.ProvidedFields) > 0 {
		names := make([]string, 0, len(c.ProvidedFields))
		for name, f := range c.ProvidedFields {
			s := name + " " + string(f.Status)
			if f.Error != "" {
				s += " (" + f.Error + ")"
			}
			names = append(names, s)
		}
		sort.Strings(names)
		r.details = append(r.details, field{label: "provided", value: strings.Join(names, ", ")})
	}
}

// addXGateway records what an XGateway body says: cb when it was verified,
// a best-effort reading of body otherwise.
func (r *report) addXGateway(cb *kyccb.XGatewayCallback, body []byte) {
	if cb == nil {
		// Read as the verifier reads it; a body it cannot read one way
		// makes no claim worth showing.
		if x, err := wire.ParseXGateway(body); err == nil {
			id, _ := x.String("customerId")
			status, _ := x.String("status")
			r.claim(claims{CustomerID: id, Status: status, CallbackType: x.Type()})
		}
		return
	}
	r.CallbackType = cb.Type
	switch {
	case cb.KYC != nil:
		k := cb.KYC
		r.CustomerID, r.Status = k.CustomerID, string(k.Status)
		r.Payload, _ = json.Marshal(k)
		if len(k.DocsMissing) > 0 {
			r.details = append(r.details, field{label: "docs missing", value: strings.Join(k.DocsMissing, ", ")})
		}
		if k.KYCRejectLabel != "" {
			r.details = append(r.details, field{label: "reject label", value: k.KYCRejectLabel})
		}
		if k.KYCEndUserErrorMessage != "" {
			r.details = append(r.details, field{label: "user message", value: k.KYCEndUserErrorMessage})
		}
		if k.KYCProcessingStatus != "" {
			r.details = append(r.details, field{label: "processing", value: k.KYCProcessingStatus})
		}
		r.Notes = append(r.Notes, "an XGateway KYC hash covers only customerId: status and every other field are unauthenticated, so confirm through XGateway's API before acting")
	case cb.Transaction != nil:
		t := cb.Transaction
		r.CustomerID, r.Status = t.CustomerID, t.Status
		r.Payload, _ = json.Marshal(t)
		r.details = append(r.details, field{label: "transaction", value: fmt.Sprintf("%s: %s %s", t.ID, t.Amount, t.Currency)})
	case cb.BankAccount != nil:
		b := cb.BankAccount
		r.CustomerID, r.Status = b.CustomerID, b.Status
		r.Payload, _ = json.Marshal(b)
		r.details = append(r.details, field{label: "currency", value: b.Currency})
	}
}

// modeName is how a mode reads in text.
func modeName(mode string) string {
	if mode == "xgateway" {
		return "XGateway"
	}
	return "SEP-12"
}

// writeText prints r as an aligned block: a verdict line, then one line per
// fact. prefix starts the verdict line (a time stamp, for listen).
func (r *report) writeText(w io.Writer, st style, prefix string) {
	head := prefix + st.bold(st.verdictWord(r.accepted())) + "  " + modeName(r.Mode)
	if r.Mode == "sep12" && r.CallbackType == "transaction" {
		head = prefix + st.bold(st.verdictWord(r.accepted())) + "  SEP-6/24/31 transaction"
	} else if r.CallbackType != "" {
		head += " " + termSafe(r.CallbackType)
	}
	head += " callback"
	if r.Method != "" {
		head += "  " + termSafe(r.Method+" "+r.Path)
	}
	if r.HTTPStatus != 0 {
		head += fmt.Sprintf("  -> %d", r.HTTPStatus)
	}
	fmt.Fprintln(w, head)

	var fs []field
	if r.Reason != "" {
		fs = append(fs, field{label: "reason", value: r.Reason})
	}
	if r.CustomerID != "" {
		fs = append(fs, field{label: "customer", value: r.CustomerID})
	}
	if r.TransactionID != "" {
		fs = append(fs, field{label: "transaction", value: r.TransactionID})
	}
	if r.Status != "" {
		fs = append(fs, field{label: "status", value: r.Status})
	}
	if c := r.Unverified; c != nil {
		for _, f := range []field{{label: "type", value: c.CallbackType}, {label: "customer", value: c.CustomerID}, {label: "transaction", value: c.TransactionID}, {label: "status", value: c.Status}} {
			if f.value != "" {
				f.value += " (unverified)"
				f.paint = st.dim
				fs = append(fs, f)
			}
		}
	}
	fs = append(fs, r.details...)
	if r.AgeSeconds != nil {
		fs = append(fs, field{label: "signed", value: fmt.Sprintf("t=%d, %s", r.SignedAt, ageText(*r.AgeSeconds))})
	}
	if len(r.Diagnosis) > 0 {
		fs = append(fs, field{label: "diagnosis", lines: r.Diagnosis, paint: st.yellow})
	}
	for _, n := range r.Notes {
		fs = append(fs, field{label: "note", value: n})
	}
	if f := r.Forward; f != nil {
		if f.Error != "" {
			fs = append(fs, field{label: "forwarded", value: f.URL + " -> failed: " + f.Error, paint: st.red})
		} else {
			fs = append(fs, field{label: "forwarded", value: fmt.Sprintf("%s -> %d %s", f.URL, f.HTTPStatus, http.StatusText(f.HTTPStatus))})
		}
		if f.Hint != "" {
			fs = append(fs, field{label: "hint", value: f.Hint, paint: st.yellow})
		}
	}
	writeFields(w, st, "  ", fs)
}

func ageText(sec int64) string {
	switch {
	case sec == 0:
		return "now"
	case sec > 0:
		return fmt.Sprintf("%d s ago", sec)
	default:
		return fmt.Sprintf("%d s in the future", -sec)
	}
}
