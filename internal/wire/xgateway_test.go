package wire_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/kyccb/kyccb/internal/wire"
)

const xgwSecret = "sk_test_7f3a9c2e"

// xgwWithHash replaces HASH in body with the hash of fields, so that a
// case states the fields it must hash once.
func xgwWithHash(body string, fields ...string) string {
	return strings.ReplaceAll(body, "HASH", wire.XGatewayHash(xgwSecret, fields...))
}

// xgwKYC is a KYC body as XGateway sends it.
var xgwKYC = xgwWithHash(`{"callbackType":"kyc","customerId":"cust-42","docsMissing":[{"docType":"SELFIE"}],`+
	`"hash":"HASH","kycEndUserErrorMessage":null,"kycProcessingStatus":"VERIFICATION_IN_PROGRESS",`+
	`"kycRejectLabel":"BAD_SELFIE","status":"SOFT_KYC_FAILED"}`, "cust-42")

// xgwTransaction is a transaction body as XGateway sends it.
var xgwTransaction = xgwWithHash(`{"callbackType":"transaction","id":"77","customerId":"1234",`+
	`"amount":"12.5","currency":"USD","status":"COMPLETED","invoiceId":"inv-1","orderId":"ord-9",`+
	`"network":"TRON","transactionHash":"0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060",`+
	`"type":"DEPOSIT","applicationId":"app-7","info":{"from":"TXYZ","confirmations":19,"tags":["a",{"b":null}]},`+
	`"fee":{"amount":"0.25","currency":"USD"},"hash":"HASH"}`, "77", "1234", "12.5", "USD")

// xgwBankAccount is a bank account body as XGateway sends it.
var xgwBankAccount = xgwWithHash(`{"callbackType":"bank_account","customerId":"cust-42","currency":"EUR",`+
	`"iban":"DE89370400440532013000","bic":"COBADEFFXXX","accountNumber":null,"sortCode":null,`+
	`"country":"DE","status":"ACTIVE","hash":"HASH"}`, "cust-42", "EUR")

// xgwRead parses body and returns its hashed fields, or the first error.
func xgwRead(body string) (wire.XGateway, []string, error) {
	x, err := wire.ParseXGateway([]byte(body))
	if err != nil {
		return x, nil, err
	}
	fields, err := x.HashedFields()
	return x, fields, err
}

func TestParseXGatewayGenuine(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		typ    string
		fields []string
	}{
		{"a KYC callback", xgwKYC, "kyc", []string{"cust-42"}},
		{"a transaction callback with nested info and fee", xgwTransaction, "transaction", []string{"77", "1234", "12.5", "USD"}},
		{"a bank account callback", xgwBankAccount, "bank_account", []string{"cust-42", "EUR"}},
		{"a KYC callback for an e-mail address",
			`{"callbackType":"kyc","customerId":"alice@example.com","hash":"HASH"}`, "kyc", []string{"alice@example.com"}},
		{"a KYC callback with docsMissing as strings and an unknown field",
			`{"callbackType":"kyc","customerId":"c","docsMissing":["SELFIE","PASSPORT"],"hash":"HASH","newFieldFromFuture":{"a":1}}`,
			"kyc", []string{"c"}},
		{"a KYC callback with a null customer id",
			`{"callbackType":"kyc","customerId":null,"hash":"HASH"}`, "kyc", []string{""}},
		{"escapes in values",
			`{"callbackType":"kyc","customerId":"Zo\u00eb-\u540d\ud83d\ude00\"\\\/\b\f\n\r\t","hash":"HASH"}`,
			"kyc", []string{"Zoë-名😀\"\\/\b\f\n\r\t"}},
		{"raw UTF-8 in values",
			`{"callbackType":"kyc","customerId":"Zoë-名😀","hash":"HASH"}`, "kyc", []string{"Zoë-名😀"}},
		{"escapes in keys and in the callback type",
			`{"\u0063allbackType":"\u006byc","\u0063ustomer\u0049d":"c","h\u0061sh":"HASH"}`, "kyc", []string{"c"}},
		{"white space everywhere",
			" \t\r\n{ \"callbackType\" :\t\"bank_account\" ,\r\n \"customerId\" : \"c\" , \"currency\":\"GBP\", \"hash\" : \"HASH\" } \n",
			"bank_account", []string{"c", "GBP"}},
		{"a transaction with a null customer id",
			`{"callbackType":"transaction","id":"1","customerId":null,"amount":"5","currency":"USDT","hash":"HASH"}`,
			"transaction", []string{"1", "N/A", "5", "USDT"}},
		{"a transaction without customer id",
			`{"callbackType":"transaction","id":"1","amount":"5","currency":"USDT","hash":"HASH"}`,
			"transaction", []string{"1", "N/A", "5", "USDT"}},
		{"a negative amount and a dotted customer id",
			`{"callbackType":"transaction","id":"tx-9","customerId":"bob@example.org","amount":"-3.00","currency":"ETH","hash":"HASH"}`,
			"transaction", []string{"tx-9", "bob@example.org", "-3.00", "ETH"}},
		{"info and fee with duplicate and folded keys inside, which are not top-level",
			`{"callbackType":"transaction","id":"1","amount":"5","currency":"USD","hash":"HASH",` +
				`"info":{"customerId":"x","CUSTOMERID":"y","customerId":"z","cuſtomerId":[]},"fee":{"a":{"a":{"a":[[[{}]]]}}}}`,
			"transaction", []string{"1", "N/A", "5", "USD"}},
		{"an empty object, which has no type", `{}`, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := xgwWithHash(tt.body, tt.fields...)
			if !json.Valid([]byte(body)) {
				t.Fatal("test body is not valid JSON")
			}
			x, err := wire.ParseXGateway([]byte(body))
			if err != nil {
				t.Fatalf("ParseXGateway: %v", err)
			}
			if got := x.Type(); got != tt.typ {
				t.Errorf("Type() = %q, want %q", got, tt.typ)
			}
			fields, err := x.HashedFields()
			if tt.typ == "" {
				if !errors.Is(err, wire.ErrUnknownCallbackType) {
					t.Errorf("HashedFields: %v, want ErrUnknownCallbackType", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("HashedFields: %v", err)
			}
			if !slices.Equal(fields, tt.fields) {
				t.Errorf("HashedFields() = %q, want %q", fields, tt.fields)
			}
			hash, ok := x.Hash()
			if !ok || !wire.XGatewayHashMatches(hash, xgwSecret, fields...) {
				t.Errorf("hash %q (ok %v) does not match", hash, ok)
			}
		})
	}
}

