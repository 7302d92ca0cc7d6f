package localanchor_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kyccb/kyccb"
	"github.com/kyccb/kyccb/internal/localanchor"
	walletpkg "github.com/kyccb/kyccb/wallet"
	"github.com/kyccb/kyccb/wallet/sep10"
	"github.com/stellar/go-stellar-sdk/keypair"
	"github.com/stellar/go-stellar-sdk/txnbuild"
)

// TestWholeLoop runs a wallet's KYC flow against the local anchor, every
// party on loopback: stellar.toml, SEP-10 with package sep10, PUT /customer,
// callback registration with wallet.RegisterCallback, and the status
// script's callbacks verified by kyccb.SEP12 — NEEDS_INFO, PROCESSING,
// ACCEPTED in order, each the anchor's GET /customer body of the moment,
// then nothing more.
func TestWholeLoop(t *testing.T) {
	a, rec := startAnchor(t, localanchor.Config{})
	_, jwt := login(t, a)
	w := newWallet(t, a.SigningKey(), 0)

	code, body := call(t, http.MethodPut, a.URL()+"/customer", jwt, "", []byte(`{"first_name":"Zoë"}`))
	if code != http.StatusAccepted {
		t.Fatalf("PUT /customer = %d %s", code, body)
	}
	var put struct{ ID string }
	if err := json.Unmarshal(body, &put); err != nil || put.ID == "" {
		t.Fatalf("PUT /customer reply %s: %v", body, err)
	}
	w.register(t, a, jwt, put.ID)

	var got []kyccb.Status
	for _, want := range []kyccb.Status{kyccb.StatusNeedsInfo, kyccb.StatusProcessing, kyccb.StatusAccepted} {
		r := w.next(t)
		got = append(got, r.customer.Status)
		if r.customer.Status != want {
			t.Fatalf("statuses received %v, want %s next", got, want)
		}
		if r.customer.ID != put.ID {
			t.Errorf("callback for customer %q, want %q", r.customer.ID, put.ID)
		}
		if pf := r.customer.ProvidedFields["first_name"]; pf.Type != "string" {
			t.Errorf("%s: provided_fields = %v, want first_name", want, r.customer.ProvidedFields)
		}
		if want == kyccb.StatusNeedsInfo {
			if _, ok := r.customer.Fields["last_name"]; !ok || len(r.customer.Fields) != 2 {
				t.Errorf("NEEDS_INFO fields = %v, want last_name and email_address", r.customer.Fields)
			}
		}
		if want == kyccb.StatusAccepted {
			// The callback is the GET /customer body, byte for byte.
			code, now := call(t, http.MethodGet, a.URL()+"/customer?id="+put.ID, jwt, "", nil)
			if code != http.StatusOK || !bytes.Equal(now, r.raw) {
				t.Errorf("GET /customer = %d %s\nlast callback   %s", code, now, r.raw)
			}
		}
	}
	rec.waitUntil(t, "ACCEPTED delivered", func(e localanchor.Event) bool {
		return e.Kind == localanchor.EventDelivered && e.Status == "ACCEPTED"
	})

	time.Sleep(6 * every)
	select {
	case r := <-w.got:
		t.Errorf("a callback after ACCEPTED: %s", r.raw)
	default:
	}
	if n := len(rec.all(localanchor.EventAttempt)); n != 3 {
		t.Errorf("%d delivery attempts, want 3: %v", n, rec.all())
	}
	var statuses []string
	for _, e := range rec.all(localanchor.EventStatus) {
		statuses = append(statuses, e.Status)
	}
	if diff := cmp.Diff([]string{"NEEDS_INFO", "PROCESSING", "ACCEPTED"}, statuses); diff != "" {
		t.Errorf("status events (-want +got):\n%s", diff)
	}
}

