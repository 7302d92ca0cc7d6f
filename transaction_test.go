package kyccb_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kyccb/kyccb"
	"github.com/kyccb/kyccb/kyccbtest"
)

// txJSON is a SEP-6 transaction callback with a field of every shape.
const txJSON = `{"transaction":{"id":"tx-1","kind":"deposit","status":"completed","status_eta":60,"kyc_verified":true,` +
	`"amount_in":"100.00","amount_in_asset":"iso4217:USD","amount_out":"98.50","amount_fee":"1.50",` +
	`"fee_details":{"total":"1.50","asset":"iso4217:USD","details":[{"name":"ACH fee","amount":"1.50","description":"bank"}]},` +
	`"started_at":"2026-12-02T10:00:00Z","updated_at":"2026-12-02T10:05:00.25Z","completed_at":"2026-12-02T10:05:00.25Z",` +
	`"user_action_required_by":null,"refunded":false,"refunds":{"amount_refunded":"1","amount_fee":"0.1",` +
	`"payments":[{"id":"p-1","id_type":"external","amount":"1","fee":"0.1"}]},` +
	`"instructions":{"organization.bank_number":{"value":"121122676","description":"routing number"}},` +
	`"required_customer_info_updates":["id_number"],"future_field":{"x":1}}}`

var wantTx = kyccb.Transaction{
	ID: "tx-1", Kind: kyccb.KindDeposit, Status: kyccb.TransactionCompleted, StatusETA: 60, KYCVerified: true,
	AmountIn: "100.00", AmountInAsset: "iso4217:USD", AmountOut: "98.50", AmountFee: "1.50",
	FeeDetails:  &kyccb.FeeDetails{Total: "1.50", Asset: "iso4217:USD", Details: []kyccb.FeeDetail{{Name: "ACH fee", Amount: "1.50", Description: "bank"}}},
	StartedAt:   time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC),
	UpdatedAt:   time.Date(2026, 12, 2, 10, 5, 0, 250e6, time.UTC),
	CompletedAt: time.Date(2026, 12, 2, 10, 5, 0, 250e6, time.UTC),
	Refunds: &kyccb.Refunds{AmountRefunded: "1", AmountFee: "0.1",
		Payments: []kyccb.RefundPayment{{ID: "p-1", IDType: "external", Amount: "1", Fee: "0.1"}}},
	Instructions:                map[string]kyccb.Instruction{"organization.bank_number": {Value: "121122676", Description: "routing number"}},
	RequiredCustomerInfoUpdates: []string{"id_number"},
}

// txResult is what a transaction handler made of one request.
type txResult struct {
	code   int
	ran    bool
	tx     kyccb.Transaction
	raw    []byte
	reason error
}

func serveTx(t testing.TB, host string, req sep12Request, opts ...kyccb.Option) txResult {
	t.Helper()
	var res txResult
	opts = append([]kyccb.Option{
		kyccb.WithClock(func() time.Time { return req.now }),
		kyccb.WithErrorHook(func(_ *http.Request, err error) { res.reason = err }),
	}, opts...)
	h := kyccb.Transactions(testAddress, host, func(ctx context.Context, tx kyccb.Transaction) error {
		res.ran, res.tx, res.raw = true, tx, kyccb.RawBody(ctx)
		return nil
	}, opts...)
	r := httptest.NewRequest(req.method, "http://10.0.0.7:8080/callbacks/tx", strings.NewReader(req.body))
	for k, v := range req.headers {
		r.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	res.code = rec.Code
	return res
}

func validTx(t testing.TB) sep12Request {
	return sep12Request{
		method:  http.MethodPost,
		headers: map[string]string{"Signature": sign(t, testSeed, testHost, txJSON, signedAt)},
		body:    txJSON,
		now:     signedAt.Add(30 * time.Second),
	}
}

func TestTransactionsAccepts(t *testing.T) {
	res := serveTx(t, testHost, validTx(t))
	if res.code != http.StatusOK || !res.ran {
		t.Fatalf("status %d, ran %v, reason %v", res.code, res.ran, res.reason)
	}
	if diff := cmp.Diff(wantTx, res.tx); diff != "" {
		t.Errorf("the function received (-want +got):\n%s", diff)
	}
	if string(res.raw) != txJSON {
		t.Errorf("RawBody = %s, want the body as signed", res.raw)
	}
	// Decoding the raw body with encoding/json gives the same value.
	var cb struct{ Transaction kyccb.Transaction }
	if err := json.Unmarshal(res.raw, &cb); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantTx, cb.Transaction); diff != "" {
		t.Errorf("json.Unmarshal of RawBody (-want +got):\n%s", diff)
	}
}

