package localanchor

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/kyccb/kyccb/internal/httpx"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/kyccb/kyccb"
)

// Body limits: SEP-10 and callback registrations are small; PUT /customer
// may carry ID photos.
const (
	maxBodyBytes   = 64 << 10
	maxUploadBytes = 10 << 20
)

// requiredFields are the SEP-9 fields the anchor asks every customer for.
var requiredFields = map[string]kyccb.Field{
	"first_name":    {Type: "string", Description: sep9Fields["first_name"].description},
	"last_name":     {Type: "string", Description: sep9Fields["last_name"].description},
	"email_address": {Type: "string", Description: sep9Fields["email_address"].description},
}

// defaultRejection is the message of a REJECTED customer when none was
// given: SEP-12 requires one.
const defaultRejection = "rejected by the local anchor"

// customer is what the anchor knows of one customer. Its fields are
// guarded by Anchor.mu.
type customer struct {
	id      string
	subject string // the JWT subject: account or account:memo
	status  kyccb.Status
	message string
	// provided are the names of the fields the customer gave, with their
	// type; their values are not kept.
	provided map[string]string
	url      string // the callback URL, "" when none is registered
	ended    bool   // a registration ended at ACCEPTED or REJECTED

	txs      []*transaction // SEP-6 transactions, oldest first
	gen      uint64         // bumped to stop the running script
	scripted bool           // a script runs for gen
	outbox   []outgoing
	sending  bool // a goroutine drains outbox
	deleted  bool
}

// outgoing is one callback waiting to be sent: a customer's, or a SEP-6
// transaction's (tx is its id).
type outgoing struct {
	url    string
	body   []byte
	status string
	tx     string
}

// view returns the customer as GET /customer shows it.
func (c *customer) view() kyccb.Customer {
	v := kyccb.Customer{ID: c.id, Status: c.status, Message: c.message}
	if c.status == kyccb.StatusNeedsInfo {
		v.Fields = missingFields(c.provided)
	}
	if len(c.provided) > 0 {
		// The review state follows the customer's: accepted with it,
		// rejected with it, under review otherwise.
		fs := "PROCESSING"
		switch c.status {
		case kyccb.StatusAccepted:
			fs = "ACCEPTED"
		case kyccb.StatusRejected:
			fs = "REJECTED"
		}
		v.ProvidedFields = make(map[string]kyccb.ProvidedField, len(c.provided))
		for name, t := range c.provided {
			_, desc := fieldInfo(name, t == "binary")
			v.ProvidedFields[name] = kyccb.ProvidedField{Type: t, Description: desc, Status: fs}
		}
	}
	return v
}

// body returns the customer's GET /customer body: compact JSON, map keys
// sorted, so the same state always gives the same bytes.
func (c *customer) body() []byte {
	b, err := json.Marshal(c.view())
	if err != nil {
		panic(err) // strings and maps of strings only
	}
	return b
}

// missingFields returns the required fields not provided. SEP-12 wants
// fields with NEEDS_INFO: when everything was provided, they are all asked
// for again, as an anchor does that wants them resubmitted.
func missingFields(provided map[string]string) map[string]kyccb.Field {
	m := make(map[string]kyccb.Field)
	for name, f := range requiredFields {
		if _, ok := provided[name]; !ok {
			m[name] = f
		}
	}
	if len(m) == 0 {
		maps.Copy(m, requiredFields)
	}
	return m
}

// lookupLocked returns the customer with id, if it belongs to key, or
// without id the customer of key; nil if there is none. key is what
// [Anchor.customerKey] returns: a customer of a shared account ("G...:7")
// belongs to its own key and to the account's memo-less key ("G..."),
// whose JWT proves control of every memo.
func (a *Anchor) lookupLocked(key, id string) *customer {
	if id != "" {
		c := a.customers[id]
		if c != nil && (c.subject == key || !strings.Contains(key, ":") && strings.HasPrefix(c.subject, key+":")) {
			return c
		}
		return nil
	}
	return a.bySubject[key]
}