// TestRetries checks the Anchor Platform's delivery: a wallet that answers
// 500 twice gets the callback again, signed anew, and the third attempt is
// delivered.
func TestRetries(t *testing.T) {
	a, rec := startAnchor(t, localanchor.Config{Statuses: []string{"ACCEPTED"}})
	_, jwt := login(t, a)
	w := newWallet(t, a.SigningKey(), 2)
	w.register(t, a, jwt, "")

	if r := w.next(t); r.customer.Status != kyccb.StatusAccepted {
		t.Fatalf("received %s, want ACCEPTED", r.raw)
	}
	done := rec.waitUntil(t, "delivery", func(e localanchor.Event) bool {
		return e.Kind == localanchor.EventDelivered || e.Kind == localanchor.EventFailed
	})
	if done.Kind != localanchor.EventDelivered || done.Attempt != 3 {
		t.Errorf("delivery event %+v, want delivered after 3 attempts", done)
	}
	var codes []int
	for _, e := range rec.all(localanchor.EventAttempt) {
		codes = append(codes, e.StatusCode)
		if e.Status != "ACCEPTED" || e.URL != w.url {
			t.Errorf("attempt event %+v", e)
		}
	}
	if diff := cmp.Diff([]int{500, 500, 200}, codes); diff != "" {
		t.Errorf("attempts' replies (-want +got):\n%s", diff)
	}
}

// TestGivesUp checks that a wallet that keeps failing gets four attempts
// (three retries) and a failed event.
func TestGivesUp(t *testing.T) {
	a, rec := startAnchor(t, localanchor.Config{Statuses: []string{"REJECTED"}})
	_, jwt := login(t, a)
	w := newWallet(t, a.SigningKey(), 1000)
	w.register(t, a, jwt, "")

	done := rec.waitUntil(t, "delivery", func(e localanchor.Event) bool {
		return e.Kind == localanchor.EventDelivered || e.Kind == localanchor.EventFailed
	})
	if done.Kind != localanchor.EventFailed || done.Attempt != 4 || !strings.Contains(done.Error, "not delivered") {
		t.Errorf("delivery event %+v, want failed after 4 attempts", done)
	}
	// REJECTED without a message given gets one: SEP-12 requires it.
	var c kyccb.Customer
	if code, body := call(t, http.MethodGet, a.URL()+"/customer", jwt, "", nil); code != http.StatusOK || json.Unmarshal(body, &c) != nil ||
		c.Status != kyccb.StatusRejected || c.Message == "" {
		t.Errorf("GET /customer = %d %s, want REJECTED with a message", code, body)
	}
}

// TestUnauthorized checks that the SEP-12 endpoints refuse requests without
// a valid JWT of this anchor with 401 and a SEP error body.
func TestUnauthorized(t *testing.T) {
	var offset atomic.Int64
	a, _ := startAnchor(t, localanchor.Config{Now: func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }})
	other, _ := startAnchor(t, localanchor.Config{})
	_, jwt := login(t, a)
	_, otherJWT := login(t, other)

	// Sanity: the valid JWT works.
	if code, body := call(t, http.MethodGet, a.URL()+"/customer", jwt, "", nil); code != http.StatusOK {
		t.Fatalf("GET /customer with a valid JWT = %d %s", code, body)
	}
	tampered := []byte(jwt)
	tampered[len(tampered)-2] ^= 1

	tests := []struct {
		name   string
		header string
	}{
		{"No Authorization header", ""},
		{"A JWT without Bearer", jwt},
		{"Basic instead of Bearer", "Basic " + base64.StdEncoding.EncodeToString([]byte("a:b"))},
		{"A JWT of another anchor", "Bearer " + otherJWT},
		{"A JWT with a changed signature", "Bearer " + string(tampered)},
		{"Not a JWT", "Bearer not-a-jwt"},
		{"An unsigned JWT", "Bearer " + unsigned(t, jwt)},
	}
	for _, tt := range tests {
		for _, ep := range []struct{ method, path string }{
			{http.MethodGet, "/customer"},
			{http.MethodPut, "/customer"},
			{http.MethodPut, "/customer/callback"},
			{http.MethodDelete, "/customer/" + keypair.MustRandom().Address()},
		} {
			t.Run(tt.name+" "+ep.method+" "+ep.path, func(t *testing.T) {
				req, err := http.NewRequest(ep.method, a.URL()+ep.path, strings.NewReader(`{"url":"http://127.0.0.1:1/"}`))
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Content-Type", "application/json")
				if tt.header != "" {
					req.Header.Set("Authorization", tt.header)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				var e struct{ Error string }
				if err := json.NewDecoder(resp.Body).Decode(&e); err != nil || e.Error == "" {
					t.Errorf("reply is not a SEP error: %v", err)
				}
				if resp.StatusCode != http.StatusUnauthorized {
					t.Errorf("status %d, want 401", resp.StatusCode)
				}
			})
		}
	}

	t.Run("RegisterCallback with another anchor's JWT", func(t *testing.T) {
		err := walletpkg.RegisterCallback(context.Background(), a.URL(), otherJWT, walletpkg.CallbackRegistration{URL: "http://127.0.0.1:1/kyc"})
		var ae *walletpkg.AnchorError
		if !errors.As(err, &ae) || ae.StatusCode != http.StatusUnauthorized {
			t.Fatalf("RegisterCallback error = %v, want an AnchorError with 401", err)
		}
	})

	t.Run("An expired JWT", func(t *testing.T) {
		offset.Store(int64(localanchor.TokenLifetime + time.Minute))
		defer offset.Store(0)
		code, body := call(t, http.MethodGet, a.URL()+"/customer", jwt, "", nil)
		if code != http.StatusUnauthorized || !strings.Contains(string(body), "expired") {
			t.Errorf("GET /customer with an expired JWT = %d %s, want 401 saying it expired", code, body)
		}
	})
}

