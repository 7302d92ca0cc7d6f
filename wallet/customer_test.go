package wallet_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kyccb/kyccb"
	"github.com/kyccb/kyccb/internal/localanchor"
	"github.com/kyccb/kyccb/wallet"
	"github.com/kyccb/kyccb/wallet/sep10"
	"github.com/stellar/go-stellar-sdk/keypair"
)

// startAnchor serves the local anchor behind `kyccb anchor` on a free
// loopback port until the test ends. Its status script steps once an
// hour: tests drive customers by hand.
func startAnchor(t *testing.T) *localanchor.Anchor {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a, err := localanchor.New(localanchor.Config{Addr: l.Addr().String(), Every: time.Hour})
	if err != nil {
		l.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, l) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return a
}

// signIn signs a fresh account into a with SEP-10, as a wallet does, and
// returns the JWT.
func signIn(t *testing.T, a *localanchor.Anchor) string {
	t.Helper()
	domain := strings.TrimPrefix(a.URL(), "http://")
	toml, err := wallet.StellarTOML(t.Context(), domain)
	if err != nil {
		t.Fatal(err)
	}
	anchor, err := sep10.FromTOML(domain, toml)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := sep10.Authenticate(t.Context(), anchor, keypair.MustRandom().Seed())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// anchorCall makes a request to the local anchor, outside the wallet
// package, and returns the reply's body; it fails the test unless the
// status is want.
func anchorCall(t *testing.T, method, u, jwt, body string, want int) []byte {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if jwt != "" {
		req.Header.Set("Authorization", "Bearer "+jwt)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d %s, want %d", method, u, resp.StatusCode, b, want)
	}
	return b
}

// TestGetCustomer reads customers from the local anchor: what GetCustomer
// returns is what the anchor's GET /customer says, by id or for the JWT's
// account, after each change; the anchor's refusals come back as
// AnchorErrors that repeat neither the JWT nor the URL.
func TestGetCustomer(t *testing.T) {
	a := startAnchor(t)
	tok := signIn(t, a)
	ctx := t.Context()

	var created struct{ ID string }
	if err := json.Unmarshal(anchorCall(t, http.MethodPut, a.URL()+"/customer", tok, `{"first_name":"Ada"}`, http.StatusAccepted), &created); err != nil || created.ID == "" {
		t.Fatalf("PUT /customer: id %q, %v", created.ID, err)
	}
	// What the anchor itself answers, decoded by the root package's type.
	current := func() kyccb.Customer {
		var c kyccb.Customer
		if err := json.Unmarshal(anchorCall(t, http.MethodGet, a.URL()+"/customer?id="+created.ID, tok, "", http.StatusOK), &c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	setStatus := func(status, message string) {
		body, _ := json.Marshal(map[string]string{"status": status, "message": message})
		anchorCall(t, http.MethodPost, a.URL()+"/admin/customers/"+created.ID+"/status", "", string(body), http.StatusOK)
	}

	for _, step := range []struct{ status, message string }{
		{}, // as created: NEEDS_INFO, with the fields still missing
		{"PROCESSING", ""},
		{"REJECTED", "ID unreadable"},
		{"ACCEPTED", ""},
	} {
		if step.status != "" {
			setStatus(step.status, step.message)
		}
		want := current()
		if step.status != "" && (want.Status != kyccb.Status(step.status) || want.Message != step.message) {
			t.Fatalf("the anchor says %s %q, want %s %q", want.Status, want.Message, step.status, step.message)
		}
		for _, q := range []wallet.CustomerQuery{{ID: created.ID}, {}} {
			got, err := wallet.GetCustomer(ctx, a.URL(), tok, q)
			if err != nil {
				t.Fatalf("GetCustomer(%+v) at %s: %v", q, want.Status, err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("GetCustomer(%+v) at %s (-anchor +got):\n%s", q, want.Status, diff)
			}
		}
	}

	t.Run("a customer the anchor does not know", func(t *testing.T) {
		_, err := wallet.GetCustomer(ctx, a.URL(), tok, wallet.CustomerQuery{ID: "no-such-customer"})
		var ae *wallet.AnchorError
		if !errors.As(err, &ae) || ae.StatusCode != http.StatusNotFound || ae.Message != "customer not found" {
			t.Fatalf("GetCustomer: %v, want a 404 AnchorError", err)
		}
	})
	t.Run("another account's customer", func(t *testing.T) {
		_, err := wallet.GetCustomer(ctx, a.URL(), signIn(t, a), wallet.CustomerQuery{ID: created.ID})
		var ae *wallet.AnchorError
		if !errors.As(err, &ae) || ae.StatusCode != http.StatusNotFound {
			t.Fatalf("GetCustomer: %v, want a 404 AnchorError", err)
		}
	})
	t.Run("a JWT the anchor did not issue", func(t *testing.T) {
		forged := tok[:strings.LastIndexByte(tok, '.')] + ".c2lnbmF0dXJl"
		_, err := wallet.GetCustomer(ctx, a.URL(), forged, wallet.CustomerQuery{ID: created.ID})
		var ae *wallet.AnchorError
		if !errors.As(err, &ae) || ae.StatusCode != http.StatusUnauthorized {
			t.Fatalf("GetCustomer: %v, want a 401 AnchorError", err)
		}
		if msg := err.Error(); strings.Contains(msg, forged) || strings.Contains(msg, a.URL()) || strings.Contains(msg, created.ID) {
			t.Fatalf("the error %q repeats the JWT, the URL or the query", msg)
		}
	})
}

// customerStub is a KYC server on loopback that answers GET
// {prefix}/customer with a fixed reply and records the requests.
type customerStub struct {
	url string

	mu       sync.Mutex
	status   int
	header   http.Header
	reply    string
	requests []*http.Request
}

func newCustomerStub(t *testing.T, status int, reply string) *customerStub {
	t.Helper()
	s := &customerStub{status: status, reply: reply, header: http.Header{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests = append(s.requests, r)
		status, reply := s.status, s.reply
		for k, v := range s.header {
			w.Header()[k] = v
		}
		s.mu.Unlock()
		w.WriteHeader(status)
		io.WriteString(w, reply)
	}))
	t.Cleanup(srv.Close)
	s.url = srv.URL + "/sep12"
	return s
}

func (s *customerStub) got() []*http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*http.Request(nil), s.requests...)
}

// TestGetCustomerQuery checks the request: GET {server}/customer, the JWT
// as a Bearer token, each query field under its SEP-12 name, empty ones
// left out, and a query of the server URL's own kept.
func TestGetCustomerQuery(t *testing.T) {
	for _, tc := range []struct {
		name   string
		server string // appended to the stub's URL
		q      wallet.CustomerQuery
		want   url.Values
	}{
		{name: "nothing: the JWT's own customer", want: url.Values{}},
		{name: "an id", q: wallet.CustomerQuery{ID: "c-1"}, want: url.Values{"id": {"c-1"}}},
		{
			name: "every field",
			q: wallet.CustomerQuery{
				ID: "c-1", Account: "GA", Memo: "12", MemoType: "id",
				Type: "sep31-sender", TransactionID: "tx 1&x=y", Lang: "fr",
			},
			want: url.Values{
				"id": {"c-1"}, "account": {"GA"}, "memo": {"12"}, "memo_type": {"id"},
				"type": {"sep31-sender"}, "transaction_id": {"tx 1&x=y"}, "lang": {"fr"},
			},
		},
		{name: "an account and a memo", q: wallet.CustomerQuery{Account: "GA", Memo: "hello", MemoType: "text"}, want: url.Values{"account": {"GA"}, "memo": {"hello"}, "memo_type": {"text"}}},
		{name: "a server URL with a query", server: "?tenant=a", q: wallet.CustomerQuery{ID: "c-1"}, want: url.Values{"tenant": {"a"}, "id": {"c-1"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newCustomerStub(t, http.StatusOK, `{"id":"c-1","status":"ACCEPTED"}`)
			c, err := wallet.GetCustomer(t.Context(), s.url+tc.server, jwt, tc.q)
			if err != nil || c.Status != kyccb.StatusAccepted {
				t.Fatalf("GetCustomer: %+v, %v", c, err)
			}
			reqs := s.got()
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want 1", len(reqs))
			}
			r := reqs[0]
			if r.Method != http.MethodGet || r.URL.Path != "/sep12/customer" || r.Header.Get("Authorization") != "Bearer "+jwt {
				t.Errorf("request %s %s with Authorization %q", r.Method, r.URL.Path, r.Header.Get("Authorization"))
			}
			if diff := cmp.Diff(tc.want, r.URL.Query()); diff != "" {
				t.Errorf("query (-want +got):\n%s", diff)
			}
		})
	}
}

// TestGetCustomerReplies checks what each reply gives: a customer, an
// AnchorError, or ErrBadReply, never with the JWT or the URL in the text.
func TestGetCustomerReplies(t *testing.T) {
	const secret = "s3cret"
	for _, tc := range []struct {
		name     string
		status   int
		reply    string
		location string
		q        wallet.CustomerQuery
		want     kyccb.Customer // when nothing else is wanted
		anchor   int            // an AnchorError with this status
		message  string         // and this message
		bad      bool           // ErrBadReply
	}{
		{
			name:   "a customer with every part",
			status: http.StatusOK,
			q:      wallet.CustomerQuery{ID: "c-1"},
			reply: `{"id":"c-1","status":"NEEDS_INFO","message":"more please","new_field":1,
				"fields":{"email_address":{"type":"string","description":"email","optional":true}},
				"provided_fields":{"first_name":{"type":"string","status":"REJECTED","error":"too short","choices":["a"]}}}`,
			want: kyccb.Customer{
				ID: "c-1", Status: kyccb.StatusNeedsInfo, Message: "more please",
				Fields:         map[string]kyccb.Field{"email_address": {Type: "string", Description: "email", Optional: true}},
				ProvidedFields: map[string]kyccb.ProvidedField{"first_name": {Type: "string", Status: "REJECTED", Error: "too short", Choices: []string{"a"}}},
			},
		},
		{name: "a status SEP-12 does not list yet", status: http.StatusOK, reply: `{"status":"ON_HOLD"}`, want: kyccb.Customer{Status: "ON_HOLD"}},
		{name: "a reply without an id, for an id", status: http.StatusOK, q: wallet.CustomerQuery{ID: "c-1"}, reply: `{"status":"ACCEPTED"}`, want: kyccb.Customer{Status: kyccb.StatusAccepted}},
		{name: "another customer than asked for", status: http.StatusOK, q: wallet.CustomerQuery{ID: "c-1"}, reply: `{"id":"c-2","status":"ACCEPTED"}`, bad: true},
		{name: "no status", status: http.StatusOK, reply: `{"id":"c-1"}`, bad: true},
		{name: "null", status: http.StatusOK, reply: `null`, bad: true},
		{name: "an empty body", status: http.StatusOK, reply: ``, bad: true},
		{name: "an array", status: http.StatusOK, reply: `[{"status":"ACCEPTED"}]`, bad: true},
		{name: "HTML", status: http.StatusOK, reply: `<html>` + secret, bad: true},
		{name: "a status of the wrong type", status: http.StatusOK, reply: `{"status":3}`, bad: true},
		{name: "a body over the limit", status: http.StatusOK, reply: `{"status":"ACCEPTED","message":"` + strings.Repeat("a", kyccb.DefaultMaxBodyBytes) + `"}`, bad: true},
		{name: "a 401", status: http.StatusUnauthorized, reply: `{"error":"expired JWT"}`, anchor: 401, message: "expired JWT"},
		{name: "a 404", status: http.StatusNotFound, reply: `{"error":"customer not found"}`, anchor: 404, message: "customer not found"},
		{name: "a 500 without JSON", status: http.StatusInternalServerError, reply: `oops`, anchor: 500},
		{name: "a redirect, not followed", status: http.StatusFound, location: "/elsewhere", anchor: 302},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newCustomerStub(t, tc.status, tc.reply)
			if tc.location != "" {
				s.header.Set("Location", tc.location)
			}
			server := s.url + "?key=" + secret
			got, err := wallet.GetCustomer(t.Context(), server, jwt, tc.q)
			if n := len(s.got()); n != 1 {
				t.Fatalf("%d requests, want 1 (no redirect followed)", n)
			}
			var ae *wallet.AnchorError
			switch {
			case tc.bad:
				if !errors.Is(err, wallet.ErrBadReply) {
					t.Fatalf("GetCustomer: %+v, %v; want ErrBadReply", got, err)
				}
			case tc.anchor != 0:
				if !errors.As(err, &ae) || ae.StatusCode != tc.anchor || ae.Message != tc.message {
					t.Fatalf("GetCustomer: %v; want an AnchorError %d %q", err, tc.anchor, tc.message)
				}
			default:
				if err != nil {
					t.Fatalf("GetCustomer: %v", err)
				}
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Fatalf("customer (-want +got):\n%s", diff)
				}
				return
			}
			if got.Status != "" {
				t.Errorf("with an error, the customer %+v is not the zero value", got)
			}
			if msg := err.Error(); strings.Contains(msg, jwt) || strings.Contains(msg, secret) || strings.Contains(msg, s.url) {
				t.Errorf("the error %q repeats the JWT, the URL or the reply", msg)
			}
		})
	}
}

