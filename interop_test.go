package kyccb_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kyccb/kyccb"
	"github.com/kyccb/kyccb/internal/wire"
	"github.com/kyccb/kyccb/kyccbtest"
)

// The TestInterop tests check kyccb against code it did not write: the
// Stellar JavaScript SDK (@stellar/stellar-base, pinned in
// testdata/interop/package-lock.json) signs and verifies SEP-12 callbacks,
// and Node's crypto computes XGateway hashes. Each test runs one node
// process with all its cases (testdata/interop/interop.mjs).
//
// Without node or the installed package they are skipped, unless
// KYCCB_REQUIRE_INTEROP=1 (set by .ci/run), which makes the skip a failure.

const interopDir = "testdata/interop"

type jsSign struct {
	Seed  string `json:"seed"`
	Host  string `json:"host"`
	T     string `json:"t"`
	Body  []byte `json:"body_b64"` // encoding/json writes []byte as base64
	Style string `json:"style"`
}

type jsSigned struct {
	Address string `json:"address"`
	Header  string `json:"header"`
}

type jsVerify struct {
	Address string `json:"address"`
	Host    string `json:"host"`
	Header  string `json:"header"`
	Body    []byte `json:"body_b64"`
}

type jsVerified struct {
	OK bool `json:"ok"`
}

type jsHash struct {
	Secret string   `json:"secret"`
	Fields []string `json:"fields"`
}

type jsXGateway struct {
	Secret   string         `json:"secret"`
	Callback map[string]any `json:"callback"`
}

type jsXGatewayBody struct {
	Body []byte `json:"body_b64"`
}

type jsRequest struct {
	Sign     []jsSign     `json:"sign,omitempty"`
	Verify   []jsVerify   `json:"verify,omitempty"`
	Hash     []jsHash     `json:"hash,omitempty"`
	XGateway []jsXGateway `json:"xgateway,omitempty"`
}

type jsReply struct {
	Sign     []jsSigned       `json:"sign"`
	Verify   []jsVerified     `json:"verify"`
	Hash     []string         `json:"hash"`
	XGateway []jsXGatewayBody `json:"xgateway"`
}

// runJS runs interop.mjs once with req and returns its reply, or skips the
// test when Node.js or the pinned SDK is not installed.
func runJS(t *testing.T, req jsRequest) jsReply {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		skipInterop(t, "node is not in PATH: install Node.js 20 or newer")
	}
	if _, err := os.Stat(filepath.Join(interopDir, "node_modules", "@stellar", "stellar-base", "package.json")); err != nil {
		skipInterop(t, "@stellar/stellar-base is not installed: run `npm ci --prefix "+interopDir+"`")
	}
	in, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, filepath.Join(interopDir, "interop.mjs"))
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("interop.mjs: %v\n%s", err, stderr.Bytes())
	}
	var reply jsReply
	if err := json.Unmarshal(out, &reply); err != nil {
		t.Fatalf("interop.mjs reply: %v\n%s", err, out)
	}
	if len(reply.Sign) != len(req.Sign) || len(reply.Verify) != len(req.Verify) ||
		len(reply.Hash) != len(req.Hash) || len(reply.XGateway) != len(req.XGateway) {
		t.Fatalf("interop.mjs answered %d/%d/%d/%d cases, want %d/%d/%d/%d",
			len(reply.Sign), len(reply.Verify), len(reply.Hash), len(reply.XGateway),
			len(req.Sign), len(req.Verify), len(req.Hash), len(req.XGateway))
	}
	return reply
}

func skipInterop(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("KYCCB_REQUIRE_INTEROP") == "1" {
		t.Fatalf("interop test cannot run, and KYCCB_REQUIRE_INTEROP=1: %s", why)
	}
	t.Skipf("skipping the interop test with the Stellar JavaScript SDK: %s", why)
}

// sep12Case is one SEP-12 callback exchanged with the JavaScript SDK.
type sep12Case struct {
	name       string
	configured string // the host (or URL) the receiver is configured with
	signed     string // the host the sender signs for
	header     string // the header the sender uses
	style      string // how interop.mjs writes the header
	body       string
	want       kyccb.Customer
}