// TestXGatewayVectors reads the shared test vectors: every body is either
// accepted with the documented customer id, or refused for the stated reason.
func TestXGatewayVectors(t *testing.T) {
	for _, v := range xgwVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			x, fields, err := xgwRead(v.Body)
			if v.Reason == "body" {
				if !errors.Is(err, wire.ErrSyntax) {
					t.Fatalf("got %v, want ErrSyntax", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			hash, _ := x.Hash()
			if got := wire.XGatewayHashMatches(hash, v.Secret, fields...); got != v.Valid {
				t.Fatalf("hash matches: %v, want %v", got, v.Valid)
			}
			if v.Valid {
				if got, _ := x.String("customerId"); got != v.CustomerID {
					t.Errorf("customerId %q, want %q", got, v.CustomerID)
				}
				if got, _ := x.String("status"); got != v.Status {
					t.Errorf("status %q, want %q", got, v.Status)
				}
			}
		})
	}
}

type xgwVector struct {
	Mode, Name, Secret, Body, Reason, Status string
	Valid                                    bool
	CustomerID                               string `json:"customer_id"`
}

func xgwVectors(tb testing.TB) []xgwVector {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "callbacks.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var all []xgwVector
	if err := json.Unmarshal(data, &all); err != nil {
		tb.Fatal(err)
	}
	var xgw []xgwVector
	for _, v := range all {
		if v.Mode == "xgateway" {
			xgw = append(xgw, v)
		}
	}
	if len(xgw) == 0 {
		tb.Fatal("no xgateway vectors")
	}
	return xgw
}

// TestXGatewayParserDifferential is finding 1: encoding/json matches keys
// without regard to case or Unicode folding and keeps the last duplicate,
// so a KYC hash for customer A authenticated what the next handler reads
// as a transaction for B.
func TestXGatewayParserDifferential(t *testing.T) {
	attack := xgwWithHash(`{"callbackType":"transaction","id":"77","customerId":"B","amount":"1000000.00","currency":"USD",`+
		`"CALLBACKTYPE":"kyc","CUSTOMERID":"A","hash":"HASH"}`, "A")

	// The attack works against encoding/json: it reads a KYC callback for
	// A, whose hash matches.
	var w struct{ CallbackType, CustomerID, Hash string }
	if err := json.Unmarshal([]byte(attack), &w); err != nil {
		t.Fatal(err)
	}
	if w.CallbackType != "kyc" || w.CustomerID != "A" || !wire.XGatewayHashMatches(w.Hash, xgwSecret, w.CustomerID) {
		t.Fatalf("encoding/json no longer reads the attack as KYC for A: %+v", w)
	}

	tests := []struct {
		name string
		body string
	}{
		{"the attack", attack},
		{"a duplicate key", `{"callbackType":"kyc","customerId":"B","customerId":"A","hash":"h"}`},
		{"a duplicate key spelled with an escape", `{"callbackType":"kyc","customerId":"B","\u0063ustomerId":"A","hash":"h"}`},
		{"a duplicate callback type", `{"callbackType":"transaction","callbackType":"kyc","hash":"h"}`},
		{"a duplicate null", `{"callbackType":"kyc","customerId":"A","hash":"h","status":null,"status":"FULL_USER"}`},
		{"a key in other case", `{"callbackType":"kyc","customerId":"B","CustomerID":"A","hash":"h"}`},
		{"a key in other case alone", `{"callbackType":"kyc","customerid":"A","hash":"h"}`},
		{"a key in other case, escaped", `{"callbackType":"kyc","\u0043USTOMERID":"A","hash":"h"}`},
		{"long s for s", `{"callbackType":"kyc","customerId":"B","cuſtomerId":"A","hash":"h"}`},
		{"long s for s, escaped", `{"callbackType":"kyc","customerId":"B","cu\u017ftomerId":"A","hash":"h"}`},
		{"Kelvin sign for k in a key", `{"callbackType":"kyc","customerId":"A","hash":"h","\u212aycRejectLabel":"x"}`},
		{"Kelvin sign for k in a key, raw", `{"callbackType":"kyc","customerId":"A","hash":"h","` + "\u212a" + `ycRejectLabel":"x"}`},
		{"a folded hash", `{"callbackType":"kyc","customerId":"A","HASH":"h"}`},
		{"a duplicate unknown key", `{"callbackType":"kyc","x":1,"x":2}`},
		{"a duplicate unknown key spelled with an escape", `{"callbackType":"kyc","xé":1,"\u0078\u00e9":2}`},
		{"a duplicate long unknown key spelled with escapes",
			`{"` + strings.Repeat("z", 100) + `":1,"` + strings.Repeat(`\u007a`, 100) + `":2}`},
		{"65 unknown keys", xgwUnknownKeys(65)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := wire.ParseXGateway([]byte(tt.body))
			if !errors.Is(err, wire.ErrAmbiguousKey) {
				t.Fatalf("got %v, want ErrAmbiguousKey", err)
			}
			if s := err.Error(); strings.Contains(s, "CUSTOMERID") || strings.Contains(s, "ſ") || strings.Contains(s, `\u`) {
				t.Errorf("error text %q quotes the input", s)
			}
		})
	}

	if _, err := wire.ParseXGateway([]byte(xgwUnknownKeys(64))); err != nil {
		t.Errorf("64 unknown keys: %v", err)
	}
	// Values are compared exactly: a type spelled with Kelvin signs is
	// unknown, not kyc.
	if _, _, err := xgwRead(`{"callbackType":"\u212a\u212aYC","customerId":"A"}`); !errors.Is(err, wire.ErrUnknownCallbackType) {
		t.Errorf("a type folding to KYC: %v, want ErrUnknownCallbackType", err)
	}
}

