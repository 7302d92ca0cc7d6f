package wire_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode"

	"github.com/kyccb/kyccb/internal/wire"
)

// FuzzParseXGateway checks that ParseXGateway never panics, and that
// whatever it accepts, encoding/json accepts too and reads alike: the same
// values for the keys that decide authentication, no duplicate top-level
// key and no key that encoding/json would match to a known field by
// folding. The corpus is seeded from the shared test vectors.
//
//	go test -run '^$' -fuzz FuzzParseXGateway -fuzztime 200000x ./internal/wire/
func FuzzParseXGateway(f *testing.F) {
	for _, v := range xgwVectors(f) {
		f.Add([]byte(v.Body))
	}
	for _, body := range []string{xgwKYC, xgwTransaction, xgwBankAccount,
		`{"callbackType":"kyc","\u0063ustomerId":"a\ud83d\ude00","cuſtomerId":1,"customerId":null}`,
		`{"callbackType":"kyc","customerId":"alice","customerıd":"bob","ıd":1,"id":2,"İD":3,"ﬆatus":4,"docsMißing":5}`,
		`{"callbackType":"kyc","customerId":12345678901234567890,"id":1e5,"hash":"x"}`,
		`{"info":[[{"a":[1e5,-0.5,true,false,null,"\/"]}]]}`} {
		f.Add([]byte(body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		x, err := wire.ParseXGateway(body)
		if err != nil {
			if !errors.Is(err, wire.ErrSyntax) && !errors.Is(err, wire.ErrAmbiguousKey) && !errors.Is(err, wire.ErrFieldFormat) {
				t.Fatalf("error matches no sentinel: %v", err)
			}
			return
		}
		if !json.Valid(body) {
			t.Fatalf("accepted invalid JSON %q", body)
		}
		xgwCheckKeys(t, body)

		// Decoding into a struct is what the old verifier did; it agrees
		// now that no key is ambiguous.
		var w struct {
			CallbackType json.RawMessage `json:"callbackType"`
			CustomerID   json.RawMessage `json:"customerId"`
			ID           json.RawMessage `json:"id"`
			Amount       json.RawMessage `json:"amount"`
			Currency     json.RawMessage `json:"currency"`
			Hash         json.RawMessage `json:"hash"`
		}
		if err := json.Unmarshal(body, &w); err != nil {
			t.Fatalf("encoding/json refuses %q: %v", body, err)
		}
		for name, raw := range map[string]json.RawMessage{"callbackType": w.CallbackType, "customerId": w.CustomerID,
			"id": w.ID, "amount": w.Amount, "currency": w.Currency, "hash": w.Hash} {
			want, wantErr := xgwFlex(raw)
			got, err := x.String(name)
			if got != want || (err != nil) != (wantErr != nil) {
				t.Fatalf("%q: %s is %q, %v; encoding/json reads %q, %v", body, name, got, err, want, wantErr)
			}
		}
		if typ, _ := xgwFlex(w.CallbackType); x.Type() != typ {
			t.Fatalf("Type() = %q, want %q", x.Type(), typ)
		}
		hash, ok := x.Hash()
		if want, _ := xgwFlex(w.Hash); hash != want || ok != (want != "") {
			t.Fatalf("Hash() = %q, %v, want %q", hash, ok, want)
		}
		fields, err := x.HashedFields()
		if err == nil {
			wire.XGatewayHashMatches(hash, xgwSecret, fields...)
		} else if !errors.Is(err, wire.ErrUnknownCallbackType) && !errors.Is(err, wire.ErrFieldFormat) {
			t.Fatalf("HashedFields: error matches no sentinel: %v", err)
		}
	})
}

// xgwFullCase applies the full case mappings of SpecialCasing.txt that
// give ASCII letters only, which JavaScript and Python apply and Go does
// not.
var xgwFullCase = strings.NewReplacer("ß", "ss", "\u1e9e", "ss", "\ufb00", "ff", "\ufb01", "fi",
	"\ufb02", "fl", "\ufb03", "ffi", "\ufb04", "ffl", "\ufb05", "st", "\ufb06", "st")

// xgwCasings returns key as applications may compare it: upper- and
// lower-cased by Go, by Go's Turkish rules, and with the full mappings.
func xgwCasings(key string) []string {
	tr := unicode.TurkishCase
	out := []string{key, strings.ToUpper(key), strings.ToLower(key), strings.ToTitle(key),
		strings.ToUpperSpecial(tr, key), strings.ToLowerSpecial(tr, key), xgwFullCase.Replace(key)}
	for _, s := range out[1:] {
		out = append(out, strings.ToLower(s), strings.ToUpper(s), xgwFullCase.Replace(s))
	}
	return out
}

// xgwCheckKeys fails t if body, a JSON object, has a duplicate top-level
// key or a key that a change of case makes a known key without being it.
func xgwCheckKeys(t *testing.T, body []byte) {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("encoding/json refuses %q: %v", body, err)
	}
	d := json.NewDecoder(strings.NewReader(string(body)))
	if _, err := d.Token(); err != nil { // {
		t.Fatal(err)
	}
	n := 0
	for d.More() {
		tok, err := d.Token()
		if err != nil {
			t.Fatal(err)
		}
		key := tok.(string)
		n++
		for _, k := range wire.XGatewayKeys() {
			if key == k {
				continue
			}
			for _, cased := range xgwCasings(key) {
				if strings.EqualFold(cased, k) {
					t.Fatalf("%q: accepted key %q, which a change of case makes %s", body, key, k)
				}
			}
		}
		var skip json.RawMessage
		if err := d.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	if n != len(m) {
		t.Fatalf("%q: accepted %d keys of which %d distinct", body, n, len(m))
	}
}
