package kyccb_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kyccb/kyccb"
)

// xgatewayBody returns a KYC callback with fields set over the valid
// fixture; a nil value removes the field.
func xgatewayBody(t testing.TB, fields map[string]any) string {
	t.Helper()
	m := map[string]any{
		"callbackType":           "kyc",
		"customerId":             "cust-42",
		"docsMissing":            []map[string]string{{"docType": "SELFIE"}},
		"hash":                   kyccb.XGatewayHash(testSecret, "cust-42"),
		"kycRejectLabel":         "BAD_SELFIE",
		"kycEndUserErrorMessage": nil,
		"status":                 "SOFT_KYC_FAILED",
		"kycProcessingStatus":    "VERIFICATION_IN_PROGRESS",
	}
	for k, v := range fields {
		if v == nil {
			delete(m, k)
			continue
		}
		m[k] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

type xgwResult struct {
	code   int
	kyc    *kyccb.XGatewayKYC
	reason error
}

func serveXGateway(t testing.TB, method, body string, fnErr error, opts ...kyccb.Option) xgwResult {
	t.Helper()
	var res xgwResult
	opts = append([]kyccb.Option{kyccb.WithErrorHook(func(_ *http.Request, err error) { res.reason = err })}, opts...)
	h := kyccb.XGateway(testSecret, func(_ context.Context, k kyccb.XGatewayKYC) error {
		res.kyc = &k
		return fnErr
	}, opts...)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, "/xgw", strings.NewReader(body)))
	res.code = rec.Code
	if strings.Contains(rec.Body.String(), testSecret) || strings.Contains(rec.Body.String(), "cust-42") {
		t.Errorf("reply %q echoes the secret or the request", rec.Body.String())
	}
	return res
}

func TestXGatewayKYC(t *testing.T) {
	res := serveXGateway(t, http.MethodPost, xgatewayBody(t, nil), nil)
	want := &kyccb.XGatewayKYC{
		CallbackType:        "kyc",
		CustomerID:          "cust-42",
		DocsMissing:         []string{"SELFIE"},
		Hash:                kyccb.XGatewayHash(testSecret, "cust-42"),
		KYCRejectLabel:      "BAD_SELFIE",
		Status:              kyccb.XGatewaySoftKYCFailed,
		KYCProcessingStatus: "VERIFICATION_IN_PROGRESS",
	}
	if res.code != 200 || res.reason != nil {
		t.Fatalf("got %d (%v)", res.code, res.reason)
	}
	if diff := cmp.Diff(want, res.kyc); diff != "" {
		t.Errorf("callback (-want +got):\n%s", diff)
	}
}

func TestXGatewayRejects(t *testing.T) {
	tests := []struct {
		name     string
		method   string
		body     string
		fnErr    error
		wantCode int
		wantErr  error
		wantRan  bool
	}{
		{"a GET", http.MethodGet, xgatewayBody(t, nil), nil, 405, kyccb.ErrMethod, false},
		{"no hash", http.MethodPost, xgatewayBody(t, map[string]any{"hash": nil}), nil, 401, kyccb.ErrMissingHash, false},
		{"an empty hash", http.MethodPost, xgatewayBody(t, map[string]any{"hash": ""}), nil, 401, kyccb.ErrMissingHash, false},
		{"a hash for another customer", http.MethodPost, xgatewayBody(t, map[string]any{"customerId": "cust-43"}), nil, 401, kyccb.ErrBadHash, false},
		{"a hash with another secret", http.MethodPost, xgatewayBody(t, map[string]any{"hash": kyccb.XGatewayHash("other", "cust-42")}), nil, 401, kyccb.ErrBadHash, false},
		{"an unpadded hash", http.MethodPost, xgatewayBody(t, map[string]any{"hash": strings.TrimRight(kyccb.XGatewayHash(testSecret, "cust-42"), "=")}), nil, 401, kyccb.ErrBadHash, false},
		{"a hash over the secret alone", http.MethodPost, xgatewayBody(t, map[string]any{"hash": kyccb.XGatewayHash(testSecret)}), nil, 401, kyccb.ErrBadHash, false},
		{"an unknown callback type", http.MethodPost, xgatewayBody(t, map[string]any{"callbackType": "refund"}), nil, 400, kyccb.ErrUnknownCallbackType, false},
		{"no callback type", http.MethodPost, xgatewayBody(t, map[string]any{"callbackType": nil}), nil, 400, kyccb.ErrUnknownCallbackType, false},
		{"a form body", http.MethodPost, "callbackType=kyc&customerId=cust-42", nil, 400, kyccb.ErrMalformedBody, false},
		{"a JSON array", http.MethodPost, "[]", nil, 400, kyccb.ErrMalformedBody, false},
		{"docsMissing of numbers", http.MethodPost, xgatewayBody(t, map[string]any{"docsMissing": []int{1}}), nil, 400, kyccb.ErrMalformedBody, false},
		{"a function that fails", http.MethodPost, xgatewayBody(t, nil), errors.New("queue full"), 500, kyccb.ErrCallback, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := serveXGateway(t, tt.method, tt.body, tt.fnErr)
			if res.code != tt.wantCode || !errors.Is(res.reason, tt.wantErr) || (res.kyc != nil) != tt.wantRan {
				t.Fatalf("got %d, %v, fn ran %v; want %d, %v, %v", res.code, res.reason, res.kyc != nil, tt.wantCode, tt.wantErr, tt.wantRan)
			}
			if res.reason != nil && strings.Contains(res.reason.Error(), testSecret) {
				t.Errorf("reason %q contains the secret", res.reason)
			}
		})
	}
}