// TestXGatewayNumbersRefused is finding 3 of the second round: the hash
// covers the literal text of a number, which a parser that reads numbers
// as doubles (JavaScript, Python, encoding/json into any) reads as another
// value: customer 12345678901234567890 as 12345678901234567000, 1e5 as
// 100000. XGateway sends every value as a string, so a number is refused
// wherever a string is expected.
func TestXGatewayNumbersRefused(t *testing.T) {
	// The attack works against a parser that reads numbers as doubles.
	var m map[string]any
	if err := json.Unmarshal([]byte(`{"customerId":12345678901234567890}`), &m); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(m["customerId"]); got == "12345678901234567890" {
		t.Fatalf("a double reads the id exactly (%s): no attack to refuse", got)
	}
	tests := []struct{ name, body string }{
		{"a big numeric customer id", `{"callbackType":"kyc","customerId":12345678901234567890,"hash":"HASH"}`},
		{"a numeric customer id with an exponent", `{"callbackType":"kyc","customerId":1e5,"hash":"HASH"}`},
		{"a small numeric customer id", `{"callbackType":"kyc","customerId":12345,"hash":"HASH"}`},
		{"a numeric transaction id", `{"callbackType":"transaction","id":77,"customerId":"c","amount":"1","currency":"USD","hash":"HASH"}`},
		{"a numeric customer in a transaction", `{"callbackType":"transaction","id":"77","customerId":1e5,"amount":"1","currency":"USD","hash":"HASH"}`},
		{"a numeric amount", `{"callbackType":"transaction","id":"77","customerId":"c","amount":12.50,"currency":"USD","hash":"HASH"}`},
		{"a numeric currency", `{"callbackType":"bank_account","customerId":"c","currency":12,"hash":"HASH"}`},
		{"a numeric customer in a bank account", `{"callbackType":"bank_account","customerId":-0,"currency":"USD","hash":"HASH"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x, err := wire.ParseXGateway([]byte(tt.body))
			if err != nil {
				t.Fatalf("ParseXGateway: %v (the refusal belongs to HashedFields, so that it is a bad hash)", err)
			}
			// Hash the fields as their literal text, as a forger would.
			fields := x.FieldsAs(x.Type(), "N/A")
			for i, k := range wire.XGatewayHashedKeys(x.Type()) {
				if raw := x.Raw(k); len(raw) > 0 && raw[0] != '"' {
					fields[i] = string(raw)
				}
			}
			body := xgwWithHash(tt.body, fields...)
			if _, _, err := xgwRead(body); !errors.Is(err, wire.ErrFieldFormat) {
				t.Fatalf("got %v, want ErrFieldFormat", err)
			}
		})
	}
	// Other fields are refused as numbers too: String has no number form.
	x, err := wire.ParseXGateway([]byte(`{"callbackType":"kyc","customerId":"c","status":1,"orderId":2e3}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"status", "orderId"} {
		if _, err := x.String(k); !errors.Is(err, wire.ErrFieldFormat) {
			t.Errorf("String(%s) of a number: %v, want ErrFieldFormat", k, err)
		}
	}
}

// TestXGatewayCaseMappedKeys is finding 4 of the second round: a key that
// is not a known field but becomes one when an application changes its
// case (Go's strings.ToUpper, JavaScript's toUpperCase, Python's upper,
// a Turkish locale's lower case) was accepted, because only
// strings.EqualFold was checked, and it misses these. Alice's hash then
// authenticated what such an application reads as bob's callback.
func TestXGatewayCaseMappedKeys(t *testing.T) {
	// The attack works against an application that upper-cases keys.
	if strings.ToUpper("customerıd") != "CUSTOMERID" || strings.EqualFold("customerıd", "customerId") {
		t.Fatal("dotless i no longer upper-cases to I, or EqualFold now folds it")
	}
	tests := []struct{ name, key string }{
		{"dotless i (U+0131)", "customerıd"},
		{"dotless i, escaped", `customer\u0131d`},
		{"dotted capital I (U+0130)", "customerİd"},
		{"dotted capital I among capitals", "CUSTOMERİD"},
		{"dotless i beside id", "ıd"},
		{"dotted capital I beside id", "İD"},
		{"dotless i in another key", "ınvoiceId"},
		{"long s (U+017F)", "cuſtomerId"},
		{"Kelvin sign (U+212A)", "\u212aycRejectLabel"},
		{"sharp s (U+00DF) for ss", "kycProceßingStatus"},
		{"capital sharp s (U+1E9E) for ss", "docsMi\u1e9eing"},
		{"the st ligature (U+FB06)", "\ufb06atus"},
		{"the long s t ligature (U+FB05) inside a key", "cu\ufb05omerId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := `{"callbackType":"kyc","customerId":"alice","` + tt.key + `":"bob","hash":"h"}`
			if !json.Valid([]byte(body)) {
				t.Fatal("test body is not valid JSON")
			}
			_, err := wire.ParseXGateway([]byte(body))
			if !errors.Is(err, wire.ErrAmbiguousKey) {
				t.Fatalf("got %v, want ErrAmbiguousKey", err)
			}
			if strings.Contains(err.Error(), "bob") || strings.ContainsFunc(err.Error(), func(r rune) bool { return r >= 0x80 }) {
				t.Errorf("error text %q quotes the input", err)
			}
		})
	}
	// Keys that merely hold such runes are unknown keys, not refused.
	for _, key := range []string{"ı", "straße", "ﬆ", "customerıdx", "İD2"} {
		if _, err := wire.ParseXGateway([]byte(`{"callbackType":"kyc","` + key + `":1}`)); err != nil {
			t.Errorf("unknown key %q: %v", key, err)
		}
	}
}