// A genuine callback changed in one way never reaches the function.
func TestTransactionsRejects(t *testing.T) {
	customer := `{"id":"c-1","status":"ACCEPTED"}`
	signed := func(body string) func(*testing.T, *sep12Request) {
		return func(t *testing.T, r *sep12Request) {
			r.body = body
			r.headers["Signature"] = sign(t, testSeed, testHost, body, signedAt)
		}
	}
	tests := []struct {
		name   string
		mutate func(*testing.T, *sep12Request)
		code   int
		want   error
	}{
		{"a changed body", func(_ *testing.T, r *sep12Request) {
			r.body = strings.Replace(r.body, `"completed"`, `"refunded"`, 1)
		}, 401, kyccb.ErrBadSignature},
		{"a callback signed for another host", func(t *testing.T, r *sep12Request) {
			r.headers["Signature"] = sign(t, testSeed, "attacker.example.net", r.body, signedAt)
		}, 401, kyccb.ErrBadSignature},
		{"a callback signed by another key", func(t *testing.T, r *sep12Request) {
			r.headers["Signature"] = sign(t, otherSeed, testHost, r.body, signedAt)
		}, 401, kyccb.ErrBadSignature},
		{"a stale timestamp", func(_ *testing.T, r *sep12Request) { r.now = signedAt.Add(121 * time.Second) }, 401, kyccb.ErrExpired},
		{"a timestamp from the future", func(_ *testing.T, r *sep12Request) { r.now = signedAt.Add(-121 * time.Second) }, 401, kyccb.ErrFuture},
		{"no signature", func(_ *testing.T, r *sep12Request) { delete(r.headers, "Signature") }, 401, kyccb.ErrMissingSignature},
		{"a GET", func(_ *testing.T, r *sep12Request) { r.method = http.MethodGet }, 405, kyccb.ErrMethod},
		{"a customer callback", signed(customer), 400, kyccb.ErrMalformedBody},
		{"a customer callback with a transaction too", signed(`{"status":"ACCEPTED","transaction":{"id":"tx-1"}}`), 400, kyccb.ErrMalformedBody},
		{"a transaction without an id", signed(`{"transaction":{"status":"completed"}}`), 400, kyccb.ErrMalformedBody},
		{"a null transaction", signed(`{"transaction":null}`), 400, kyccb.ErrMalformedBody},
		{"a transaction that is a string", signed(`{"transaction":"tx-1"}`), 400, kyccb.ErrMalformedBody},
		{"an empty object", signed(`{}`), 400, kyccb.ErrMalformedBody},
		{"an array", signed(`[{"transaction":{"id":"tx-1"}}]`), 400, kyccb.ErrMalformedBody},
		{"a time in no known format", signed(`{"transaction":{"id":"tx-1","updated_at":"yesterday"}}`), 400, kyccb.ErrMalformedBody},
		{"a time as a number", signed(`{"transaction":{"id":"tx-1","updated_at":1764669900}}`), 400, kyccb.ErrMalformedBody},
		{"an amount as a number", signed(`{"transaction":{"id":"tx-1","amount_in":10}}`), 400, kyccb.ErrMalformedBody},
		{"trailing bytes", signed(txJSON + `{}`), 400, kyccb.ErrMalformedBody},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := validTx(t)
			tt.mutate(t, &req)
			res := serveTx(t, testHost, req)
			if res.ran {
				t.Errorf("the function ran with %+v", res.tx)
			}
			if res.code != tt.code {
				t.Errorf("status %d, want %d", res.code, tt.code)
			}
			if !errors.Is(res.reason, tt.want) {
				t.Errorf("reason %v, want %v", res.reason, tt.want)
			}
		})
	}
}

