package wire_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/kyccb/kyccb/internal/wire"
)

// The performance goal is a ratio: verifying a callback and building its
// typed value at most 1.2x a floor of SHA-512 over the hashed fields plus
// encoding/json.Unmarshal of the body into a plain struct of every wire
// field. BenchmarkXGatewayRatio measures both in one process, alternating
// them in short rounds so that drift on a shared machine hits both alike:
//
//	go test -run '^$' -bench XGatewayRatio -benchtime 1x ./internal/wire/
//
// A forged body must cost O(1) allocations however large it is:
//
//	go test -run '^$' -bench XGatewayForged -benchmem ./internal/wire/

// The typed values, as the root package declares them.
type (
	xgwKYCValue struct {
		CallbackType, CustomerID       string
		DocsMissing                    []string
		Hash, KYCRejectLabel           string
		KYCEndUserErrorMessage, Status string
		KYCProcessingStatus            string
	}
	xgwTransactionValue struct {
		CallbackType, ID, CustomerID, Amount, Currency, Status string
		InvoiceID, OrderID, Network, TransactionHash, Type     string
		ApplicationID                                          string
		Info, Fee                                              json.RawMessage
		Hash                                                   string
	}
	xgwBankAccountValue struct {
		CallbackType, CustomerID, Currency, IBAN, BIC string
		AccountNumber, SortCode, Country, Status      string
		Hash                                          string
	}
)

// xgwDocEntry decodes both documented shapes of a docsMissing entry, as
// the root package does.
type xgwDocEntry string

func (d *xgwDocEntry) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		err := json.Unmarshal(b, &s)
		*d = xgwDocEntry(s)
		return err
	}
	var obj struct {
		DocType string `json:"docType"`
	}
	err := json.Unmarshal(b, &obj)
	*d = xgwDocEntry(obj.DocType)
	return err
}

var errXGWBadHash = errors.New("bad hash")

// xgwVerify is the whole verify path: the strict scan, the hashed fields,
// SHA-512 and the constant-time comparison, then the typed value.
func xgwVerify(body []byte) (any, error) {
	x, err := wire.ParseXGateway(body)
	if err != nil {
		return nil, err
	}
	fields, err := x.HashedFields()
	if err != nil {
		return nil, err
	}
	hash, ok := x.Hash()
	if !ok || !wire.XGatewayHashMatches(hash, xgwSecret, fields...) {
		return nil, errXGWBadHash
	}
	s := func(name string) string {
		if err != nil {
			return ""
		}
		var v string
		v, err = x.String(name)
		return v
	}
	switch x.Type() {
	case wire.XGatewayTypeKYC:
		v := &xgwKYCValue{
			CallbackType:           wire.XGatewayTypeKYC,
			CustomerID:             fields[0],
			Hash:                   hash,
			KYCRejectLabel:         s("kycRejectLabel"),
			KYCEndUserErrorMessage: s("kycEndUserErrorMessage"),
			Status:                 s("status"),
			KYCProcessingStatus:    s("kycProcessingStatus"),
		}
		var docs []xgwDocEntry
		if raw := x.Raw("docsMissing"); raw != nil && err == nil {
			err = json.Unmarshal(raw, &docs)
		}
		v.DocsMissing = make([]string, len(docs))
		for i, d := range docs {
			v.DocsMissing[i] = string(d)
		}
		return v, err
	case wire.XGatewayTypeTransaction:
		customer := s("customerId")
		return &xgwTransactionValue{
			CallbackType:    wire.XGatewayTypeTransaction,
			ID:              fields[0],
			CustomerID:      customer,
			Amount:          fields[2],
			Currency:        fields[3],
			Status:          s("status"),
			InvoiceID:       s("invoiceId"),
			OrderID:         s("orderId"),
			Network:         s("network"),
			TransactionHash: s("transactionHash"),
			Type:            s("type"),
			ApplicationID:   s("applicationId"),
			Info:            bytes.Clone(x.Raw("info")),
			Fee:             bytes.Clone(x.Raw("fee")),
			Hash:            hash,
		}, err
	default:
		return &xgwBankAccountValue{
			CallbackType:  wire.XGatewayTypeBankAccount,
			CustomerID:    fields[0],
			Currency:      fields[1],
			IBAN:          s("iban"),
			BIC:           s("bic"),
			AccountNumber: s("accountNumber"),
			SortCode:      s("sortCode"),
			Country:       s("country"),
			Status:        s("status"),
			Hash:          hash,
		}, err
	}
}

// xgwPlainWire is every wire field, in the plainest struct that
// encoding/json decodes a body into.
type xgwPlainWire struct {
	CallbackType           string          `json:"callbackType"`
	Hash                   string          `json:"hash"`
	ID                     string          `json:"id"`
	CustomerID             string          `json:"customerId"`
	Amount                 string          `json:"amount"`
	Currency               string          `json:"currency"`
	Status                 string          `json:"status"`
	DocsMissing            []xgwPlainDoc   `json:"docsMissing"`
	KYCRejectLabel         string          `json:"kycRejectLabel"`
	KYCEndUserErrorMessage string          `json:"kycEndUserErrorMessage"`
	KYCProcessingStatus    string          `json:"kycProcessingStatus"`
	InvoiceID              string          `json:"invoiceId"`
	OrderID                string          `json:"orderId"`
	Network                string          `json:"network"`
	TransactionHash        string          `json:"transactionHash"`
	Type                   string          `json:"type"`
	ApplicationID          string          `json:"applicationId"`
	Info                   json.RawMessage `json:"info"`
	Fee                    json.RawMessage `json:"fee"`
	IBAN                   string          `json:"iban"`
	BIC                    string          `json:"bic"`
	AccountNumber          string          `json:"accountNumber"`
	SortCode               string          `json:"sortCode"`
	Country                string          `json:"country"`
}