func xgwUnknownKeys(n int) string {
	var b strings.Builder
	b.WriteString(`{"callbackType":"kyc"`)
	for i := range n {
		fmt.Fprintf(&b, `,"k%d":%d`, i, i)
	}
	b.WriteString("}")
	return b.String()
}

// TestXGatewaySplits is finding 2: the hashed fields are joined with ".",
// so one hash would verify other splits of the same text.
func TestXGatewaySplits(t *testing.T) {
	tx := wire.XGatewayHash(xgwSecret, "77", "1234", "12.5", "USD")
	email := wire.XGatewayHash(xgwSecret, "alice@example.com")
	emailUpper := wire.XGatewayHash(xgwSecret, "alice@example.COM")
	tests := []struct {
		name  string
		body  string
		split []string // the fields the body claims, whose hash is tx or email
		want  error    // nil: the split is accepted and verifies (documented)
	}{
		{"transaction with the currency taking a part",
			`{"callbackType":"transaction","id":"77","customerId":"1234","amount":"12","currency":"5.USD","hash":"` + tx + `"}`,
			[]string{"77", "1234", "12", "5.USD"}, wire.ErrFieldFormat},
		{"transaction with the id taking a part",
			`{"callbackType":"transaction","id":"77.1234","customerId":"12","amount":"5","currency":"USD","hash":"` + tx + `"}`,
			[]string{"77.1234", "12", "5", "USD"}, wire.ErrFieldFormat},
		{"transaction with a numeric id taking a part",
			`{"callbackType":"transaction","id":77.1234,"customerId":"12","amount":"5","currency":"USD","hash":"` + tx + `"}`,
			[]string{"77.1234", "12", "5", "USD"}, wire.ErrFieldFormat},
		{"bank account from an e-mail address's KYC hash",
			`{"callbackType":"bank_account","customerId":"alice@example","currency":"com","hash":"` + email + `"}`,
			[]string{"alice@example", "com"}, wire.ErrFieldFormat},
		{"KYC for the joined transaction fields (documented)",
			`{"callbackType":"kyc","customerId":"77.1234.12.5.USD","hash":"` + tx + `"}`,
			[]string{"77.1234.12.5.USD"}, nil},
		{"bank account for the joined transaction fields (documented)",
			`{"callbackType":"bank_account","customerId":"77.1234.12.5","currency":"USD","hash":"` + tx + `"}`,
			[]string{"77.1234.12.5", "USD"}, nil},
		{"bank account from a KYC hash of an e-mail address with an upper-case domain (documented)",
			`{"callbackType":"bank_account","customerId":"alice@example","currency":"COM","hash":"` + emailUpper + `"}`,
			[]string{"alice@example", "COM"}, nil},
		{"transaction with a customer id ending in digits (documented)",
			`{"callbackType":"transaction","id":"77","customerId":"1234.12","amount":"5","currency":"USD","hash":"` + tx + `"}`,
			[]string{"77", "1234.12", "5", "USD"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The split is real: the captured hash verifies its fields.
			if !slices.ContainsFunc([]string{tx, email, emailUpper}, func(h string) bool {
				return wire.XGatewayHashMatches(h, xgwSecret, tt.split...)
			}) {
				t.Fatal("not a split of a captured hash")
			}
			x, fields, err := xgwRead(tt.body)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if tt.want != nil {
				return
			}
			if !slices.Equal(fields, tt.split) {
				t.Fatalf("HashedFields() = %q, want %q", fields, tt.split)
			}
			hash, _ := x.Hash()
			if !wire.XGatewayHashMatches(hash, xgwSecret, fields...) {
				t.Fatal("the documented split no longer verifies: update the doc of HashedFields")
			}
		})
	}
}