// The customer handler refuses what is not a customer callback rather than
// pass it on with an empty status.
func TestSEP12RefusesTransactions(t *testing.T) {
	for _, body := range []string{txJSON, `{"id":"c-1"}`, `{}`, `{"id":"c-1","status":""}`} {
		req := validSEP12(t)
		req.body = body
		req.headers["Signature"] = sign(t, testSeed, testHost, body, signedAt)
		res := serveSEP12(t, testHost, req, nil)
		if res.ran || res.code != http.StatusBadRequest || !errors.Is(res.reason, kyccb.ErrMalformedBody) {
			t.Errorf("%s: status %d, ran %v, reason %v; want 400 and ErrMalformedBody, not run", body, res.code, res.ran, res.reason)
		}
	}
}

func TestTransactionTimes(t *testing.T) {
	at := time.Date(2026, 12, 2, 10, 5, 0, 0, time.UTC)
	tests := []struct {
		sent string
		want time.Time
	}{
		{`"2026-12-02T10:05:00Z"`, at},
		{`"2026-12-02T10:05:00.123Z"`, at.Add(123 * time.Millisecond)},
		{`"2026-12-02T10:05:00.123456+00:00"`, at.Add(123456 * time.Microsecond)},
		{`"2026-12-02T11:05:00+01:00"`, at},
		{`"2026-12-02T10:05:00"`, at},
		{`"2026-12-02T10:05:00.5"`, at.Add(500 * time.Millisecond)},
		{`"2026-12-02 10:05:00.123456+00:00"`, at.Add(123456 * time.Microsecond)},
		{`"2026-12-02 10:05:00"`, at},
		{`null`, time.Time{}},
		{`""`, time.Time{}},
	}
	for _, tt := range tests {
		var tx kyccb.Transaction
		if err := json.Unmarshal([]byte(`{"id":"tx-1","updated_at":`+tt.sent+`}`), &tx); err != nil {
			t.Errorf("%s: %v", tt.sent, err)
			continue
		}
		if !tx.UpdatedAt.Equal(tt.want) || tx.UpdatedAt.Location() != time.UTC {
			t.Errorf("%s: UpdatedAt = %v, want %v in UTC", tt.sent, tx.UpdatedAt, tt.want)
		}
	}
	for _, sent := range []string{`"yesterday"`, `"2026-13-02T10:05:00Z"`, `"2026-12-02T10:05:00\u005a"`, `1764669900`, `true`, `"2026-12-02"`} {
		var tx kyccb.Transaction
		if err := json.Unmarshal([]byte(`{"id":"tx-1","updated_at":`+sent+`}`), &tx); err == nil {
			t.Errorf("%s: decoded as %v, want an error", sent, tx.UpdatedAt)
		}
	}
}

// Both shapes of required_info_updates decode to the same fields.
func TestInfoFieldsShapes(t *testing.T) {
	want := kyccb.InfoFields{"dest": {Description: "account"}, "dest_extra": {}}
	for _, sent := range []string{
		`{"dest":{"description":"account"},"dest_extra":{}}`,
		`{"transaction":{"dest":{"description":"account"},"dest_extra":{}}}`,
	} {
		var f kyccb.InfoFields
		if err := json.Unmarshal([]byte(sent), &f); err != nil {
			t.Fatalf("%s: %v", sent, err)
		}
		if diff := cmp.Diff(want, f); diff != "" {
			t.Errorf("%s (-want +got):\n%s", sent, diff)
		}
	}
	var f kyccb.InfoFields
	if err := json.Unmarshal([]byte(`["dest","dest_extra"]`), &f); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(kyccb.InfoFields{"dest": {}, "dest_extra": {}}, f); diff != "" {
		t.Errorf("a list of names (-want +got):\n%s", diff)
	}
	// A field that is itself named "transaction" stays a field.
	if err := json.Unmarshal([]byte(`{"transaction":{"description":"the reference"}}`), &f); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(kyccb.InfoFields{"transaction": {Description: "the reference"}}, f); diff != "" {
		t.Errorf("a field named transaction (-want +got):\n%s", diff)
	}
	for _, bad := range []string{`"dest"`, `[1]`, `{"dest":"x"}`} {
		if err := json.Unmarshal([]byte(bad), &f); err == nil {
			t.Errorf("%s decoded, want an error", bad)
		}
	}
}