var sep12Cases = []sep12Case{
	{
		name:       "An Anchor Platform callback for a host without a port",
		configured: "wallet.example.org",
		signed:     "wallet.example.org",
		header:     kyccb.SignatureHeader,
		style:      "anchor-platform",
		body:       `{"id":"d1ce2f48-3ff1-495d-9240-7a50d806cfed","status":"ACCEPTED"}`,
		want:       kyccb.Customer{ID: "d1ce2f48-3ff1-495d-9240-7a50d806cfed", Status: kyccb.StatusAccepted},
	},
	{
		name:       "A non-ASCII rejection message to a host with a port",
		configured: "wallet.example.org:8443",
		signed:     "wallet.example.org:8443",
		header:     kyccb.SignatureHeader,
		style:      "polaris",
		body:       `{"id":"c-ü","status":"REJECTED","message":"Документ нечитаем — Zoë 名前 🚫"}`,
		want:       kyccb.Customer{ID: "c-ü", Status: kyccb.StatusRejected, Message: "Документ нечитаем — Zoë 名前 🚫"},
	},
	{
		name:       "An explicit default port in the registered URL",
		configured: "https://wallet.example.org:443/kyc",
		signed:     "wallet.example.org:443",
		header:     kyccb.SignatureHeader,
		style:      "anchor-platform",
		body:       `{"id":"c2","status":"PROCESSING"}`,
		want:       kyccb.Customer{ID: "c2", Status: kyccb.StatusProcessing},
	},
	{
		name:       "An IPv6 literal with a port",
		configured: "[::1]:8000",
		signed:     "[::1]:8000",
		header:     kyccb.SignatureHeader,
		style:      "anchor-platform",
		body:       `{"id":"c3","status":"ACCEPTED"}`,
		want:       kyccb.Customer{ID: "c3", Status: kyccb.StatusAccepted},
	},
	{
		name:       "URL-safe unpadded base64 with s first, and non-ASCII field descriptions",
		configured: "wallet.example.org",
		signed:     "wallet.example.org",
		header:     kyccb.SignatureHeader,
		style:      "url-unpadded",
		body:       `{"id":"c4","status":"NEEDS_INFO","fields":{"first_name":{"type":"string","description":"Prénom / 名"},"id_type":{"type":"string","description":"Type de pièce","choices":["passeport","carte d'identité"],"optional":true}}}`,
		want: kyccb.Customer{ID: "c4", Status: kyccb.StatusNeedsInfo, Fields: map[string]kyccb.Field{
			"first_name": {Type: "string", Description: "Prénom / 名"},
			"id_type":    {Type: "string", Description: "Type de pièce", Choices: []string{"passeport", "carte d'identité"}, Optional: true},
		}},
	},
	{
		name:       "The legacy X-Stellar-Signature header",
		configured: "wallet.example.org",
		signed:     "wallet.example.org",
		header:     kyccb.LegacySignatureHeader,
		style:      "polaris",
		body:       `{"id":"c5","status":"ACCEPTED"}`,
		want:       kyccb.Customer{ID: "c5", Status: kyccb.StatusAccepted},
	},
	{
		name:       "Escaped and raw UTF-8 side by side, pretty-printed with CRLF",
		configured: "wallet.example.org:8443",
		signed:     "wallet.example.org:8443",
		header:     kyccb.SignatureHeader,
		style:      "anchor-platform",
		body:       "{\r\n  \"id\": \"\\u00e9-é\",\r\n  \"status\": \"PROCESSING\",\r\n  \"provided_fields\": {\"photo_id_front\": {\"type\": \"binary\", \"status\": \"REJECTED\", \"error\": \"flou \\u2014 blurry\"}}\r\n}\r\n",
		want: kyccb.Customer{ID: "é-é", Status: kyccb.StatusProcessing, ProvidedFields: map[string]kyccb.ProvidedField{
			"photo_id_front": {Type: "binary", Status: "REJECTED", Error: "flou — blurry"},
		}},
	},
	{
		name:       "A sender that strips the port signs the bare hostname",
		configured: "wallet.example.org:8443",
		signed:     "wallet.example.org",
		header:     kyccb.SignatureHeader,
		style:      "anchor-platform",
		body:       `{"id":"c7","status":"ACCEPTED"}`,
		want:       kyccb.Customer{ID: "c7", Status: kyccb.StatusAccepted},
	},
}

