package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kyccb/kyccb"
)

// sep12Callback is a body signed as SEP-12 signs: a customer callback at
// the top level, or a SEP-6, SEP-24 or SEP-31 transaction callback under
// "transaction".
type sep12Callback struct {
	kyccb.Customer
	Transaction *kyccb.Transaction `json:"transaction"`
}

// decodeSEP12Callback decodes a verified body and tells its kind as
// kyccb's handlers do (SEP12Verifier.CombinedHandler): a transaction needs
// an id, a customer a status, and a body with both or neither is refused.
// The errors match kyccb.ErrMalformedBody, as the handlers' do.
func decodeSEP12Callback(body []byte) (sep12Callback, error) {
	var cb sep12Callback
	if err := json.Unmarshal(body, &cb); err != nil {
		return cb, fmt.Errorf("%w: a value of the wrong type", kyccb.ErrMalformedBody)
	}
	switch {
	case cb.Transaction != nil && cb.Status != "":
		return cb, fmt.Errorf("%w: both a customer status and a transaction", kyccb.ErrMalformedBody)
	case cb.Transaction != nil && cb.Transaction.ID == "":
		return cb, fmt.Errorf("%w: a transaction without an id", kyccb.ErrMalformedBody)
	case cb.Transaction == nil && cb.Status == "":
		return cb, fmt.Errorf("%w: neither a customer with a status nor a transaction", kyccb.ErrMalformedBody)
	}
	return cb, nil
}

// addSEP12 records what a SEP-12-signed body says: a customer's or a
// transaction's.
func (r *report) addSEP12(body []byte) {
	var probe struct {
		Transaction json.RawMessage `json:"transaction"`
	}
	if json.Unmarshal(body, &probe) == nil && len(probe.Transaction) > 0 && string(probe.Transaction) != "null" {
		r.addTransaction(body)
		return
	}
	r.addCustomer(body)
}

// addTransaction records what a transaction callback's body says. An
// accepted body decoded already, so errors here only concern rejected
// ones.
func (r *report) addTransaction(body []byte) {
	var cb sep12Callback
	if json.Unmarshal(body, &cb) != nil || cb.Transaction == nil {
		return
	}
	tx := cb.Transaction
	if !r.accepted() {
		r.claim(claims{CallbackType: "transaction", TransactionID: tx.ID, Status: string(tx.Status)})
		return // the rest is unauthenticated detail
	}
	r.CallbackType, r.TransactionID, r.Status = "transaction", tx.ID, string(tx.Status)
	r.Payload, _ = json.Marshal(tx)
	if tx.Kind != "" {
		r.details = append(r.details, field{label: "kind", value: string(tx.Kind)})
	}
	if tx.AmountIn != "" || tx.AmountOut != "" {
		r.details = append(r.details, field{label: "amounts", value: strings.TrimSpace(
			fmt.Sprintf("in %s %s, out %s %s", or(tx.AmountIn, "-"), tx.AmountInAsset, or(tx.AmountOut, "-"), tx.AmountOutAsset))})
	}
	if tx.UpdatedAt.IsZero() {
		r.Notes = append(r.Notes, "no updated_at: this callback cannot be ordered against the transaction's others; read the transaction from the anchor when the order matters")
	} else {
		r.details = append(r.details, field{label: "updated", value: tx.UpdatedAt.Format(time.RFC3339Nano)})
	}
	if m := or(tx.Message, tx.StatusMessage); m != "" {
		r.details = append(r.details, field{label: "message", value: m})
	}
	needs := slices.Clone(tx.RequiredCustomerInfoUpdates)
	for name := range tx.RequiredInfoUpdates {
		needs = append(needs, name)
	}
	if len(needs) > 0 {
		slices.Sort(needs)
		r.details = append(r.details, field{label: "needs", value: strings.Join(needs, ", ")})
	}
}

func or(s, alt string) string {
	if s != "" {
		return s
	}
	return alt
}