// What kyccbtest encodes, the handler decodes to the same value.
func TestTransactionRoundTrip(t *testing.T) {
	anchor := kyccbtest.NewKeyPair(t)
	const url = "https://wallet.example.org/callbacks/tx"
	var got kyccb.Transaction
	h := kyccb.Transactions(anchor.Address, url, func(_ context.Context, tx kyccb.Transaction) error {
		got = tx
		return nil
	})
	want := wantTx
	want.UserActionRequiredBy = time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	want.RequiredInfoUpdates = kyccb.InfoFields{"dest": {Description: "account"}}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, kyccbtest.TransactionRequest(t, anchor.Seed, url, want))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-sent +received):\n%s", diff)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, kyccbtest.TransactionRequestAt(t, anchor.Seed, url, want, time.Now().Add(-time.Hour)))
	if rec.Code != http.StatusUnauthorized {
		t.Errorf("signed an hour ago: status %d, want 401", rec.Code)
	}
}

// One URL for both kinds: each reaches its own function, over a real
// server.
func TestCombinedHandler(t *testing.T) {
	anchor := kyccbtest.NewKeyPair(t)
	keys, err := kyccb.ParseKeys(anchor.Address)
	if err != nil {
		t.Fatal(err)
	}
	var reasons []error
	v, err := kyccb.NewSEP12Verifier(keys, "wallet.example.org",
		kyccb.WithErrorHook(func(_ *http.Request, err error) { reasons = append(reasons, err) }))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	h := v.CombinedHandler(
		func(_ context.Context, c kyccb.Customer) error {
			got = append(got, "customer "+c.ID+" "+string(c.Status))
			return nil
		},
		func(_ context.Context, tx kyccb.Transaction) error {
			got = append(got, "transaction "+tx.ID+" "+string(tx.Status))
			return nil
		})
	srv := httptest.NewServer(h)
	defer srv.Close()
	post := func(body string) int {
		t.Helper()
		r := kyccbtest.SignedRequest(t, anchor.Seed, "https://wallet.example.org/cb", []byte(body), time.Now())
		r2, err := http.NewRequest(http.MethodPost, srv.URL+"/cb", r.Body)
		if err != nil {
			t.Fatal(err)
		}
		r2.Header = r.Header
		resp, err := srv.Client().Do(r2)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, tt := range []struct {
		body string
		code int
	}{
		{`{"id":"c-1","status":"NEEDS_INFO"}`, 200},
		{`{"transaction":{"id":"tx-1","status":"pending_customer_info_update"}}`, 200},
		{`{"status":"ACCEPTED","transaction":{"id":"tx-1"}}`, 400},
		{`{"id":"c-1"}`, 400},
		{`{"transaction":{"status":"completed"}}`, 400},
	} {
		if code := post(tt.body); code != tt.code {
			t.Errorf("%s: status %d, want %d", tt.body, code, tt.code)
		}
	}
	if want := []string{"customer c-1 NEEDS_INFO", "transaction tx-1 pending_customer_info_update"}; !cmp.Equal(want, got) {
		t.Errorf("the functions received %q, want %q", got, want)
	}
	if len(reasons) != 3 {
		t.Fatalf("%d rejections reported, want 3", len(reasons))
	}
	for _, err := range reasons {
		if !errors.Is(err, kyccb.ErrMalformedBody) {
			t.Errorf("reason %v, want ErrMalformedBody", err)
		}
	}
}

func TestTransactionHandlerConstruction(t *testing.T) {
	v := sep12Verifier(t)
	onCustomer := func(context.Context, kyccb.Customer) error { return nil }
	onTx := func(context.Context, kyccb.Transaction) error { return nil }
	for name, build := range map[string]func(){
		"Transactions with a nil function":          func() { kyccb.Transactions(testAddress, testHost, nil) },
		"Transactions with a secret seed for a key": func() { kyccb.Transactions(testSeed, testHost, onTx) },
		"Transactions with no host":                 func() { kyccb.Transactions(testAddress, "", onTx) },
		"Transactions with an XGateway option": func() {
			kyccb.Transactions(testAddress, testHost, onTx, kyccb.WithXGatewayBankAccount(func(context.Context, kyccb.XGatewayBankAccount) error { return nil }))
		},
		"TransactionHandler with a nil function":         func() { v.TransactionHandler(nil) },
		"CombinedHandler without a customer function":    func() { v.CombinedHandler(nil, onTx) },
		"CombinedHandler without a transaction function": func() { v.CombinedHandler(onCustomer, nil) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				err, _ := recover().(error)
				if !errors.Is(err, kyccb.ErrConfig) {
					t.Errorf("panicked with %v, want an error matching ErrConfig", err)
				}
			}()
			build()
		})
	}
}