// TestInteropSEP12SignedByJS sends callbacks signed by the Stellar
// JavaScript SDK to a real server running kyccb.SEP12: each is accepted and
// decoded, and the same callback with one body byte changed is not.
func TestInteropSEP12SignedByJS(t *testing.T) {
	anchor := kyccbtest.NewKeyPair(t)
	now := time.Now().Truncate(time.Second)
	ts := strconv.FormatInt(now.Unix(), 10)
	var req jsRequest
	for _, c := range sep12Cases {
		req.Sign = append(req.Sign, jsSign{Seed: anchor.Seed, Host: c.signed, T: ts, Body: []byte(c.body), Style: c.style})
	}
	reply := runJS(t, req)

	for i, c := range sep12Cases {
		t.Run(c.name, func(t *testing.T) {
			js := reply.Sign[i]
			if js.Address != anchor.Address {
				t.Fatalf("the SDK derives %s from the seed, kyccbtest %s", js.Address, anchor.Address)
			}
			type received struct {
				Customer kyccb.Customer
				Raw      string
				SignedAt time.Time
			}
			var (
				mu  sync.Mutex
				got []received
			)
			reports := make(reportCh, 4)
			h := kyccb.SEP12(js.Address, c.configured, func(ctx context.Context, cu kyccb.Customer) error {
				at, _ := kyccb.SignedAt(ctx)
				mu.Lock()
				defer mu.Unlock()
				got = append(got, received{cu, string(kyccb.RawBody(ctx)), at})
				return nil
			},
				kyccb.WithClock(func() time.Time { return now }),
				reports.hook())
			srv := httptest.NewServer(h)
			defer srv.Close()

			if code := postInterop(t, srv.URL, c.header, js.Header, []byte(c.body)); code != http.StatusOK {
				t.Fatalf("status %d for a callback signed by the SDK (%v), want 200", code, reports.next(t))
			}
			want := []received{{c.want, c.body, now}}
			mu.Lock()
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("fn received (-want +got):\n%s", diff)
			}
			mu.Unlock()

			tampered := []byte(c.body)
			tampered[len(tampered)/2] ^= 0x01
			if code := postInterop(t, srv.URL, c.header, js.Header, tampered); code != http.StatusUnauthorized {
				t.Errorf("status %d for a tampered body, want 401", code)
			}
			if err := reports.next(t); !errors.Is(err, kyccb.ErrBadSignature) {
				t.Errorf("tampered body reported %v, want ErrBadSignature", err)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(got) != 1 {
				t.Errorf("fn ran %d times, want once", len(got))
			}
		})
	}
}

// reportCh collects what a handler's error hook reports, for tests whose
// handler runs behind a server on another goroutine.
type reportCh chan error

func (r reportCh) hook() kyccb.Option {
	return kyccb.WithErrorHook(func(_ *http.Request, err error) { r <- err })
}

// next returns the next reported error, or fails the test if none comes.
func (r reportCh) next(t *testing.T) error {
	t.Helper()
	select {
	case err := <-r:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("the handler reported no error")
		return nil
	}
}

func postInterop(t *testing.T, url, header, value string, body []byte) int {
	t.Helper()
	r, err := http.NewRequest(http.MethodPost, url+"/kyc", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/json; charset=utf-8")
	r.Header.Set(header, value)
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestInteropSEP12VerifiedByJS has the Stellar JavaScript SDK verify
// signatures made by kyccb.SignSEP12, and reject them for a changed body,
// host, timestamp or key.
func TestInteropSEP12VerifiedByJS(t *testing.T) {
	anchor := kyccbtest.NewKeyPair(t)
	other := kyccbtest.NewKeyPair(t)
	now := time.Now()

	type check struct {
		name string
		want bool
	}
	var (
		req    jsRequest
		checks []check
	)
	for _, c := range sep12Cases {
		body := []byte(c.body)
		header, err := kyccb.SignSEP12(anchor.Seed, c.signed, body, now)
		if err != nil {
			t.Fatal(err)
		}
		sig, err := wire.ParseSignature(header)
		if err != nil {
			t.Fatal(err)
		}
		tampered := bytes.Clone(body)
		tampered[len(tampered)/2] ^= 0x01
		later := "t=" + strconv.FormatInt(now.Unix()+1, 10) + ", s=" + base64.StdEncoding.EncodeToString(sig.Bytes)
		for _, v := range []struct {
			says string
			want bool
			jsVerify
		}{
			{"verifies", true, jsVerify{anchor.Address, c.signed, header, body}},
			{"rejects a changed body", false, jsVerify{anchor.Address, c.signed, header, tampered}},
			{"rejects another host", false, jsVerify{anchor.Address, "evil.example", header, body}},
			{"rejects another timestamp", false, jsVerify{anchor.Address, c.signed, later, body}},
			{"rejects another key", false, jsVerify{other.Address, c.signed, header, body}},
		} {
			req.Verify = append(req.Verify, v.jsVerify)
			checks = append(checks, check{c.name + ": the SDK " + v.says, v.want})
		}
	}
	reply := runJS(t, req)
	for i, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if got := reply.Verify[i].OK; got != c.want {
				t.Errorf("Keypair.verify = %v, want %v (header %q)", got, c.want, req.Verify[i].Header)
			}
		})
	}
}

