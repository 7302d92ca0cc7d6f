package localanchor_test

import (
	"bytes"
	"encoding/json"
	"io"
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
)

// callbackLog is a wallet's server for both kinds of callbacks, customer
// (/kyc) and transaction (/tx), each verified by the root package's
// SEP-12 verifier, which accepts any signed JSON object; it keeps what it
// received, in order.
type callbackLog struct {
	srv  *httptest.Server
	mu   sync.Mutex
	got  []logged
	more chan struct{}
}

type logged struct {
	path string
	body []byte
}

func newCallbackLog(t *testing.T, anchorKey string) *callbackLog {
	t.Helper()
	l := &callbackLog{more: make(chan struct{}, 100)}
	l.srv = httptest.NewUnstartedServer(nil)
	keys, err := kyccb.ParseKeys(anchorKey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := kyccb.NewSEP12Verifier(keys, "http://"+l.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	l.srv.Config.Handler = v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		l.mu.Lock()
		l.got = append(l.got, logged{r.URL.Path, b})
		l.mu.Unlock()
		l.more <- struct{}{}
	}))
	l.srv.Start()
	t.Cleanup(l.srv.Close)
	return l
}

func (l *callbackLog) url(path string) string { return l.srv.URL + path }

// wait waits for n callbacks in all and returns them.
func (l *callbackLog) wait(t *testing.T, n int) []logged {
	t.Helper()
	deadline := time.After(waitFor)
	for {
		l.mu.Lock()
		got := append([]logged(nil), l.got...)
		l.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-l.more:
		case <-deadline:
			t.Fatalf("%d callbacks received, want %d: %q", len(got), n, got)
		}
	}
}

// summary is "/tx pending_anchor" or "/kyc PROCESSING" for a callback.
func summary(t *testing.T, c logged) string {
	t.Helper()
	var v struct {
		Status      string
		Transaction struct{ Status string }
	}
	if err := json.Unmarshal(c.body, &v); err != nil {
		t.Fatalf("callback %s: %v", c.body, err)
	}
	if c.path == "/tx" {
		return "/tx " + v.Transaction.Status
	}
	return "/kyc " + v.Status
}

// TestSEP6KYCFlow runs the SEP-6 KYC flow of the Anchor Platform
// (ANCHOR-746) end to end: a deposit waits in pending_customer_info_update
// with required_customer_info_updates, the wallet reads and completes the
// customer with its transaction_id, and the customer's status drives the
// transaction's (PROCESSING -> pending_anchor, ACCEPTED ->
// pending_user_transfer_start), each change delivered as a signed
// transaction callback and then a signed customer callback, in that order,
// both verified by the root package.
func TestSEP6KYCFlow(t *testing.T) {
	a, _ := startAnchor(t, localanchor.Config{Every: 200 * time.Millisecond})
	_, jwt := login(t, a)
	cb := newCallbackLog(t, a.SigningKey())

	code, body := call(t, http.MethodGet, a.URL()+"/info", "", "", nil)
	if code != http.StatusOK || !strings.Contains(string(body), `"USDC"`) {
		t.Fatalf("GET /info = %d %s", code, body)
	}
	code, body = call(t, http.MethodGet, a.URL()+"/deposit?asset_code=USDC&amount=10&on_change_callback="+url.QueryEscape(cb.url("/tx")), jwt, "", nil)
	var dep struct{ ID string }
	if code != http.StatusOK || json.Unmarshal(body, &dep) != nil || dep.ID == "" {
		t.Fatalf("GET /deposit = %d %s", code, body)
	}
	code, body = call(t, http.MethodGet, a.URL()+"/transaction?id="+dep.ID, jwt, "", nil)
	var tx struct{ Transaction sep6Transaction }
	if code != http.StatusOK || json.Unmarshal(body, &tx) != nil {
		t.Fatalf("GET /transaction = %d %s", code, body)
	}
	if tx.Transaction.ID != dep.ID || tx.Transaction.Kind != "deposit" || tx.Transaction.Status != localanchor.TxPendingCustomerInfoUpdate ||
		!cmp.Equal(tx.Transaction.RequiredCustomerInfoUpdates, []string{"email_address", "first_name", "last_name"}) ||
		tx.Transaction.StartedAt.IsZero() || tx.Transaction.UpdatedAt.Location() != time.UTC {
		t.Errorf("GET /transaction = %s", body)
	}
	// The wallet hears of the customer too.
	code, body = call(t, http.MethodPut, a.URL()+"/customer/callback", jwt, "", mustJSON(t, map[string]string{"url": cb.url("/kyc")}))
	if code != http.StatusOK {
		t.Fatalf("PUT /customer/callback = %d %s", code, body)
	}
	code, body = call(t, http.MethodGet, a.URL()+"/customer?transaction_id="+dep.ID, jwt, "", nil)
	var c kyccb.Customer
	if code != http.StatusOK || json.Unmarshal(body, &c) != nil || c.Status != kyccb.StatusNeedsInfo || len(c.Fields) != 3 {
		t.Fatalf("GET /customer?transaction_id = %d %s", code, body)
	}
	code, body = call(t, http.MethodPut, a.URL()+"/customer", jwt, "", []byte(`{"transaction_id":"`+dep.ID+`","first_name":"Ada","last_name":"Lovelace","email_address":"ada@example.org"}`))
	if code != http.StatusAccepted || !strings.Contains(string(body), c.ID) && c.ID != "" {
		t.Fatalf("PUT /customer = %d %s", code, body)
	}

	got := cb.wait(t, 5)
	var order []string
	for _, g := range got {
		order = append(order, summary(t, g))
	}
	want := []string{"/tx pending_customer_info_update", "/tx pending_anchor", "/kyc PROCESSING", "/tx pending_user_transfer_start", "/kyc ACCEPTED"}
	if diff := cmp.Diff(want, order); diff != "" {
		t.Errorf("callbacks (-want +got):\n%s", diff)
	}
	// The last transaction callback is GET /transaction's body, byte for
	// byte.
	code, body = call(t, http.MethodGet, a.URL()+"/transaction?id="+dep.ID, jwt, "", nil)
	if code != http.StatusOK || !bytes.Equal(body, got[3].body) {
		t.Errorf("GET /transaction = %s\nlast transaction callback %s", body, got[3].body)
	}
	code, body = call(t, http.MethodGet, a.URL()+"/transactions?asset_code=USDC&kind=deposit", jwt, "", nil)
	if code != http.StatusOK || !strings.Contains(string(body), dep.ID) || !strings.Contains(string(body), `"transactions":[`) {
		t.Errorf("GET /transactions = %d %s", code, body)
	}
	_, otherJWT := login(t, a)
	if code, body := call(t, http.MethodGet, a.URL()+"/transaction?id="+dep.ID, otherJWT, "", nil); code != http.StatusNotFound {
		t.Errorf("GET another account's transaction = %d %s, want 404", code, body)
	}
	if code, body := call(t, http.MethodGet, a.URL()+"/customer?transaction_id="+dep.ID, otherJWT, "", nil); code != http.StatusNotFound {
		t.Errorf("GET /customer with another account's transaction_id = %d %s, want 404", code, body)
	}
}