// unsigned returns jwt with alg "none" and no signature.
func unsigned(t *testing.T, jwt string) string {
	t.Helper()
	parts := strings.Split(jwt, ".")
	header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
	return header + "." + parts[1] + "."
}

// TestChallenges checks the anchor's SEP-10 server: it refuses expired
// challenges, challenges it did not sign and challenges the account did not
// sign; and package sep10 refuses an anchor whose challenge is signed by
// another key than the stellar.toml's.
func TestChallenges(t *testing.T) {
	seed := keypair.MustRandom().Seed()
	a, _ := startAnchor(t, localanchor.Config{Seed: seed})
	client := keypair.MustRandom()
	stranger := keypair.MustRandom()

	past := time.Now().Add(-10 * time.Minute)
	tests := []struct {
		name     string
		server   *keypair.Full // signs the challenge
		signers  []*keypair.Full
		min, max time.Time
		wantText string
	}{
		{name: "A valid challenge", signers: []*keypair.Full{client}},
		{name: "An expired challenge", signers: []*keypair.Full{client}, min: past, max: past.Add(localanchor.ChallengeTimeout), wantText: "expired"},
		{name: "A challenge the anchor did not sign", server: stranger, signers: []*keypair.Full{client}, wantText: "not valid"},
		{name: "A challenge the account did not sign", wantText: "not valid"},
		{name: "A challenge signed by another account", signers: []*keypair.Full{stranger}, wantText: "not valid"},
		{name: "A challenge signed twice", signers: []*keypair.Full{client, stranger}, wantText: "not valid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			server := keypair.MustParseFull(seed)
			if tt.server != nil {
				server = tt.server
			}
			for _, form := range []bool{false, true} {
				// One challenge per JWT: a new one for each form.
				x := signedChallenge(t, domain(a), server, keypair.MustParseFull(seed).Address(), client.Address(), tt.min, tt.max, tt.signers...)
				var code int
				var body []byte
				if form {
					code, body = call(t, http.MethodPost, a.WebAuthEndpoint(), "", "application/x-www-form-urlencoded", []byte(url.Values{"transaction": {x}}.Encode()))
				} else {
					code, body = call(t, http.MethodPost, a.WebAuthEndpoint(), "", "", mustJSON(t, map[string]string{"transaction": x}))
				}
				if tt.wantText == "" {
					var tok struct{ Token string }
					if code != http.StatusOK || json.Unmarshal(body, &tok) != nil || tok.Token == "" {
						t.Fatalf("POST /auth (form %v) = %d %s, want a token", form, code, body)
					}
					if code, body := call(t, http.MethodGet, a.URL()+"/customer", tok.Token, "", nil); code != http.StatusOK {
						t.Errorf("GET /customer with the token = %d %s", code, body)
					}
					continue
				}
				if code != http.StatusBadRequest || !strings.Contains(string(body), tt.wantText) {
					t.Errorf("POST /auth (form %v) = %d %s, want 400 saying %q", form, code, body, tt.wantText)
				}
			}
		})
	}

	t.Run("A challenge exchanged twice", func(t *testing.T) {
		x := signedChallenge(t, domain(a), keypair.MustParseFull(seed), keypair.MustParseFull(seed).Address(), client.Address(), time.Time{}, time.Time{}, client)
		body := mustJSON(t, map[string]string{"transaction": x})
		if code, body := call(t, http.MethodPost, a.WebAuthEndpoint(), "", "", body); code != http.StatusOK {
			t.Fatalf("first POST /auth = %d %s", code, body)
		}
		// SEP-10: no more than one JWT for a challenge, whatever the form.
		code, reply := call(t, http.MethodPost, a.WebAuthEndpoint(), "", "application/x-www-form-urlencoded", []byte(url.Values{"transaction": {x}}.Encode()))
		if code != http.StatusBadRequest || !strings.Contains(string(reply), "already") || strings.Contains(string(reply), "token") {
			t.Errorf("second POST /auth = %d %s, want 400 and no token", code, reply)
		}
	})

	t.Run("sep10.Authenticate with another signing key than the anchor's", func(t *testing.T) {
		anchor, err := sep10.FromTOML(domain(a), fetchTOML(t, a))
		if err != nil {
			t.Fatal(err)
		}
		anchor.SigningKey = stranger.Address()
		_, err = sep10.Authenticate(context.Background(), anchor, client.Seed())
		if !errors.Is(err, sep10.ErrServerKey) {
			t.Errorf("Authenticate error = %v, want ErrServerKey", err)
		}
	})

	t.Run("A shared account with a memo", func(t *testing.T) {
		jwt := loginAs(t, a, client.Seed(), []sep10.Option{sep10.WithMemo(7)})
		code, body := call(t, http.MethodPut, a.URL()+"/customer", jwt, "", []byte(`{"first_name":"A"}`))
		if code != http.StatusAccepted {
			t.Fatalf("PUT /customer = %d %s", code, body)
		}
		// Another memo of the same account is another customer.
		jwt8 := loginAs(t, a, client.Seed(), []sep10.Option{sep10.WithMemo(8)})
		if code, body := call(t, http.MethodGet, a.URL()+"/customer", jwt8, "", nil); code != http.StatusOK || strings.Contains(string(body), `"id"`) {
			t.Errorf("GET /customer for memo 8 = %d %s, want a customer the anchor does not know", code, body)
		}
	})
}