// TestGetCustomerRefusesBeforeSending checks the arguments and options
// that fail with kyccb.ErrConfig, before any request.
func TestGetCustomerRefusesBeforeSending(t *testing.T) {
	s := newCustomerStub(t, http.StatusOK, `{"status":"ACCEPTED"}`)
	for _, tc := range []struct {
		name   string
		server string
		jwt    string
		q      wallet.CustomerQuery
		opts   []wallet.Option
	}{
		{name: "a relative server URL", server: "/sep12", jwt: jwt},
		{name: "a server over plain http, not on loopback", server: "http://anchor.example.com/sep12", jwt: jwt},
		{name: "a server URL that is not http", server: "ftp://127.0.0.1/sep12", jwt: jwt},
		{name: "no JWT", server: s.url},
		{name: "a JWT with Bearer", server: s.url, jwt: "Bearer " + jwt},
		{name: "a JWT with a line break", server: s.url, jwt: jwt + "\r\nX-Evil: 1"},
		{name: "a memo type SEP-12 does not know", server: s.url, jwt: jwt, q: wallet.CustomerQuery{Memo: "1", MemoType: "number"}},
		{name: "an option only NewTOMLKeys takes", server: s.url, jwt: jwt, opts: []wallet.Option{wallet.WithMaxKeyAge(time.Minute)}},
		{name: "a nil option", server: s.url, jwt: jwt, opts: []wallet.Option{nil}},
		{name: "a zero timeout", server: s.url, jwt: jwt, opts: []wallet.Option{wallet.WithRequestTimeout(0)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := wallet.GetCustomer(t.Context(), tc.server, tc.jwt, tc.q, tc.opts...)
			if !errors.Is(err, kyccb.ErrConfig) {
				t.Fatalf("GetCustomer: %v, want ErrConfig", err)
			}
			if strings.Contains(err.Error(), jwt) {
				t.Errorf("the error %q repeats the JWT", err)
			}
		})
	}
	if n := len(s.got()); n != 0 {
		t.Fatalf("%d requests sent, want none", n)
	}
}

// TestGetCustomerTimeout checks that a KYC server that never answers
// costs the request timeout, not more.
func TestGetCustomerTimeout(t *testing.T) {
	stop := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, `{"status":`)
		w.(http.Flusher).Flush()
		<-stop // the rest of the body never comes
	}))
	defer srv.Close()
	defer close(stop)
	start := time.Now()
	_, err := wallet.GetCustomer(t.Context(), srv.URL, jwt, wallet.CustomerQuery{}, wallet.WithRequestTimeout(100*time.Millisecond))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("GetCustomer: %v, want the deadline", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("GetCustomer took %v with a 100 ms timeout", d)
	}
}