func TestXGatewayFieldRules(t *testing.T) {
	amounts := map[string]bool{
		`"0"`: true, `"12"`: true, `"12.5"`: true, `"-12.50"`: true, `"007"`: true, `"\u0031"`: true,
		`12.5`: false, `-0`: false,
		`""`: false, `null`: false, `"1e5"`: false, `1e5`: false, `"+5"`: false, `".5"`: false, `"5."`: false,
		`"-"`: false, `"1,000"`: false, `" 5"`: false, `"5 "`: false, `"0x10"`: false, `"1.2.3"`: false,
		`"٣"`: false, `"NaN"`: false, `"--5"`: false,
	}
	for amount, ok := range amounts {
		body := `{"callbackType":"transaction","id":"1","amount":` + amount + `,"currency":"USD"}`
		if _, _, err := xgwRead(body); (err == nil) != ok || !ok && !errors.Is(err, wire.ErrFieldFormat) {
			t.Errorf("amount %s: %v, want accepted %v", amount, err, ok)
		}
	}
	currencies := map[string]bool{
		`"USD"`: true, `"USDT"`: true, `"E2"`: true, `"ABCDEFGHIJKL"`: true, `12`: false, `"1INCH"`: true,
		`""`: false, `null`: false, `"U"`: false, `"usd"`: false, `"Usd"`: false, `"ABCDEFGHIJKLM"`: false,
		`"US D"`: false, `"US-D"`: false, `"USD\n"`: false, `"ＵＳＤ"`: false, `1.5`: false,
	}
	for currency, ok := range currencies {
		for _, body := range []string{
			`{"callbackType":"transaction","id":"1","amount":"1","currency":` + currency + `}`,
			`{"callbackType":"bank_account","customerId":"c","currency":` + currency + `}`,
		} {
			if _, _, err := xgwRead(body); (err == nil) != ok || !ok && !errors.Is(err, wire.ErrFieldFormat) {
				t.Errorf("%s: %v, want accepted %v", body, err, ok)
			}
		}
	}
	ids := map[string]bool{`"77"`: true, `""`: true, `null`: true, `"a-b_c"`: true, `7`: false,
		`"7.7"`: false, `"."`: false, `7.7`: false, `"\u002e"`: false}
	for id, ok := range ids {
		body := `{"callbackType":"transaction","id":` + id + `,"amount":"1","currency":"USD"}`
		if _, _, err := xgwRead(body); (err == nil) != ok || !ok && !errors.Is(err, wire.ErrFieldFormat) {
			t.Errorf("id %s: %v, want accepted %v", id, err, ok)
		}
	}
}