// TestSEP6Rejected: a customer REJECTED by hand puts its withdrawal in
// error, with the customer's message, delivered signed.
func TestSEP6Rejected(t *testing.T) {
	a, _ := startAnchor(t, localanchor.Config{Every: time.Hour})
	_, jwt := login(t, a)
	cb := newCallbackLog(t, a.SigningKey())
	code, body := call(t, http.MethodGet, a.URL()+"/withdraw?asset_code=USDC&type=bank_account&on_change_callback="+url.QueryEscape(cb.url("/tx")), jwt, "", nil)
	var wd struct{ ID string }
	if code != http.StatusOK || json.Unmarshal(body, &wd) != nil {
		t.Fatalf("GET /withdraw = %d %s", code, body)
	}
	code, body = call(t, http.MethodGet, a.URL()+"/customer?transaction_id="+wd.ID, jwt, "", nil)
	var c kyccb.Customer
	if code != http.StatusOK || json.Unmarshal(body, &c) != nil || c.ID == "" {
		t.Fatalf("GET /customer = %d %s", code, body)
	}
	if code, body := call(t, http.MethodPost, a.URL()+"/admin/customers/"+c.ID+"/status", "", "", []byte(`{"status":"REJECTED","message":"sanctions list"}`)); code != http.StatusOK {
		t.Fatalf("admin = %d %s", code, body)
	}
	got := cb.wait(t, 2)
	var last struct{ Transaction sep6Transaction }
	json.Unmarshal(got[1].body, &last)
	if last.Transaction.Kind != "withdrawal" || last.Transaction.Status != localanchor.TxError || !strings.Contains(string(got[1].body), "sanctions list") ||
		!strings.Contains(string(got[1].body), `"completed_at"`) {
		t.Errorf("last transaction callback %s, want the withdrawal in error with the message", got[1].body)
	}
}

// TestSEP6Refusals: the SEP-6 endpoints refuse what the anchor does not
// offer, and callback URLs it would not send to, before making anything.
func TestSEP6Refusals(t *testing.T) {
	a, rec := startAnchor(t, localanchor.Config{})
	_, jwt := login(t, a)
	other := "GAAZI4TCR3TY5OJHCTJC2A4QSY6CJWJH5IAJTGKIN2ER7LBNVKOCCWN7"
	for _, tt := range []struct {
		name, path, jwt string
		want            int
	}{
		{"No JWT", "/deposit?asset_code=USDC", "", http.StatusUnauthorized},
		{"Another asset", "/deposit?asset_code=XLM", jwt, http.StatusBadRequest},
		{"A negative amount", "/withdraw?asset_code=USDC&amount=-1", jwt, http.StatusBadRequest},
		{"A callback elsewhere", "/deposit?asset_code=USDC&on_change_callback=" + url.QueryEscape("https://wallet.example.org/tx"), jwt, http.StatusBadRequest},
		{"Another account", "/deposit?asset_code=USDC&account=" + other, jwt, http.StatusForbidden},
		{"An unknown transaction", "/transaction?id=nope", jwt, http.StatusNotFound},
		{"Transactions of another asset", "/transactions?asset_code=XLM", jwt, http.StatusBadRequest},
		{"A customer for an unknown transaction", "/customer?transaction_id=nope", jwt, http.StatusNotFound},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if code, body := call(t, http.MethodGet, a.URL()+tt.path, tt.jwt, "", nil); code != tt.want {
				t.Errorf("GET %s = %d %s, want %d", tt.path, code, body, tt.want)
			}
		})
	}
	if evs := rec.all(localanchor.EventTransaction); len(evs) != 0 {
		t.Errorf("transactions made: %v", evs)
	}
}
