package localanchor

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kyccb/kyccb"
)

// This file is the anchor's SEP-6 transfer server, for the KYC flow of the
// Anchor Platform (ANCHOR-746): a deposit or withdrawal waits in
// pending_customer_info_update until its customer is complete, and the
// customer's SEP-12 status drives the transaction's.

// Asset is the one asset the anchor's SEP-6 server offers.
const Asset = "USDC"

// The SEP-6 transaction statuses the anchor uses.
const (
	TxPendingCustomerInfoUpdate = "pending_customer_info_update"
	TxPendingAnchor             = "pending_anchor"
	TxPendingUserTransferStart  = "pending_user_transfer_start"
	TxError                     = "error"
)

// txStatus returns the transaction status for a customer status, as the
// Anchor Platform maps them (ANCHOR-746).
func txStatus(st kyccb.Status) string {
	switch st {
	case kyccb.StatusProcessing:
		return TxPendingAnchor
	case kyccb.StatusAccepted:
		return TxPendingUserTransferStart
	case kyccb.StatusRejected:
		return TxError
	}
	return TxPendingCustomerInfoUpdate
}

// transaction is one SEP-6 transaction. Its fields are guarded by
// Anchor.mu.
type transaction struct {
	id, kind, status string
	customer         *customer
	amount           string
	callback         string // on_change_callback, "" for none
	started, updated time.Time
	completed        time.Time
	message          string
}

// TransactionJSON is a SEP-6 transaction as GET /transaction shows it,
// inside {"transaction": ...}, and as its on_change_callback receives it.
type transactionJSON struct {
	ID                          string   `json:"id"`
	Kind                        string   `json:"kind"`
	Status                      string   `json:"status"`
	AmountIn                    string   `json:"amount_in,omitempty"`
	AmountInAsset               string   `json:"amount_in_asset,omitempty"`
	StartedAt                   string   `json:"started_at"`
	UpdatedAt                   string   `json:"updated_at"`
	CompletedAt                 string   `json:"completed_at,omitempty"`
	To                          string   `json:"to,omitempty"`
	From                        string   `json:"from,omitempty"`
	Message                     string   `json:"message,omitempty"`
	RequiredCustomerInfoMessage string   `json:"required_customer_info_message,omitempty"`
	RequiredCustomerInfoUpdates []string `json:"required_customer_info_updates,omitempty"`
}

// view returns t as SEP-6 shows it.
func (t *transaction) view() transactionJSON {
	v := transactionJSON{
		ID: t.id, Kind: t.kind, Status: t.status,
		StartedAt: rfc3339(t.started), UpdatedAt: rfc3339(t.updated),
		Message: t.message,
	}
	if !t.completed.IsZero() {
		v.CompletedAt = rfc3339(t.completed)
	}
	if t.amount != "" {
		v.AmountIn, v.AmountInAsset = t.amount, "stellar:"+Asset
	}
	account, _, _ := strings.Cut(t.customer.subject, ":")
	if t.kind == "deposit" {
		v.To = account
	} else {
		v.From = account
	}
	if t.status == TxPendingCustomerInfoUpdate {
		for name := range missingFields(t.customer.provided) {
			v.RequiredCustomerInfoUpdates = append(v.RequiredCustomerInfoUpdates, name)
		}
		slices.Sort(v.RequiredCustomerInfoUpdates)
		v.RequiredCustomerInfoMessage = "SEP-12: PUT /customer with these fields, and transaction_id"
	}
	return v
}

// body returns {"transaction": ...}, the body of GET /transaction and of
// the on_change_callback.
func (t *transaction) body() []byte {
	b, err := json.Marshal(struct {
		Transaction transactionJSON `json:"transaction"`
	}{t.view()})
	if err != nil {
		panic(err) // strings only
	}
	return b
}

// rfc3339 formats a time as SEP-6 shows it: RFC 3339 in UTC, with
// milliseconds, which ISO 8601 allows and every client reads.
func rfc3339(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }

// changed returns the time of a change of t made at now: now to the
// millisecond, or a millisecond after t's last change when that is not
// earlier, so that each change of a transaction has an updated_at later
// than the one before and a wallet can order its callbacks by it (a clock
// that stands still, or two changes in one millisecond, would give two
// statuses one time, which nothing can order).
func (t *transaction) changed(now time.Time) time.Time {
	now = now.Truncate(time.Millisecond)
	if !now.After(t.updated) {
		now = t.updated.Add(time.Millisecond)
	}
	return now
}

// info serves GET /info, without a JWT: USDC deposits and withdrawals, no
// fee endpoint, the transaction endpoints.
func (a *Anchor) info(w http.ResponseWriter, r *http.Request) {
	type asset struct {
		Enabled                bool                       `json:"enabled"`
		AuthenticationRequired bool                       `json:"authentication_required"`
		MinAmount              int                        `json:"min_amount"`
		MaxAmount              int                        `json:"max_amount"`
		Types                  map[string]json.RawMessage `json:"types,omitempty"`
	}
	type endpoint struct {
		Enabled                bool `json:"enabled"`
		AuthenticationRequired bool `json:"authentication_required"`
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"deposit":      map[string]asset{Asset: {Enabled: true, AuthenticationRequired: true, MinAmount: 1, MaxAmount: 1000000}},
		"withdraw":     map[string]asset{Asset: {Enabled: true, AuthenticationRequired: true, MinAmount: 1, MaxAmount: 1000000, Types: map[string]json.RawMessage{"bank_account": json.RawMessage(`{"fields":{}}`)}}},
		"fee":          map[string]bool{"enabled": false},
		"transactions": endpoint{true, true},
		"transaction":  endpoint{true, true},
		"features":     map[string]bool{"account_creation": false, "claimable_balances": false},
	})
}