// signedChallenge builds a challenge for account as the anchor would, signed
// by server and then by signers, valid from min to max (now and 5 minutes
// on when zero).
func signedChallenge(t *testing.T, domain string, server *keypair.Full, serverAddr, account string, min, max time.Time, signers ...*keypair.Full) string {
	t.Helper()
	if min.IsZero() {
		min, max = time.Now(), time.Now().Add(localanchor.ChallengeTimeout)
	}
	nonce := make([]byte, 48)
	rand.Read(nonce)
	tx, err := txnbuild.NewTransaction(txnbuild.TransactionParams{
		SourceAccount: &txnbuild.SimpleAccount{AccountID: serverAddr},
		Operations: []txnbuild.Operation{
			&txnbuild.ManageData{SourceAccount: account, Name: domain + " auth", Value: []byte(base64.StdEncoding.EncodeToString(nonce))},
			&txnbuild.ManageData{SourceAccount: serverAddr, Name: "web_auth_domain", Value: []byte(domain)},
		},
		BaseFee:       txnbuild.MinBaseFee,
		Preconditions: txnbuild.Preconditions{TimeBounds: txnbuild.NewTimebounds(min.Unix(), max.Unix())},
	})
	if err != nil {
		t.Fatal(err)
	}
	if tx, err = tx.Sign(localanchor.NetworkPassphrase, append([]*keypair.Full{server}, signers...)...); err != nil {
		t.Fatal(err)
	}
	x, err := tx.Base64()
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// dialRecorder records every address its client dials.
type dialRecorder struct {
	mu    sync.Mutex
	addrs []string
}

func (d *dialRecorder) client() *http.Client {
	var nd net.Dialer
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			d.mu.Lock()
			d.addrs = append(d.addrs, addr)
			d.mu.Unlock()
			return nd.DialContext(ctx, network, addr)
		},
	}}
}