func TestXGatewayRefusals(t *testing.T) {
	tests := []struct {
		name string
		body string
		want error
	}{
		{"an unknown callback type", `{"callbackType":"KYC","customerId":"c"}`, wire.ErrUnknownCallbackType},
		{"a callback type with a space", `{"callbackType":"kyc ","customerId":"c"}`, wire.ErrUnknownCallbackType},
		{"a numeric callback type", `{"callbackType":1,"customerId":"c"}`, wire.ErrFieldFormat},
		{"a numeric hash", `{"callbackType":"kyc","customerId":"c","hash":1}`, wire.ErrFieldFormat},
		{"a null callback type", `{"callbackType":null,"customerId":"c"}`, wire.ErrUnknownCallbackType},
		{"no callback type", `{"customerId":"c"}`, wire.ErrUnknownCallbackType},
		{"an object callback type", `{"callbackType":{"kyc":1},"customerId":"c"}`, wire.ErrFieldFormat},
		{"an array callback type", `{"callbackType":["kyc"],"customerId":"c"}`, wire.ErrFieldFormat},
		{"a boolean hash", `{"callbackType":"kyc","customerId":"c","hash":true}`, wire.ErrFieldFormat},
		{"an object customer id", `{"callbackType":"kyc","customerId":{"id":"c"}}`, wire.ErrFieldFormat},
		{"an array customer id in a transaction",
			`{"callbackType":"transaction","id":"1","customerId":["c"],"amount":"1","currency":"USD"}`, wire.ErrFieldFormat},
		{"a boolean customer id in a bank account", `{"callbackType":"bank_account","customerId":false,"currency":"USD"}`, wire.ErrFieldFormat},
		{"a boolean id", `{"callbackType":"transaction","id":true,"amount":"1","currency":"USD"}`, wire.ErrFieldFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := xgwRead(tt.body); !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

// TestXGatewayInvalidJSON mutates the KYC fixture into invalid bodies.
func TestXGatewayInvalidJSON(t *testing.T) {
	valid := `{"callbackType":"kyc","customerId":"cust-42","docsMissing":[{"docType":"SELFIE"}],"hash":"h","n":-1.5e+3,"t":true,"f":false}`
	mutate := func(old, new string) string {
		if !strings.Contains(valid, old) {
			t.Fatalf("fixture has no %q", old)
		}
		return strings.Replace(valid, old, new, 1)
	}
	tests := []struct {
		name string
		body string
		// valid is set for bodies that json.Valid accepts: JSON that is
		// not an object, or that this reader refuses on purpose.
		valid bool
	}{
		{"an empty body", ``, false},
		{"white space only", " \n", false},
		{"null", `null`, true},
		{"an array", `[` + valid + `]`, true},
		{"a string", `"kyc"`, true},
		{"trailing garbage", valid + `x`, false},
		{"a trailing comma after the object", valid + `,`, false},
		{"two objects", valid + valid, false},
		{"two objects with space", valid + " " + valid, false},
		{"a byte order mark", "\ufeff" + valid, false},
		{"a NUL after the object", valid + "\x00", false},
		{"an unterminated object", strings.TrimSuffix(valid, "}"), false},
		{"an unterminated string", mutate(`"cust-42"`, `"cust-42`), false},
		{"an unterminated key", `{"callbackType`, false},
		{"a missing colon", mutate(`"hash":`, `"hash" `), false},
		{"a missing comma", mutate(`,"hash"`, ` "hash"`), false},
		{"a trailing comma", mutate(`false}`, `false,}`), false},
		{"a trailing comma in an array", mutate(`}]`, `},]`), false},
		{"a leading comma", mutate(`{"callbackType"`, `{,"callbackType"`), false},
		{"an unquoted key", mutate(`"hash"`, `hash`), false},
		{"a single-quoted string", mutate(`"h"`, `'h'`), false},
		{"a numeric key", mutate(`"hash"`, `1`), false},
		{"a bad escape", mutate(`cust-42`, `cust\x42`), false},
		{"an escaped single quote", mutate(`cust-42`, `cust\'42`), false},
		{"a short unicode escape", mutate(`cust-42`, `cust\u004`), false},
		{"a non-hex unicode escape", mutate(`cust-42`, `cust\u00G4`), false},
		{"an escape at the end", `{"a":"\`, false},
		{"a raw control character", mutate(`cust-42`, "cust\x01"), false},
		{"a raw newline in a string", mutate(`cust-42`, "cust\n42"), false},
		{"a raw tab in a key", mutate(`"hash"`, "\"ha\tsh\""), false},
		{"a raw control character in a nested key", mutate(`docType`, "doc\x1fType"), false},
		{"a lone high surrogate", mutate(`cust-42`, `\ud800`), true},
		{"a lone low surrogate", mutate(`cust-42`, `\udc00`), true},
		{"a high surrogate before a non-surrogate", mutate(`cust-42`, `\ud800\u0041`), true},
		{"two high surrogates", mutate(`cust-42`, `\ud800\ud800`), true},
		{"a lone surrogate in a nested value", mutate(`SELFIE`, `\udfff`), true},
		{"a lone surrogate in a key", mutate(`"hash"`, `"\ud83d"`), true},
		{"invalid UTF-8", mutate(`cust-42`, "cust\xff"), true},
		{"an overlong encoding", mutate(`cust-42`, "\xc0\xaf"), true},
		{"a UTF-8 surrogate", mutate(`cust-42`, "\xed\xa0\x80"), true},
		{"a truncated UTF-8 sequence", mutate(`cust-42`, "\xe5\x90"), true},
		{"invalid UTF-8 in a nested key", mutate(`docType`, "doc\x80"), true},
		{"a lone minus", mutate(`-1.5e+3`, `-`), false},
		{"a leading zero", mutate(`-1.5e+3`, `01`), false},
		{"a trailing dot", mutate(`-1.5e+3`, `1.`), false},
		{"a leading dot", mutate(`-1.5e+3`, `.5`), false},
		{"a plus", mutate(`-1.5e+3`, `+1`), false},
		{"an empty exponent", mutate(`-1.5e+3`, `1e`), false},
		{"a signed empty exponent", mutate(`-1.5e+3`, `1e+`), false},
		{"hex", mutate(`-1.5e+3`, `0x1`), false},
		{"NaN", mutate(`-1.5e+3`, `NaN`), false},
		{"Infinity", mutate(`-1.5e+3`, `-Infinity`), false},
		{"a truncated true", mutate(`true`, `tru`), false},
		{"a capitalized literal", mutate(`true`, `True`), false},
		{"a truncated null at the end", `{"a":nul`, false},
		{"a missing value", mutate(`"h"`, ``), false},
		{"an unclosed nested array", mutate(`}]`, `}`), false},
		{"a mismatched bracket", mutate(`}]`, `}}`), false},
		{"a nested non-string key", mutate(`"docType"`, `docType`), false},
		{"a nested missing colon", mutate(`"docType":`, `"docType"`), false},
		{"nesting of 129 levels", `{"info":` + strings.Repeat("[", 128) + strings.Repeat("]", 128) + `}`, true},
		{"nesting of 10001 levels", `{"info":` + strings.Repeat(`{"a":`, 10000) + "1" + strings.Repeat("}", 10000) + `}`, false},
		{"unterminated deep nesting", `{"info":` + strings.Repeat(`[{"a":`, 1000), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := json.Valid([]byte(tt.body)); got != tt.valid {
				t.Fatalf("json.Valid = %v, want %v", got, tt.valid)
			}
			_, err := wire.ParseXGateway([]byte(tt.body))
			if !errors.Is(err, wire.ErrSyntax) {
				t.Fatalf("got %v, want ErrSyntax", err)
			}
			for _, b := range []byte(tt.body) {
				if b >= 0x80 && strings.ContainsRune(err.Error(), rune(b)) {
					t.Errorf("error text %q may quote the input", err)
				}
			}
		})
	}

	ok := `{"info":` + strings.Repeat("[", 127) + strings.Repeat("]", 127) + `}`
	if _, err := wire.ParseXGateway([]byte(ok)); err != nil {
		t.Errorf("nesting of 128 levels: %v", err)
	}
}

// TestXGatewayTruncations refuses every proper prefix of every fixture.
func TestXGatewayTruncations(t *testing.T) {
	for _, body := range []string{xgwKYC, xgwTransaction, xgwBankAccount} {
		for n := range len(body) {
			if _, err := wire.ParseXGateway([]byte(body[:n])); !errors.Is(err, wire.ErrSyntax) {
				t.Fatalf("%q: got %v, want ErrSyntax", body[:n], err)
			}
		}
	}
}

func TestXGatewayValues(t *testing.T) {
	body := `{"callbackType":"kyc","customerId":"a\"b","status":null,"docsMissing":["A"],"amount":-1.5E3,` +
		`"info": {"x": 1} ,"kycRejectLabel":true}`
	x, err := wire.ParseXGateway([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	strs := map[string]string{"customerId": `a"b`, "status": "", "orderId": ""}
	for name, want := range strs {
		if got, err := x.String(name); err != nil || got != want {
			t.Errorf("String(%q) = %q, %v; want %q", name, got, err, want)
		}
	}
	for _, name := range []string{"docsMissing", "info", "kycRejectLabel", "amount"} {
		if _, err := x.String(name); !errors.Is(err, wire.ErrFieldFormat) {
			t.Errorf("String(%q): %v, want ErrFieldFormat", name, err)
		}
	}
	raws := map[string]string{"customerId": `"a\"b"`, "status": "null", "docsMissing": `["A"]`, "info": `{"x": 1}`}
	for name, want := range raws {
		if got := x.Raw(name); string(got) != want {
			t.Errorf("Raw(%q) = %q, want %q", name, got, want)
		}
	}
	if got := x.Raw("orderId"); got != nil {
		t.Errorf("Raw of an absent key = %q, want nil", got)
	}
	if h, ok := x.Hash(); h != "" || ok {
		t.Errorf("Hash() = %q, %v for a body without hash", h, ok)
	}
	for _, b := range []string{`{"hash":null}`, `{"hash":""}`} {
		x, err := wire.ParseXGateway([]byte(b))
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := x.Hash(); ok {
			t.Errorf("%s: Hash reports a hash", b)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("String of an unknown name did not panic")
		}
	}()
	_, _ = x.String("CustomerID")
}

func TestXGatewayKeys(t *testing.T) {
	keys := wire.XGatewayKeys()
	want := []string{"callbackType", "hash", "id", "customerId", "amount", "currency", "status",
		"docsMissing", "kycRejectLabel", "kycEndUserErrorMessage", "kycProcessingStatus",
		"invoiceId", "orderId", "network", "transactionHash", "type", "applicationId", "info", "fee",
		"iban", "bic", "accountNumber", "sortCode", "country"}
	if !slices.Equal(keys, want) {
		t.Fatalf("XGatewayKeys() = %q", keys)
	}
	keys[0] = "changed"
	if wire.XGatewayKeys()[0] != "callbackType" {
		t.Fatal("XGatewayKeys shares its slice")
	}
	// Every key reads back, and no two keys fold to each other.
	for i, k := range want {
		x, err := wire.ParseXGateway([]byte(`{"` + k + `":"v"}`))
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := x.String(k); got != "v" {
			t.Errorf("key %s reads %q", k, got)
		}
		for _, k2 := range want[i+1:] {
			if strings.EqualFold(k, k2) {
				t.Errorf("%s and %s fold alike", k, k2)
			}
		}
	}
}

func TestXGatewayHashMatches(t *testing.T) {
	good := wire.XGatewayHash(xgwSecret, "cust-42")
	if good != "+oaLfLcvk7FMvA0l6y09Ac04fsSe8ORmWkTDZiNcY5P9qRyJ8Kw9Mv8P9JDEDEdo1VOrhN9kuZocH26wLufHQw==" {
		t.Fatalf("known answer: got %s", good)
	}
	sum := wire.XGatewaySum(xgwSecret, "cust-42")
	if !bytes.Equal(sum[:], mustDecodeStd(t, good)) {
		t.Fatal("XGatewaySum disagrees with XGatewayHash")
	}
	if !wire.XGatewayHashMatches(good, xgwSecret, "cust-42") {
		t.Fatal("the good hash does not match")
	}
	bad := map[string]string{
		"unpadded":        strings.TrimRight(good, "="),
		"URL alphabet":    strings.NewReplacer("+", "-", "/", "_").Replace(good),
		"a newline":       good[:40] + "\n" + good[40:],
		"trailing bits":   good[:85] + "x==",
		"another secret":  wire.XGatewayHash("other", "cust-42"),
		"another field":   wire.XGatewayHash(xgwSecret, "cust-43"),
		"empty":           "",
		"hex":             fmt.Sprintf("%x", sum),
		"one char short":  good[1:],
		"one char longer": good + "A",
	}
	for name, h := range bad {
		if wire.XGatewayHashMatches(h, xgwSecret, "cust-42") {
			t.Errorf("%s matches", name)
		}
	}
}

func mustDecodeStd(t *testing.T, s string) []byte {
	t.Helper()
	var b []byte
	if err := json.Unmarshal([]byte(`"`+s+`"`), &b); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestXGatewayDifferential checks String and Raw of every known key
// against encoding/json on bodies without duplicate or folded keys, where
// encoding/json's reading is the one every parser shares.
func TestXGatewayDifferential(t *testing.T) {
	bodies := []string{xgwKYC, xgwTransaction, xgwBankAccount}
	for _, v := range xgwVectors(t) {
		bodies = append(bodies, v.Body)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 3000 {
		bodies = append(bodies, xgwRandomBody(rng))
	}
	parsed := 0
	for _, body := range bodies {
		x, err := wire.ParseXGateway([]byte(body))
		if err != nil {
			if !json.Valid([]byte(body)) || errors.Is(err, wire.ErrAmbiguousKey) || errors.Is(err, wire.ErrFieldFormat) {
				continue // the tests above cover these
			}
			t.Fatalf("%q: %v", body, err)
		}
		parsed++
		xgwCompare(t, x, []byte(body))
	}
	if parsed < 2000 {
		t.Fatalf("only %d bodies parsed", parsed)
	}
}

// xgwCompare fails t unless x, parsed from body, agrees with encoding/json.
func xgwCompare(t *testing.T, x wire.XGateway, body []byte) {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("%q: ParseXGateway accepted what encoding/json refuses: %v", body, err)
	}
	for _, k := range wire.XGatewayKeys() {
		raw, present := m[k]
		if got := x.Raw(k); !bytes.Equal(got, raw) || (got == nil) == present {
			t.Errorf("%q: Raw(%s) = %q, encoding/json %q", body, k, got, raw)
		}
		want, wantErr := xgwFlex(raw)
		got, err := x.String(k)
		if (err != nil) != (wantErr != nil) || got != want {
			t.Errorf("%q: String(%s) = %q, %v; encoding/json %q, %v", body, k, got, err, want, wantErr)
		}
	}
}

// xgwFlex decodes raw as String is documented to: a string, null as "",
// and anything else, numbers included, an error.
func xgwFlex(raw json.RawMessage) (string, error) {
	if raw == nil {
		return "", nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", err
	}
	switch v := v.(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	}
	return "", errors.New("not a string or null")
}

// xgwRandomBody returns a valid JSON object with known and unknown keys,
// keys and values with escapes, numbers, nulls and nested values.
func xgwRandomBody(rng *rand.Rand) string {
	keys := wire.XGatewayKeys()
	used := map[string]bool{}
	var members []string
	for range rng.IntN(12) {
		k := keys[rng.IntN(len(keys))]
		if rng.IntN(5) == 0 {
			k = xgwRandomText(rng, 6)
		}
		if used[strings.ToLower(k)] {
			continue
		}
		used[strings.ToLower(k)] = true
		members = append(members, xgwRandomSpace(rng)+xgwQuote(rng, k)+xgwRandomSpace(rng)+":"+
			xgwRandomSpace(rng)+xgwRandomValue(rng, 3)+xgwRandomSpace(rng))
	}
	return xgwRandomSpace(rng) + "{" + strings.Join(members, ",") + "}" + xgwRandomSpace(rng)
}

func xgwRandomSpace(rng *rand.Rand) string {
	return []string{"", "", "", " ", "\n\t", "\r\n "}[rng.IntN(6)]
}

func xgwRandomValue(rng *rand.Rand, depth int) string {
	switch r := rng.IntN(10); {
	case r < 4:
		return xgwQuote(rng, xgwRandomText(rng, 12))
	case r == 4:
		return "null"
	case r == 5:
		return []string{"0", "-0", "12.5", "-3.25e+10", "1E-7", "123456789012345678901234567890", "7"}[rng.IntN(7)]
	case r == 6:
		return []string{"true", "false"}[rng.IntN(2)]
	case depth > 0 && r == 7:
		parts := make([]string, rng.IntN(4))
		for i := range parts {
			parts[i] = xgwRandomValue(rng, depth-1)
		}
		return "[" + strings.Join(parts, ",") + "]"
	case depth > 0:
		parts := make([]string, rng.IntN(4))
		for i := range parts {
			parts[i] = xgwQuote(rng, xgwRandomText(rng, 4)) + ":" + xgwRandomValue(rng, depth-1)
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
	return `""`
}

func xgwRandomText(rng *rand.Rand, n int) string {
	alphabet := []rune("aZ09.-_ \"\\/\b\f\n\r\t\x00\x1féſK名😀\u2028\ufffd")
	r := make([]rune, rng.IntN(n+1))
	for i := range r {
		r[i] = alphabet[rng.IntN(len(alphabet))]
	}
	return string(r)
}

// xgwQuote returns s as a JSON string, escaping some characters that need
// no escape, in any of the allowed ways.
func xgwQuote(rng *rand.Rand, s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteString(`\` + string(r))
		case r < 0x20 || rng.IntN(4) == 0:
			if r > 0xFFFF {
				r1, r2 := (r-0x10000)>>10+0xD800, (r-0x10000)&0x3FF+0xDC00
				fmt.Fprintf(&b, `\u%04x\u%04X`, r1, r2)
			} else if r == '/' && rng.IntN(2) == 0 {
				b.WriteString(`\/`)
			} else if r == '\n' && rng.IntN(2) == 0 {
				b.WriteString(`\n`)
			} else {
				fmt.Fprintf(&b, `\u%04x`, r)
			}
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	if !utf8.ValidString(b.String()) {
		panic("xgwQuote made invalid UTF-8")
	}
	return b.String()
}