// customerKey returns the key of the customer a SEP-12 request names: the
// JWT's subject, or, for a memo-less JWT of a G... account given a memo
// parameter, "account:memo" (SEP-12's shared accounts). It refuses an
// account parameter other than the JWT's (403), a memo other than the
// JWT's (403), and a memo that is not an ID memo or goes with a muxed
// account (400); it replies and returns false then.
func (a *Anchor) customerKey(w http.ResponseWriter, r *http.Request, sub string, params map[string]string) (string, bool) {
	account, subMemo, hasMemo := strings.Cut(sub, ":")
	if p := params["account"]; p != "" && p != account {
		a.refuse(w, r, http.StatusForbidden, "account is not the JWT's account", nil)
		return "", false
	}
	memo := params["memo"]
	if memo == "" {
		return sub, true
	}
	if t := params["memo_type"]; t != "" && t != "id" {
		a.refuse(w, r, http.StatusBadRequest, "memo_type must be id: this anchor's memos are ID memos", nil)
		return "", false
	}
	n, err := strconv.ParseUint(memo, 10, 64)
	if err != nil {
		a.refuse(w, r, http.StatusBadRequest, "memo must be an ID memo, a decimal number", nil)
		return "", false
	}
	memo = strconv.FormatUint(n, 10)
	switch {
	case hasMemo && memo != subMemo:
		a.refuse(w, r, http.StatusForbidden, "memo is not the JWT's memo", nil)
		return "", false
	case hasMemo:
		return sub, true
	case strings.HasPrefix(account, "M"):
		a.refuse(w, r, http.StatusBadRequest, "a muxed account's customer takes no memo", nil)
		return "", false
	}
	return account + ":" + memo, true
}

// newCustomerLocked creates the customer of sub, NEEDS_INFO.
func (a *Anchor) newCustomerLocked(sub string) *customer {
	c := &customer{id: newID(), subject: sub, status: kyccb.StatusNeedsInfo, provided: make(map[string]string)}
	a.customers[c.id] = c
	a.bySubject[sub] = c
	return c
}