func (d *dialRecorder) dials() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.addrs...)
}

// TestLoopbackOnly checks that the anchor refuses callback URLs that are not
// on a loopback host, and never connects anywhere for them, even when the
// customer's status then changes by script and by hand.
func TestLoopbackOnly(t *testing.T) {
	var dr dialRecorder
	a, rec := startAnchor(t, localanchor.Config{Client: dr.client()})
	_, jwt := login(t, a)
	code, body := call(t, http.MethodPut, a.URL()+"/customer", jwt, "", []byte(`{"first_name":"A"}`))
	if code != http.StatusAccepted {
		t.Fatalf("PUT /customer = %d %s", code, body)
	}
	var put struct{ ID string }
	json.Unmarshal(body, &put)

	for _, u := range []string{
		"http://wallet.example.org/kyc",
		"https://wallet.example.org/kyc",
		"http://10.0.0.1:8080/kyc",
		"http://0.0.0.0:9/kyc",
		"http://127.0.0.1.nip.io/kyc", // a name that resolves to loopback is still a name
		"http://[fe80::1]/kyc",
		"ftp://127.0.0.1/kyc",
		"/kyc",
		"",
	} {
		t.Run(u, func(t *testing.T) {
			code, body := call(t, http.MethodPut, a.URL()+"/customer/callback", jwt, "", mustJSON(t, map[string]string{"url": u}))
			if code != http.StatusBadRequest || !strings.Contains(string(body), "loopback") {
				t.Errorf("PUT /customer/callback = %d %s, want 400", code, body)
			}
			if u != "" && strings.Contains(string(body), u) {
				t.Errorf("the reply repeats the URL: %s", body)
			}
		})
	}
	// Drive the customer by hand too: with no URL registered, nothing is sent.
	if code, body := call(t, http.MethodPost, a.URL()+"/admin/customers/"+put.ID+"/status", "", "", []byte(`{"status":"ACCEPTED"}`)); code != http.StatusOK {
		t.Fatalf("admin = %d %s", code, body)
	}
	time.Sleep(4 * every)
	if d := dr.dials(); len(d) != 0 {
		t.Errorf("the anchor dialed %v", d)
	}
	if n := len(rec.all(localanchor.EventAttempt, localanchor.EventRegistered)); n != 0 {
		t.Errorf("%d registrations or attempts: %v", n, rec.all())
	}

	// The recorder works: a loopback URL is dialed, and only it.
	w := newWallet(t, a.SigningKey(), 0)
	w.register(t, a, jwt, put.ID)
	w.next(t)
	for _, addr := range dr.dials() {
		if addr != w.srv.Listener.Addr().String() {
			t.Errorf("the anchor dialed %s", addr)
		}
	}
}