// TestInteropXGatewayHash compares kyccb.XGatewayHash with SHA-512 from
// Node's crypto for each callback type's field order.
func TestInteropXGatewayHash(t *testing.T) {
	tests := []struct {
		name string
		jsHash
	}{
		{"kyc: customerId", jsHash{"sk_live_9f8e7d", []string{"cust-42"}}},
		{"kyc: a non-ASCII customerId and secret", jsHash{"clé-secrète-名", []string{"клиент-7"}}},
		{"kyc: an empty customerId", jsHash{"sk_live_9f8e7d", []string{""}}},
		{"transaction: id, customerId, amount, currency", jsHash{"sk_live_9f8e7d", []string{"tx-1", "cust-42", "10.50", "EUR"}}},
		{"transaction: without a customer", jsHash{"sk_live_9f8e7d", []string{"tx-2", "N/A", "0.00012", "BTC"}}},
		{"bank_account: customerId, currency", jsHash{"sk_live_9f8e7d", []string{"cust-42", "GBP"}}},
		{"a secret containing dots", jsHash{"a.b.c", []string{"x.y"}}},
	}
	var req jsRequest
	for _, tt := range tests {
		req.Hash = append(req.Hash, tt.jsHash)
	}
	reply := runJS(t, req)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, want := kyccb.XGatewayHash(tt.Secret, tt.Fields...), reply.Hash[i]; got != want {
				t.Errorf("XGatewayHash = %s, Node's crypto = %s", got, want)
			}
		})
	}
}

