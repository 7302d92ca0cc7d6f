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
	"first_name":    {Type: "string", Description: "first or given name"},
	"last_name":     {Type: "string", Description: "last or family name"},
	"email_address": {Type: "string", Description: "email address"},
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

	gen      uint64 // bumped to stop the running script
	scripted bool   // a script runs for gen
	outbox   []outgoing
	sending  bool // a goroutine drains outbox
	deleted  bool
}

// outgoing is one callback waiting to be sent.
type outgoing struct {
	url    string
	body   []byte
	status kyccb.Status
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
			v.ProvidedFields[name] = kyccb.ProvidedField{Type: t, Description: requiredFields[name].Description, Status: fs}
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

// lookupLocked returns the customer with id, if it belongs to sub, or
// without id the customer of sub; nil if there is none.
func (a *Anchor) lookupLocked(sub, id string) *customer {
	if id != "" {
		if c := a.customers[id]; c != nil && c.subject == sub {
			return c
		}
		return nil
	}
	return a.bySubject[sub]
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
	id := r.URL.Query().Get("id")
	a.mu.Lock()
	c := a.lookupLocked(sub, id)
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
	id := fields["id"]
	a.mu.Lock()
	c := a.customerLocked(sub, id)
	if c == nil {
		a.mu.Unlock()
		a.refuse(w, r, http.StatusNotFound, "customer not found", nil)
		return
	}
	for name := range fields {
		if !reservedFields[name] {
			c.provided[name] = "string"
		}
	}
	for name := range files {
		c.provided[name] = "binary"
	}
	if c.status == kyccb.StatusNeedsInfo && hasAll(c.provided) {
		a.setStatusLocked(c, kyccb.StatusProcessing, "")
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
		if !(r == '_' || 'a' <= r && r <= 'z' || '0' <= r && r <= '9') {
			return false
		}
	}
	return true
}

// putCallback serves PUT /customer/callback: it registers the customer's
// callback URL (creating the customer if the account has none yet),
// replacing any earlier one, and starts the status script unless one is
// running. It answers 200 {"id": ...}.
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
	id := fields["id"]
	a.mu.Lock()
	c := a.customerLocked(sub, id)
	if c == nil {
		a.mu.Unlock()
		a.refuse(w, r, http.StatusNotFound, "customer not found", nil)
		return
	}
	c.url = raw
	if !c.scripted && !a.closed {
		c.gen++
		c.scripted = true
		a.wg.Add(1)
		go a.runScript(c, c.gen)
	}
	id = c.id
	a.emit(Event{Kind: EventRegistered, Customer: id, Account: sub, URL: raw})
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

// deleteCustomer serves DELETE /customer/{account}: it forgets the customer
// of the JWT's subject, stopping its script and its pending callbacks. The
// account must be the JWT's (401), and have a customer (404).
func (a *Anchor) deleteCustomer(w http.ResponseWriter, r *http.Request, sub string) {
	account, _, _ := strings.Cut(sub, ":")
	if r.PathValue("account") != account {
		a.refuse(w, r, http.StatusUnauthorized, "the account is not the JWT's", nil)
		return
	}
	a.mu.Lock()
	c := a.bySubject[sub]
	if c != nil {
		delete(a.bySubject, sub)
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
	w.WriteHeader(http.StatusOK)
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
// empty, the account's own, made if it has none yet. It returns nil when
// id names no customer of the account. a.mu must be held.
func (a *Anchor) customerLocked(sub, id string) *customer {
	c := a.lookupLocked(sub, id)
	if c == nil && id == "" {
		c = a.newCustomerLocked(sub)
	}
	return c
}