// TestAdmin checks the admin endpoint: it sets REJECTED with a message, which
// is delivered at once, stops the script, and is guarded against requests
// that are not local.
func TestAdmin(t *testing.T) {
	a, rec := startAnchor(t, localanchor.Config{Every: time.Hour}) // the script never steps
	_, jwt := login(t, a)
	w := newWallet(t, a.SigningKey(), 0)
	code, body := call(t, http.MethodPut, a.URL()+"/customer/callback", jwt, "", mustJSON(t, map[string]string{"url": w.url}))
	if code != http.StatusOK {
		t.Fatalf("PUT /customer/callback = %d %s", code, body)
	}
	var reg struct{ ID string }
	if err := json.Unmarshal(body, &reg); err != nil || reg.ID == "" {
		t.Fatalf("registration reply %s", body)
	}
	admin := a.URL() + "/admin/customers/" + reg.ID + "/status"

	code, body = call(t, http.MethodPost, admin, "", "", []byte(`{"status":"REJECTED","message":"ID document unreadable"}`))
	if code != http.StatusOK {
		t.Fatalf("admin = %d %s", code, body)
	}
	r := w.next(t)
	want := kyccb.Customer{ID: reg.ID, Status: kyccb.StatusRejected, Message: "ID document unreadable"}
	if diff := cmp.Diff(want, r.customer); diff != "" {
		t.Errorf("callback (-want +got):\n%s", diff)
	}
	var reply struct {
		Customer json.RawMessage
		Callback string
	}
	if err := json.Unmarshal(body, &reply); err != nil || !bytes.Equal(reply.Customer, r.raw) || reply.Callback != "sending to "+w.url {
		t.Errorf("admin reply %s, callback %s: want the same body, and sending to %s", body, r.raw, w.url)
	}
	rec.waitUntil(t, "REJECTED delivered", func(e localanchor.Event) bool {
		return e.Kind == localanchor.EventDelivered && e.Status == "REJECTED" && e.Customer == reg.ID
	})

	// After REJECTED nothing more is sent until the wallet registers
	// again, and the reply and the event say so.
	code, body = call(t, http.MethodPost, admin, "", "application/x-www-form-urlencoded", []byte("status=ACCEPTED"))
	if code != http.StatusOK || !strings.Contains(string(body), `"callback":"no callback: the registration ended at ACCEPTED or REJECTED`) {
		t.Fatalf("admin with a form = %d %s, want it to say no callback goes out", code, body)
	}
	rec.waitUntil(t, "ACCEPTED without a callback", func(e localanchor.Event) bool {
		return e.Kind == localanchor.EventStatus && e.Status == "ACCEPTED" && strings.Contains(e.String(), "no callback: the registration ended")
	})
	time.Sleep(4 * every)
	select {
	case r := <-w.got:
		t.Errorf("a callback after REJECTED: %s", r.raw)
	default:
	}

	tests := []struct {
		name   string
		path   string
		body   string
		header http.Header
		host   string
		want   int
	}{
		{name: "An unknown status", path: admin, body: `{"status":"DONE"}`, want: http.StatusBadRequest},
		{name: "No status", path: admin, body: `{}`, want: http.StatusBadRequest},
		{name: "An unknown customer", path: a.URL() + "/admin/customers/nobody/status", body: `{"status":"ACCEPTED"}`, want: http.StatusNotFound},
		{name: "A browser's cross-site request", path: admin, body: `{"status":"ACCEPTED"}`, header: http.Header{"Sec-Fetch-Site": {"cross-site"}}, want: http.StatusForbidden},
		{name: "A cross-origin request with Origin", path: admin, body: `{"status":"ACCEPTED"}`, header: http.Header{"Origin": {"http://evil.example"}}, want: http.StatusForbidden},
		{name: "A request for another host (DNS rebinding)", path: admin, body: `{"status":"ACCEPTED"}`, host: "evil.example:80", want: http.StatusMisdirectedRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, tt.path, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			for k, v := range tt.header {
				req.Header[k] = v
			}
			if tt.host != "" {
				req.Host = tt.host
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.want)
			}
		})
	}
}