// TestInteropXGatewayCallbacks sends callbacks whose bodies and hashes
// Node wrote to a real server running kyccb.XGateway: each is accepted and
// decoded, and the same callback with another customerId is not.
func TestInteropXGatewayCallbacks(t *testing.T) {
	const secret = "sk_test_Zoë_51H8"
	tests := []struct {
		name     string
		callback map[string]any
		want     kyccb.XGatewayCallback // Hash fields are filled in from Node's body
	}{
		{
			name: "kyc with docsMissing as strings and a non-ASCII message",
			callback: map[string]any{
				"callbackType": "kyc", "customerId": "cust-ü-1", "docsMissing": []string{"SELFIE", "PASSPORT"},
				"kycRejectLabel": "BAD_SELFIE, BAD_PASSPORT", "kycEndUserErrorMessage": "Selfie floue — réessayez",
				"status": "SOFT_KYC_FAILED", "kycProcessingStatus": nil,
			},
			want: kyccb.XGatewayCallback{Type: "kyc", KYC: &kyccb.XGatewayKYC{
				CallbackType: "kyc", CustomerID: "cust-ü-1", DocsMissing: []string{"SELFIE", "PASSPORT"},
				KYCRejectLabel: "BAD_SELFIE, BAD_PASSPORT", KYCEndUserErrorMessage: "Selfie floue — réessayez",
				Status: kyccb.XGatewaySoftKYCFailed,
			}},
		},
		{
			name: "kyc with docsMissing as objects",
			callback: map[string]any{
				"callbackType": "kyc", "customerId": "cust-2", "docsMissing": []map[string]string{{"docType": "SELFIE"}},
				"kycRejectLabel": nil, "kycEndUserErrorMessage": nil, "status": "KYC_PENDING",
				"kycProcessingStatus": "VERIFICATION_IN_PROGRESS",
			},
			want: kyccb.XGatewayCallback{Type: "kyc", KYC: &kyccb.XGatewayKYC{
				CallbackType: "kyc", CustomerID: "cust-2", DocsMissing: []string{"SELFIE"},
				Status: kyccb.XGatewayKYCPending, KYCProcessingStatus: "VERIFICATION_IN_PROGRESS",
			}},
		},
		{
			name: "transaction with nested info and fee",
			callback: map[string]any{
				"callbackType": "transaction", "id": "tx-9", "customerId": "cust-3", "amount": "10.50", "currency": "EUR",
				"status": "COMPLETED", "invoiceId": "inv-1", "orderId": "ord-ü", "network": "stellar",
				"transactionHash": "ab12", "type": "deposit", "applicationId": "app-1",
				"info": map[string]string{"memo": "ü"}, "fee": map[string]string{"amount": "0.10"},
			},
			want: kyccb.XGatewayCallback{Type: "transaction", Transaction: &kyccb.XGatewayTransaction{
				CallbackType: "transaction", ID: "tx-9", CustomerID: "cust-3", Amount: "10.50", Currency: "EUR",
				Status: "COMPLETED", InvoiceID: "inv-1", OrderID: "ord-ü", Network: "stellar",
				TransactionHash: "ab12", Type: "deposit", ApplicationID: "app-1",
				Info: json.RawMessage(`{"memo":"ü"}`), Fee: json.RawMessage(`{"amount":"0.10"}`),
			}},
		},
		{
			name: "transaction without a customer (hashed as N/A)",
			callback: map[string]any{
				"callbackType": "transaction", "id": "tx-10", "customerId": nil, "amount": "0.00012", "currency": "BTC",
				"status": "PENDING",
			},
			want: kyccb.XGatewayCallback{Type: "transaction", Transaction: &kyccb.XGatewayTransaction{
				CallbackType: "transaction", ID: "tx-10", Amount: "0.00012", Currency: "BTC", Status: "PENDING",
			}},
		},
		{
			name: "bank_account",
			callback: map[string]any{
				"callbackType": "bank_account", "customerId": "cust-4", "currency": "GBP", "iban": nil, "bic": nil,
				"accountNumber": "12345678", "sortCode": "12-34-56", "country": "GB", "status": "ACTIVE",
			},
			want: kyccb.XGatewayCallback{Type: "bank_account", BankAccount: &kyccb.XGatewayBankAccount{
				CallbackType: "bank_account", CustomerID: "cust-4", Currency: "GBP",
				AccountNumber: "12345678", SortCode: "12-34-56", Country: "GB", Status: "ACTIVE",
			}},
		},
	}
	var req jsRequest
	for _, tt := range tests {
		req.XGateway = append(req.XGateway, jsXGateway{Secret: secret, Callback: tt.callback})
	}
	reply := runJS(t, req)

	var (
		mu  sync.Mutex
		got []kyccb.XGatewayCallback
	)
	reports := make(reportCh, 4)
	record := func(cb kyccb.XGatewayCallback) { mu.Lock(); got = append(got, cb); mu.Unlock() }
	h := kyccb.XGateway(secret,
		func(_ context.Context, k kyccb.XGatewayKYC) error {
			record(kyccb.XGatewayCallback{Type: "kyc", KYC: &k})
			return nil
		},
		kyccb.WithXGatewayTransaction(func(_ context.Context, tx kyccb.XGatewayTransaction) error {
			record(kyccb.XGatewayCallback{Type: "transaction", Transaction: &tx})
			return nil
		}),
		kyccb.WithXGatewayBankAccount(func(_ context.Context, b kyccb.XGatewayBankAccount) error {
			record(kyccb.XGatewayCallback{Type: "bank_account", BankAccount: &b})
			return nil
		}),
		reports.hook())
	srv := httptest.NewServer(h)
	defer srv.Close()

	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := reply.XGateway[i].Body
			var sent struct {
				Hash string `json:"hash"`
			}
			if err := json.Unmarshal(body, &sent); err != nil {
				t.Fatal(err)
			}
			want := tt.want
			switch {
			case want.KYC != nil:
				want.KYC.Hash = sent.Hash
			case want.Transaction != nil:
				want.Transaction.Hash = sent.Hash
			case want.BankAccount != nil:
				want.BankAccount.Hash = sent.Hash
			}

			mu.Lock()
			got = nil
			mu.Unlock()
			if code := postInterop(t, srv.URL, "Content-Type", "application/json", body); code != http.StatusOK {
				t.Fatalf("status %d for a callback hashed by Node (%v), want 200", code, reports.next(t))
			}
			mu.Lock()
			if diff := cmp.Diff([]kyccb.XGatewayCallback{want}, got); diff != "" {
				t.Errorf("received (-want +got):\n%s", diff)
			}
			mu.Unlock()

			var m map[string]any
			if err := json.Unmarshal(body, &m); err != nil {
				t.Fatal(err)
			}
			m["customerId"] = "someone-else"
			forged, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			if code := postInterop(t, srv.URL, "Content-Type", "application/json", forged); code != http.StatusUnauthorized {
				t.Errorf("status %d with another customerId, want 401", code)
			}
			if err := reports.next(t); !errors.Is(err, kyccb.ErrBadHash) {
				t.Errorf("another customerId reported %v, want ErrBadHash", err)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(got) != 1 {
				t.Errorf("a function ran %d times, want once", len(got))
			}
		})
	}
}