// recordingStore is a memory store that keeps what the handler told it.
type recordingStore struct {
	kyccb.Store
	keys       []string
	deliveries []kyccb.Delivery
}

func (s *recordingStore) Reserve(ctx context.Context, key string, d kyccb.Delivery, lease time.Duration) (string, error) {
	s.keys, s.deliveries = append(s.keys, key), append(s.deliveries, d)
	return s.Store.Reserve(ctx, key, d, lease)
}

// Under WithDedup, a transaction's callbacks share one key, apart from
// other transactions' and from a customer's of the same id, and each tells
// the store its updated_at.
func TestTransactionsDedupKeys(t *testing.T) {
	store := &recordingStore{Store: kyccb.NewMemoryStore()}
	keys, err := kyccb.ParseKeys(testAddress)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	v, err := kyccb.NewSEP12Verifier(keys, testHost, kyccb.WithDedup(store), kyccb.WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	ran := 0
	h := v.CombinedHandler(func(context.Context, kyccb.Customer) error { ran++; return nil },
		func(context.Context, kyccb.Transaction) error { ran++; return nil })
	bodies := []string{
		`{"transaction":{"id":"x","status":"pending_anchor","updated_at":"2026-12-02T10:01:00Z"}}`,
		`{"transaction":{"id":"x","status":"completed","updated_at":"2026-12-02T10:05:00Z"}}`,
		`{"transaction":{"id":"y","status":"completed"}}`,
		`{"id":"x","status":"ACCEPTED"}`,
	}
	for _, b := range bodies {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, kyccbtest.SignedRequest(t, testSeed, "https://"+testHost+"/cb", []byte(b), now))
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: status %d", b, rec.Code)
		}
	}
	if ran != 4 {
		t.Errorf("the functions ran %d times, want 4", ran)
	}
	k := store.keys
	if len(k) != 4 || k[0] != k[1] || k[1] == k[2] || k[0] == k[3] {
		t.Errorf("keys %q: want the first two alike and the others apart", k)
	}
	wantUpdated := []time.Time{time.Date(2026, 12, 2, 10, 1, 0, 0, time.UTC), time.Date(2026, 12, 2, 10, 5, 0, 0, time.UTC), {}, {}}
	for i, d := range store.deliveries {
		if !d.UpdatedAt.Equal(wantUpdated[i]) {
			t.Errorf("delivery %d: UpdatedAt %v, want %v", i, d.UpdatedAt, wantUpdated[i])
		}
		if d.Fingerprint == "" {
			t.Errorf("delivery %d: no fingerprint", i)
		}
	}
}