// newID returns a random UUID (version 4), the kind of id the Anchor
// Platform gives customers.
func newID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// getCustomer serves GET /customer[?id=]. Without id, an account the anchor
// does not know gets a NEEDS_INFO body without id, as SEP-12 says; an id
// that is not the account's gets 404.
func (a *Anchor) getCustomer(w http.ResponseWriter, r *http.Request, sub string) {
	params := first(r.URL.Query())
	key, ok := a.customerKey(w, r, sub, params)
	if !ok {
		return
	}
	a.mu.Lock()
	id, ok := a.requestedCustomerLocked(key, params)
	if !ok {
		a.mu.Unlock()
		a.refuse(w, r, http.StatusNotFound, "transaction not found", nil)
		return
	}
	c := a.lookupLocked(key, id)
	var body []byte
	if c != nil {
		body = c.body()
	}
	a.mu.Unlock()
	switch {
	case c == nil && id != "":
		a.refuse(w, r, http.StatusNotFound, "customer not found", nil)
		return
	case c == nil:
		body = (&customer{status: kyccb.StatusNeedsInfo}).body()
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Write(body)
}

// requestedCustomerLocked returns the id of the customer a request names:
// its id, or without one the customer of its transaction_id, the SEP-6
// transaction of key's account; false when there is no such transaction.
// An id of "" names the account's customer without one. a.mu is held.
func (a *Anchor) requestedCustomerLocked(key string, params map[string]string) (string, bool) {
	if id := params["id"]; id != "" || params["transaction_id"] == "" {
		return id, true
	}
	return a.transactionCustomerLocked(key, params["transaction_id"])
}

// reservedFields are PUT /customer parameters that are not customer fields.
var reservedFields = map[string]bool{
	"id": true, "account": true, "memo": true, "memo_type": true,
	"type": true, "transaction_id": true, "lang": true,
}

// putCustomer serves PUT /customer: it remembers the names of the fields
// given (not their values), creates the customer if needed, and answers 202
// {"id": ...}. A NEEDS_INFO customer that has now given every required
// field moves to PROCESSING, with a callback.
func (a *Anchor) putCustomer(w http.ResponseWriter, r *http.Request, sub string) {
	fields, files, err := readFields(w, r, maxUploadBytes)
	if err != nil {
		a.refuse(w, r, http.StatusBadRequest, "the body must be JSON, a form or a multipart form of SEP-9 fields", err)
		return
	}
	for name := range fields {
		if !validFieldName(name) {
			a.refuse(w, r, http.StatusBadRequest, "field names are SEP-9 names: lowercase letters, digits and _", nil)
			return
		}
	}
	for name := range files {
		if !validFieldName(name) {
			a.refuse(w, r, http.StatusBadRequest, "field names are SEP-9 names: lowercase letters, digits and _", nil)
			return
		}
	}
	key, ok := a.customerKey(w, r, sub, fields)
	if !ok {
		return
	}
	a.mu.Lock()
	id, ok := a.requestedCustomerLocked(key, fields)
	if !ok {
		a.mu.Unlock()
		a.refuse(w, r, http.StatusNotFound, "transaction not found", nil)
		return
	}
	c := a.customerLocked(key, id)
	if c == nil {
		a.mu.Unlock()
		a.refuse(w, r, http.StatusNotFound, "customer not found", nil)
		return
	}
	// Each field is typed as SEP-9 says, however it came: a binary field
	// sent as a multipart part without a filename is still binary.
	for name := range fields {
		if !reservedFields[name] {
			c.provided[name], _ = fieldInfo(name, false)
		}
	}
	for name := range files {
		c.provided[name], _ = fieldInfo(name, true)
	}
	if c.status == kyccb.StatusNeedsInfo && hasAll(c.provided) {
		a.setStatusLocked(c, kyccb.StatusProcessing, "")
		if len(c.txs) > 0 && !c.scripted && !a.closed {
			// A customer of a SEP-6 transaction is reviewed: after
			// Every, the script's outcome, as an anchor's review ends.
			a.startScriptLocked(c, []kyccb.Status{a.outcome()})
		}
	}
	id = c.id
	a.mu.Unlock()
	writeJSON(w, http.StatusAccepted, struct {
		ID string `json:"id"`
	}{id})
}

// hasAll reports whether every required field was provided.
func hasAll(provided map[string]string) bool {
	for name := range requiredFields {
		if _, ok := provided[name]; !ok {
			return false
		}
	}
	return true
}

func validFieldName(name string) bool {
	if name == "" || len(name) > 64 {
		return false
	}
	for _, r := range name {
		// SEP-9's organization fields have a dot: organization.name.
		if !(r == '_' || r == '.' || 'a' <= r && r <= 'z' || '0' <= r && r <= '9') {
			return false
		}
	}
	return true
}

// putCallback serves PUT /customer/callback: it registers the customer's
// callback URL, replacing any earlier one, and starts the status script
// unless one is running. It answers 200 {"id": ...}. An id that names no
// customer of the JWT's gets 404, as SEP-12 says; without an id, an
// account with no customer yet gets a new NEEDS_INFO one rather than 404,
// a documented choice: so that `kyccb register` alone, as the anchor's
// banner prints it, starts a fresh account's callbacks.
func (a *Anchor) putCallback(w http.ResponseWriter, r *http.Request, sub string) {
	fields, _, err := readFields(w, r, maxBodyBytes)
	if err != nil {
		a.refuse(w, r, http.StatusBadRequest, "the body must be JSON or a form with a url", err)
		return
	}
	raw := fields["url"]
	if err := checkCallbackURL(raw); err != nil {
		// The URL is not repeated, not even in the event: it was refused
		// because it points elsewhere, and may carry a token.
		a.refuse(w, r, http.StatusBadRequest, "url must be an absolute http or https URL on a loopback host: the local anchor sends nowhere else", err)
		return
	}
	key, ok := a.customerKey(w, r, sub, fields)
	if !ok {
		return
	}
	id := fields["id"]
	a.mu.Lock()
	c := a.customerLocked(key, id)
	if c == nil {
		a.mu.Unlock()
		a.refuse(w, r, http.StatusNotFound, "customer not found", nil)
		return
	}
	c.url, c.ended = raw, false
	if !c.scripted && !a.closed && len(c.txs) == 0 {
		// A customer of a SEP-6 transaction follows the transaction's
		// flow instead: fields, review, outcome.
		a.startScriptLocked(c, a.statuses)
	}
	id = c.id
	a.emit(Event{Kind: EventRegistered, Customer: id, Account: key, URL: raw})
	a.mu.Unlock()
	writeJSON(w, http.StatusOK, struct {
		ID string `json:"id"`
	}{id})
}

// checkCallbackURL accepts only absolute http or https URLs on a loopback
// host: 127.0.0.0/8, ::1 or localhost.
func checkCallbackURL(raw string) error {
	if raw == "" {
		return errors.New("no url")
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return errors.New("not an absolute URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return errors.New("not http or https")
	}
	if !httpx.IsLoopback(u.Hostname()) {
		return errors.New("not a loopback host")
	}
	return nil
}

// deleteCustomer serves DELETE /customer/{account}[?memo=] (the memo may
// come in a JSON or form body too): it forgets the customer, stopping its
// script and its pending callbacks, and answers 200 {}. The account must
// be the JWT's (401), and have a customer (404).
func (a *Anchor) deleteCustomer(w http.ResponseWriter, r *http.Request, sub string) {
	account, _, _ := strings.Cut(sub, ":")
	if r.PathValue("account") != account {
		a.refuse(w, r, http.StatusUnauthorized, "the account is not the JWT's", nil)
		return
	}
	params := first(r.URL.Query())
	if r.ContentLength != 0 {
		fields, _, err := readFields(w, r, maxBodyBytes)
		if err != nil {
			a.refuse(w, r, http.StatusBadRequest, "the body must be JSON or a form", err)
			return
		}
		if params["memo"] == "" {
			params["memo"], params["memo_type"] = fields["memo"], fields["memo_type"]
		}
	}
	key, ok := a.customerKey(w, r, sub, params)
	if !ok {
		return
	}
	a.mu.Lock()
	c := a.bySubject[key]
	if c != nil {
		delete(a.bySubject, key)
		delete(a.customers, c.id)
		c.deleted = true
		c.gen++
		c.url = ""
		c.outbox = nil
	}
	a.mu.Unlock()
	if c == nil {
		a.refuse(w, r, http.StatusNotFound, "customer not found", nil)
		return
	}
	// SEP-12 gives no body; SEP-12 wants application/json of every reply.
	writeJSON(w, http.StatusOK, struct{}{})
}

// readFields reads a body of string fields: JSON (an object of strings,
// numbers or booleans), a form, or a multipart form, whose files are given
// by name only. limit bounds the body.
func readFields(w http.ResponseWriter, r *http.Request, limit int64) (map[string]string, map[string]bool, error) {
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if r.Header.Get("Content-Type") == "" {
		ct, err = "application/json", nil
	}
	if err != nil {
		return nil, nil, errors.New("unreadable Content-Type")
	}
	switch ct {
	case "application/json":
		var obj map[string]any
		d := json.NewDecoder(r.Body)
		d.UseNumber()
		if err := d.Decode(&obj); err != nil {
			return nil, nil, errors.New("not a JSON object")
		}
		fields := make(map[string]string, len(obj))
		for k, v := range obj {
			switch v := v.(type) {
			case string:
				fields[k] = v
			case json.Number:
				fields[k] = v.String()
			case bool:
				fields[k] = strconv.FormatBool(v)
			case nil:
			default:
				return nil, nil, errors.New("a JSON value that is not a string, a number or a boolean")
			}
		}
		return fields, nil, nil
	case "application/x-www-form-urlencoded":
		if err := r.ParseForm(); err != nil {
			return nil, nil, errors.New("not a form")
		}
		return first(r.PostForm), nil, nil
	case "multipart/form-data":
		if err := r.ParseMultipartForm(1 << 20); err != nil {
			return nil, nil, errors.New("not a multipart form")
		}
		defer r.MultipartForm.RemoveAll()
		files := make(map[string]bool, len(r.MultipartForm.File))
		for name := range r.MultipartForm.File {
			files[name] = true
		}
		return first(r.MultipartForm.Value), files, nil
	default:
		return nil, nil, errors.New("a Content-Type other than JSON, form or multipart form")
	}
}

func first(v map[string][]string) map[string]string {
	m := make(map[string]string, len(v))
	for k, vs := range v {
		if len(vs) > 0 {
			m[k] = vs[0]
		}
	}
	return m
}

// customerLocked returns the customer a request names: id, or, when id is
// empty, the one of key, made if it has none yet. It returns nil when id
// names no customer of key's. a.mu must be held.
func (a *Anchor) customerLocked(key, id string) *customer {
	c := a.lookupLocked(key, id)
	if c == nil && id == "" {
		c = a.newCustomerLocked(key)
	}
	return c
}