// TestCustomer checks SEP-12's customer endpoints: JSON, form and multipart
// fields, GET by id and by account, and DELETE.
func TestCustomer(t *testing.T) {
	a, _ := startAnchor(t, localanchor.Config{})
	seed, jwt := login(t, a)
	account := keypair.MustParseFull(seed).Address()
	_, otherJWT := login(t, a)

	// An account the anchor does not know: NEEDS_INFO, every field, no id.
	code, body := call(t, http.MethodGet, a.URL()+"/customer", jwt, "", nil)
	var c kyccb.Customer
	if code != http.StatusOK || json.Unmarshal(body, &c) != nil || c.ID != "" || c.Status != kyccb.StatusNeedsInfo || len(c.Fields) != 3 {
		t.Fatalf("GET /customer for a new account = %d %s", code, body)
	}

	code, body = call(t, http.MethodPut, a.URL()+"/customer", jwt, "application/x-www-form-urlencoded", []byte("first_name=Ada&last_name=Lovelace"))
	if code != http.StatusAccepted {
		t.Fatalf("PUT /customer form = %d %s", code, body)
	}
	var put struct{ ID string }
	json.Unmarshal(body, &put)

	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	mw.WriteField("id", put.ID)
	mw.WriteField("email_address", "ada@example.org")
	fw, _ := mw.CreateFormFile("photo_id_front", "id.png")
	fw.Write([]byte("\x89PNG..."))
	mw.Close()
	code, body = call(t, http.MethodPut, a.URL()+"/customer", jwt, mw.FormDataContentType(), mp.Bytes())
	if code != http.StatusAccepted || !strings.Contains(string(body), put.ID) {
		t.Fatalf("PUT /customer multipart = %d %s, want the same id", code, body)
	}

	// Every required field given: PROCESSING, with the fields provided.
	code, body = call(t, http.MethodGet, a.URL()+"/customer?id="+put.ID, jwt, "", nil)
	c = kyccb.Customer{}
	if code != http.StatusOK || json.Unmarshal(body, &c) != nil {
		t.Fatalf("GET /customer = %d %s", code, body)
	}
	want := kyccb.Customer{ID: put.ID, Status: kyccb.StatusProcessing, ProvidedFields: map[string]kyccb.ProvidedField{
		"first_name":     {Type: "string", Description: "given or first name", Status: "PROCESSING"},
		"last_name":      {Type: "string", Description: "family or last name", Status: "PROCESSING"},
		"email_address":  {Type: "string", Description: "email address", Status: "PROCESSING"},
		"photo_id_front": {Type: "binary", Description: "image of the front of the photo ID or passport", Status: "PROCESSING"},
	}}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("GET /customer (-want +got):\n%s", diff)
	}

	for _, tt := range []struct {
		name, method, path, jwt string
		want                    int
	}{
		{"Another account's customer id", http.MethodGet, "/customer?id=" + put.ID, otherJWT, http.StatusNotFound},
		{"An unknown customer id", http.MethodGet, "/customer?id=nobody", jwt, http.StatusNotFound},
		{"Deleting another account", http.MethodDelete, "/customer/" + account, otherJWT, http.StatusUnauthorized},
		{"Deleting one's own account", http.MethodDelete, "/customer/" + account, jwt, http.StatusOK},
		{"Deleting it again", http.MethodDelete, "/customer/" + account, jwt, http.StatusNotFound},
		{"The deleted customer's id", http.MethodGet, "/customer?id=" + put.ID, jwt, http.StatusNotFound},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if code, body := call(t, tt.method, a.URL()+tt.path, tt.jwt, "", nil); code != tt.want {
				t.Errorf("%s %s = %d %s, want %d", tt.method, tt.path, code, body, tt.want)
			}
		})
	}

	for _, tt := range []struct{ name, contentType, body string }{
		{"A JSON array", "application/json", `["first_name"]`},
		{"A nested JSON value", "application/json", `{"first_name":{"a":1}}`},
		{"A field name that is not SEP-9", "application/json", `{"First Name":"A"}`},
		{"Plain text", "text/plain", `first_name=A`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if code, body := call(t, http.MethodPut, a.URL()+"/customer", jwt, tt.contentType, []byte(tt.body)); code != http.StatusBadRequest {
				t.Errorf("PUT /customer = %d %s, want 400", code, body)
			}
		})
	}
}