// transactionVector is one case of testdata/transactions.json.
type transactionVector struct {
	Name       string            `json:"name"`
	Sender     string            `json:"sender"`
	SigningKey string            `json:"signing_key"`
	Host       string            `json:"host"`
	Now        int64             `json:"now"`
	Headers    map[string]string `json:"headers"`
	Body       string            `json:"body"`
	Valid      bool              `json:"valid"`
	Reason     string            `json:"reason"`
	Want       json.RawMessage   `json:"want"`
}

func loadTransactionVectors(t testing.TB) []transactionVector {
	t.Helper()
	b, err := os.ReadFile("testdata/transactions.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct{ Vectors []transactionVector }
	if err := json.Unmarshal(b, &file); err != nil {
		t.Fatal(err)
	}
	if len(file.Vectors) < 10 {
		t.Fatalf("%d vectors", len(file.Vectors))
	}
	return file.Vectors
}

// The Anchor Platform's and django-polaris's formats, signed by the
// Stellar JavaScript SDK.
func TestTransactionVectors(t *testing.T) {
	for _, v := range loadTransactionVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			var res txResult
			h := kyccb.Transactions(v.SigningKey, v.Host, func(_ context.Context, tx kyccb.Transaction) error {
				res.ran, res.tx = true, tx
				return nil
			}, kyccb.WithClock(func() time.Time { return time.Unix(v.Now, 0) }),
				kyccb.WithErrorHook(func(_ *http.Request, err error) { res.reason = err }))
			r := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:9000/callbacks/tx", strings.NewReader(v.Body))
			for k, val := range v.Headers {
				r.Header.Set(k, val)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if !v.Valid {
				if res.ran || rec.Code != reasonStatus[v.Reason] || !isAny(res.reason, reasonErrors[v.Reason]...) {
					t.Errorf("status %d, ran %v, reason %v; want %d for %s, not run", rec.Code, res.ran, res.reason, reasonStatus[v.Reason], v.Reason)
				}
				return
			}
			if rec.Code != http.StatusOK || !res.ran {
				t.Fatalf("status %d, ran %v, reason %v", rec.Code, res.ran, res.reason)
			}
			gotJSON, err := json.Marshal(res.tx)
			if err != nil {
				t.Fatal(err)
			}
			var got, want map[string]any
			if err := json.Unmarshal(gotJSON, &got); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(v.Want, &want); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("the function received (-want +got):\n%s", diff)
			}
		})
	}
}

// The middleware form tells the store a transaction's updated_at too, and
// a time in no known format only leaves it unordered.
func TestMiddlewareTransactionDelivery(t *testing.T) {
	store := &recordingStore{Store: kyccb.NewMemoryStore()}
	now := time.Now()
	v := sep12Verifier(t, kyccb.WithDedup(store), kyccb.WithClock(func() time.Time { return now }))
	h := v.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	for _, b := range []string{
		`{"transaction":{"updated_at":"2026-12-02T10:05:00Z","id":"x","status":"completed"}}`,
		`{"transaction":{"updated_at":"yesterday","id":"x","status":"completed"}}`,
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, kyccbtest.SignedRequest(t, testSeed, "https://"+testHost+"/cb", []byte(b), now))
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: status %d", b, rec.Code)
		}
	}
	if len(store.keys) != 2 || store.keys[0] != store.keys[1] {
		t.Errorf("keys %q, want one for the transaction", store.keys)
	}
	if want := time.Date(2026, 12, 2, 10, 5, 0, 0, time.UTC); len(store.deliveries) != 2 ||
		!store.deliveries[0].UpdatedAt.Equal(want) || !store.deliveries[1].UpdatedAt.IsZero() {
		t.Errorf("deliveries %+v, want updated_at %v, then none", store.deliveries, want)
	}
}