// transfer serves GET /deposit and GET /withdraw: it makes a transaction
// for the JWT's customer (created if needed), in the status its customer's
// status maps to, and answers 200 with its id. kind is "deposit" or
// "withdrawal".
func (a *Anchor) transfer(kind string) func(http.ResponseWriter, *http.Request, string) {
	return func(w http.ResponseWriter, r *http.Request, sub string) {
		q := first(r.URL.Query())
		if q["asset_code"] != Asset {
			a.refuse(w, r, http.StatusBadRequest, "asset_code must be "+Asset+", the one asset of this anchor", nil)
			return
		}
		if q["amount"] != "" {
			if n, err := strconv.ParseFloat(q["amount"], 64); err != nil || n <= 0 || n > 1000000 {
				a.refuse(w, r, http.StatusBadRequest, "amount must be a number from 1 to 1000000", nil)
				return
			}
		}
		callback := q["on_change_callback"]
		if callback == "postMessage" {
			callback = "" // for SEP-24's popups; nothing to send here
		}
		if callback != "" {
			if err := checkCallbackURL(callback); err != nil {
				a.refuse(w, r, http.StatusBadRequest, "on_change_callback must be an absolute http or https URL on a loopback host: the local anchor sends nowhere else", err)
				return
			}
		}
		key, ok := a.customerKey(w, r, sub, q)
		if !ok {
			return
		}
		a.mu.Lock()
		c := a.customerLocked(key, "")
		now := a.cfg.Now().Truncate(time.Millisecond)
		t := &transaction{id: newID(), kind: kind, status: txStatus(c.status), customer: c,
			amount: q["amount"], callback: callback, started: now, updated: now}
		if t.status == TxError {
			t.message, t.completed = c.message, now
		}
		a.txs[t.id] = t
		c.txs = append(c.txs, t)
		a.txChangedLocked(t)
		a.mu.Unlock()

		reply := map[string]string{"id": t.id}
		if kind == "deposit" {
			reply["how"] = "kyccb's local anchor transfers nothing: the transaction is for testing a wallet's flow"
		} else {
			reply["account_id"], reply["memo_type"], reply["memo"] = a.kp.Address(), "id", "1"
		}
		writeJSON(w, http.StatusOK, reply)
	}
}

// txChangedLocked reports t's status and queues its body for its
// on_change_callback, if it has one. a.mu must be held.
func (a *Anchor) txChangedLocked(t *transaction) {
	ev := Event{Kind: EventTransaction, Customer: t.customer.id, Account: t.customer.subject, Transaction: t.id, Status: t.status}
	if t.callback == "" {
		ev.NoCallback = "no callback: the transaction has no on_change_callback"
	}
	a.emit(ev)
	if t.callback != "" && !a.closed {
		a.queueLocked(t.customer, outgoing{url: t.callback, body: t.body(), status: t.status, tx: t.id})
	}
}

// customerChangedLocked moves c's transactions to the status c's status
// maps to, reporting and delivering each change, before the customer's
// own callback is queued: the Anchor Platform updates the transaction,
// then sends the customer. A transaction in error stays there. a.mu must
// be held.
func (a *Anchor) customerChangedLocked(c *customer) {
	st := txStatus(c.status)
	for _, t := range c.txs {
		if t.status == TxError || t.status == st {
			continue
		}
		t.status, t.updated = st, t.changed(a.cfg.Now())
		if st == TxError {
			t.message, t.completed = c.message, t.updated
		}
		a.txChangedLocked(t)
	}
}

// transactionCustomerLocked returns the id of the customer of the SEP-6
// transaction id, and false if there is no such transaction of key's.
// a.mu must be held.
func (a *Anchor) transactionCustomerLocked(key, id string) (string, bool) {
	t := a.txs[id]
	if t == nil || a.lookupLocked(key, t.customer.id) == nil {
		return "", false
	}
	return t.customer.id, true
}

// getTransaction serves GET /transaction?id=: {"transaction": ...} of one
// of the JWT's transactions, 404 for any other.
func (a *Anchor) getTransaction(w http.ResponseWriter, r *http.Request, sub string) {
	q := first(r.URL.Query())
	key, ok := a.customerKey(w, r, sub, q)
	if !ok {
		return
	}
	a.mu.Lock()
	var body []byte
	if _, ok := a.transactionCustomerLocked(key, q["id"]); ok {
		body = a.txs[q["id"]].body()
	}
	a.mu.Unlock()
	if body == nil {
		a.refuse(w, r, http.StatusNotFound, "transaction not found", nil)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Write(body)
}

// getTransactions serves GET /transactions?asset_code=USDC[&kind=][&limit=]:
// {"transactions": [...]}, the JWT's, newest first.
func (a *Anchor) getTransactions(w http.ResponseWriter, r *http.Request, sub string) {
	q := first(r.URL.Query())
	if q["asset_code"] != Asset {
		a.refuse(w, r, http.StatusBadRequest, "asset_code must be "+Asset+", the one asset of this anchor", nil)
		return
	}
	limit := -1
	if l := q["limit"]; l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 {
			a.refuse(w, r, http.StatusBadRequest, "limit must be a positive number", nil)
			return
		}
		limit = n
	}
	key, ok := a.customerKey(w, r, sub, q)
	if !ok {
		return
	}
	list := []transactionJSON{}
	a.mu.Lock()
	if c := a.bySubject[key]; c != nil {
		for _, t := range slices.Backward(c.txs) {
			if q["kind"] != "" && !slices.Contains(strings.Split(q["kind"], ","), t.kind) {
				continue
			}
			if len(list) == limit {
				break
			}
			list = append(list, t.view())
		}
	}
	a.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string][]transactionJSON{"transactions": list})
}