type xgwPlainDoc struct {
	DocType string `json:"docType"`
}

// xgwFloor is the floor: encoding/json.Unmarshal into the plain struct and
// SHA-512 of the hashed fields.
func xgwFloor(body []byte) [64]byte {
	var w xgwPlainWire
	if err := json.Unmarshal(body, &w); err != nil {
		panic(err)
	}
	if w.CallbackType == wire.XGatewayTypeKYC {
		return wire.XGatewaySum(xgwSecret, w.CustomerID)
	}
	return wire.XGatewaySum(xgwSecret, w.ID, w.CustomerID, w.Amount, w.Currency)
}

var xgwSink any

func xgwBenchBodies() map[string][]byte {
	return map[string][]byte{"kyc": []byte(xgwKYC), "transaction": []byte(xgwTransaction)}
}

func BenchmarkXGatewayVerify(b *testing.B) {
	for name, body := range xgwBenchBodies() {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				v, err := xgwVerify(body)
				if err != nil {
					b.Fatal(err)
				}
				xgwSink = v
			}
		})
	}
}

func BenchmarkXGatewayFloor(b *testing.B) {
	for name, body := range xgwBenchBodies() {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				xgwSink = xgwFloor(body)
			}
		})
	}
}

// xgwAlternate runs each contender iters times per round, for rounds
// rounds, interleaved, and returns each one's mean time per call.
func xgwAlternate(rounds, iters int, contenders ...func()) []time.Duration {
	total := make([]time.Duration, len(contenders))
	for range rounds {
		for i, f := range contenders {
			start := time.Now()
			for range iters {
				f()
			}
			total[i] += time.Since(start)
		}
	}
	for i := range total {
		total[i] /= time.Duration(rounds * iters)
	}
	return total
}

// BenchmarkXGatewayRatio reports verify/floor for the KYC and the
// transaction fixture; run it with -benchtime 1x.
func BenchmarkXGatewayRatio(b *testing.B) {
	kyc, tx := []byte(xgwKYC), []byte(xgwTransaction)
	for _, body := range [][]byte{kyc, tx} {
		if _, err := xgwVerify(body); err != nil {
			b.Fatal(err)
		}
	}
	verify := func(body []byte) func() {
		return func() {
			v, err := xgwVerify(body)
			if err != nil {
				panic(err)
			}
			xgwSink = v
		}
	}
	floor := func(body []byte) func() {
		return func() { xgwSink = xgwFloor(body) }
	}
	for b.Loop() {
		d := xgwAlternate(40, 250, verify(kyc), floor(kyc), verify(tx), floor(tx))
		b.ReportMetric(float64(d[0].Nanoseconds()), "kyc-ns/op")
		b.ReportMetric(float64(d[1].Nanoseconds()), "kyc-floor-ns/op")
		b.ReportMetric(float64(d[0])/float64(d[1]), "kyc/floor")
		b.ReportMetric(float64(d[2].Nanoseconds()), "tx-ns/op")
		b.ReportMetric(float64(d[3].Nanoseconds()), "tx-floor-ns/op")
		b.ReportMetric(float64(d[2])/float64(d[3]), "tx/floor")
	}
}

// xgwForged is finding 3's body: a forged KYC callback of about 1 MiB,
// mostly an array of empty strings, with a hash that does not match.
func xgwForged() []byte {
	const n = 1 << 20
	var b bytes.Buffer
	b.Grow(n + 200)
	b.WriteString(`{"callbackType":"kyc","customerId":"cust-42","hash":"` + wire.XGatewayHash("guess", "cust-42") + `","docsMissing":[""`)
	for b.Len() < n-2 {
		b.WriteString(`,""`)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

func BenchmarkXGatewayForged(b *testing.B) {
	body := xgwForged()
	b.Run("verify", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if _, err := xgwVerify(body); err != errXGWBadHash {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		// What the verifier cost before: the whole body decoded first.
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			var w struct {
				CallbackType, CustomerID, Hash string
				DocsMissing                    []xgwDocEntry
			}
			if err := json.Unmarshal(body, &w); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestXGatewayForgedCost is finding 3: checking the hash of a forged body
// costs the same allocations however large the body, and few bytes.
func TestXGatewayForgedCost(t *testing.T) {
	forged := xgwForged()
	small := []byte(`{"callbackType":"kyc","customerId":"cust-42","hash":"` + wire.XGatewayHash("guess", "cust-42") + `","docsMissing":[""]}`)
	check := func(body []byte) {
		if _, err := xgwVerify(body); err != errXGWBadHash {
			t.Fatalf("got %v, want a bad hash", err)
		}
	}
	if got := testing.AllocsPerRun(5, func() { _, _ = wire.ParseXGateway(forged) }); got != 0 {
		t.Errorf("ParseXGateway of a forged 1 MiB body: %v allocations, want 0", got)
	}
	big := testing.AllocsPerRun(5, func() { check(forged) })
	little := testing.AllocsPerRun(5, func() { check(small) })
	if big != little || big > 4 {
		t.Errorf("verifying a forged body: %v allocations for 1 MiB, %v for %d bytes; want the same, at most 4", big, little, len(small))
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	const runs = 20
	for range runs {
		check(forged)
	}
	runtime.ReadMemStats(&after)
	if perRun := (after.TotalAlloc - before.TotalAlloc) / runs; perRun > 1024 {
		t.Errorf("verifying a forged 1 MiB body allocates %d bytes, want at most 1024", perRun)
	}
}