// TestStellarTOML checks the stellar.toml: every URL plain http on the
// anchor's loopback address, the test network, and the anchor's key.
func TestStellarTOML(t *testing.T) {
	a, _ := startAnchor(t, localanchor.Config{})
	st := fetchTOML(t, a)
	if st.NetworkPassphrase != "Test SDF Network ; September 2015" || st.SigningKey != a.SigningKey() ||
		st.WebAuthEndpoint != "http://"+domain(a)+"/auth" || st.KYCServer != "http://"+domain(a) || st.TransferServer != "http://"+domain(a) {
		t.Errorf("stellar.toml = %+v", st)
	}
	// SEP-1 does not require [DOCUMENTATION], but the TypeScript wallet
	// SDK reads its ORG_NAME without a guard.
	code, body := call(t, http.MethodGet, a.URL()+"/.well-known/stellar.toml", "", "", nil)
	if code != http.StatusOK || !strings.Contains(string(body), "\n[DOCUMENTATION]\nORG_NAME = \""+localanchor.OrgName+"\"\n") {
		t.Errorf("stellar.toml = %d\n%s\nwant a [DOCUMENTATION] table with ORG_NAME", code, body)
	}
}

func TestNew(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  localanchor.Config
	}{
		{"An address that is not loopback", localanchor.Config{Addr: "0.0.0.0:8000"}},
		{"A host name that is not localhost", localanchor.Config{Addr: "anchor.example.com:8000"}},
		{"Port 0", localanchor.Config{Addr: "127.0.0.1:0"}},
		{"No port", localanchor.Config{Addr: "127.0.0.1"}},
		{"A public key as the seed", localanchor.Config{Addr: "127.0.0.1:8000", Seed: keypair.MustRandom().Address()}},
		{"An unknown status", localanchor.Config{Addr: "127.0.0.1:8000", Statuses: []string{"NEEDS_INFO", "DONE"}}},
		{"A status after ACCEPTED", localanchor.Config{Addr: "127.0.0.1:8000", Statuses: []string{"ACCEPTED", "PROCESSING"}}},
		{"A negative step", localanchor.Config{Addr: "127.0.0.1:8000", Every: -time.Second}},
		{"A negative number of attempts", localanchor.Config{Addr: "127.0.0.1:8000", Attempts: -1}},
		{"A web auth domain that is not loopback", localanchor.Config{Addr: "127.0.0.1:8000", WebAuthDomain: "anchor.example.com"}},
		{"A web auth domain with a public address", localanchor.Config{Addr: "127.0.0.1:8000", WebAuthDomain: "192.0.2.1:8000"}},
		{"Too many duplicates", localanchor.Config{Addr: "127.0.0.1:8000", Duplicates: 11}},
		{"A negative delay", localanchor.Config{Addr: "127.0.0.1:8000", Delay: -time.Second}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if a, err := localanchor.New(tt.cfg); err == nil {
				a.Close()
				t.Errorf("New(%+v) succeeded", tt.cfg)
			}
		})
	}
	for _, addr := range []string{"127.0.0.1:8000", "[::1]:8000", "localhost:8000", "127.0.0.2:8000"} {
		a, err := localanchor.New(localanchor.Config{Addr: addr})
		if err != nil {
			t.Errorf("New(%s): %v", addr, err)
			continue
		}
		a.Close()
	}
}

// TestStartEvent checks that Serve's first event says the anchor is plain
// http on loopback, with its URL and key.
func TestStartEvent(t *testing.T) {
	a, rec := startAnchor(t, localanchor.Config{})
	e := rec.waitUntil(t, "start", func(e localanchor.Event) bool { return e.Kind == localanchor.EventStart })
	if first := rec.all()[0]; first.Kind != localanchor.EventStart {
		t.Errorf("first event %v, want start", first)
	}
	if e.URL != a.URL() || !strings.HasPrefix(e.URL, "http://127.0.0.1:") ||
		!strings.Contains(e.Message, "plain http") || !strings.Contains(e.Message, a.SigningKey()) {
		t.Errorf("start event %+v", e)
	}
}