func TestXGatewayOtherTypes(t *testing.T) {
	tx := `{"callbackType":"transaction","id":"tx-1","customerId":null,"amount":"10.50","currency":"EUR","status":"COMPLETED","invoiceId":"inv-1","orderId":null,"network":"SEPA","transactionHash":null,"type":"DEPOSIT","applicationId":"app","info":{"iban":"DE00"},"fee":null,"hash":"` + kyccb.XGatewayHash(testSecret, "tx-1", "N/A", "10.50", "EUR") + `"}`
	txNumber := `{"callbackType":"transaction","id":"tx-2","customerId":"c-9","amount":10.5,"currency":"EUR","hash":"` + kyccb.XGatewayHash(testSecret, "tx-2", "c-9", "10.5", "EUR") + `"}`
	bank := `{"callbackType":"bank_account","customerId":"c-9","currency":"GBP","iban":null,"bic":null,"accountNumber":"12345678","sortCode":"00-00-00","country":"GB","status":"ACTIVE","hash":"` + kyccb.XGatewayHash(testSecret, "c-9", "GBP") + `"}`
	forgedTx := strings.Replace(tx, `"10.50"`, `"1000.50"`, 1)
	forgedBank := strings.Replace(bank, `"GBP"`, `"EUR"`, 1)

	var gotTx *kyccb.XGatewayTransaction
	var gotBank *kyccb.XGatewayBankAccount
	typed := []kyccb.Option{
		kyccb.WithXGatewayTransaction(func(_ context.Context, v kyccb.XGatewayTransaction) error { gotTx = &v; return nil }),
		kyccb.WithXGatewayBankAccount(func(_ context.Context, v kyccb.XGatewayBankAccount) error { gotBank = &v; return nil }),
	}
	tests := []struct {
		name     string
		body     string
		opts     []kyccb.Option
		wantCode int
		wantErr  error
		wantTx   *kyccb.XGatewayTransaction
		wantBank *kyccb.XGatewayBankAccount
	}{
		{"a transaction without a typed function", tx, nil, 200, nil, nil, nil},
		{"a bank account without a typed function", bank, nil, 200, nil, nil, nil},
		{"a forged transaction without a typed function", forgedTx, nil, 401, kyccb.ErrBadHash, nil, nil},
		{"a transaction", tx, typed, 200, nil, &kyccb.XGatewayTransaction{
			CallbackType: "transaction", ID: "tx-1", Amount: "10.50", Currency: "EUR", Status: "COMPLETED",
			InvoiceID: "inv-1", Network: "SEPA", Type: "DEPOSIT", ApplicationID: "app",
			Info: json.RawMessage(`{"iban":"DE00"}`), Hash: kyccb.XGatewayHash(testSecret, "tx-1", "N/A", "10.50", "EUR"),
		}, nil},
		// XGateway sends strings; a number's hash covers its text, which
		// other parsers read as another number.
		{"a transaction with a numeric amount", txNumber, typed, 401, kyccb.ErrBadHash, nil, nil},
		{"a bank account", bank, typed, 200, nil, nil, &kyccb.XGatewayBankAccount{
			CallbackType: "bank_account", CustomerID: "c-9", Currency: "GBP", AccountNumber: "12345678",
			SortCode: "00-00-00", Country: "GB", Status: "ACTIVE", Hash: kyccb.XGatewayHash(testSecret, "c-9", "GBP"),
		}},
		{"a forged bank account", forgedBank, typed, 401, kyccb.ErrBadHash, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gotTx, gotBank = nil, nil
			res := serveXGateway(t, http.MethodPost, tt.body, nil, tt.opts...)
			if res.code != tt.wantCode || !errors.Is(res.reason, tt.wantErr) || res.kyc != nil {
				t.Fatalf("got %d, %v, kyc fn ran %v; want %d, %v", res.code, res.reason, res.kyc != nil, tt.wantCode, tt.wantErr)
			}
			if diff := cmp.Diff(tt.wantTx, gotTx); diff != "" {
				t.Errorf("transaction (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantBank, gotBank); diff != "" {
				t.Errorf("bank account (-want +got):\n%s", diff)
			}
		})
	}
}

func TestXGatewayMiddleware(t *testing.T) {
	body := xgatewayBody(t, nil)
	var got string
	h := xgatewayVerifier(t).Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			t.Error(err)
		}
		got = string(b)
		if string(kyccb.RawBody(r.Context())) != got {
			t.Error("RawBody differs from the restored body")
		}
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body)))
	if rec.Code != 200 || got != body {
		t.Fatalf("got %d and %q, want 200 and the body byte for byte", rec.Code, got)
	}
	got = ""
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", strings.NewReader(xgatewayBody(t, map[string]any{"status": "FULL_USER", "customerId": "cust-43"}))))
	if rec.Code != 401 || got != "" {
		t.Fatalf("forged: got %d, next saw %q; want 401 without next", rec.Code, got)
	}
}

func TestXGatewayHash(t *testing.T) {
	// sha512("demo_customer_id.secret"), computed with coreutils:
	// printf %s demo_customer_id.secret | sha512sum | xxd -r -p | base64 -w0
	const want = "weIbDCGq4UsEGPi+cGhIStR/D6iQdkrgrMnxqKpzGjYyjOxpYU6kVvSBBs5p1hZtzatufFKnO5396jjTNr0usA=="
	if got := kyccb.XGatewayHash("secret", "demo_customer_id"); got != want {
		t.Fatalf("XGatewayHash = %q, want %q", got, want)
	}
}

// xgatewayVerifier is the verifier XGateway builds for the test secret.
func xgatewayVerifier(t testing.TB, opts ...kyccb.Option) *kyccb.XGatewayVerifier {
	t.Helper()
	v, err := kyccb.NewXGatewayVerifier(testSecret, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
