package kyccb_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/kyccb/kyccb"
	"github.com/kyccb/kyccb/internal/wire"
)

// The fuzz targets are seeded from the independent test vectors in
// testdata, so they start from real senders' headers and bodies.

func FuzzParseSignature(f *testing.F) {
	for _, v := range loadVectors(f) {
		for _, h := range v.Headers {
			f.Add(h)
		}
	}
	v := sep12Verifier(f)
	now := time.Unix(1700000005, 0)
	body := []byte(customerJSON)
	f.Fuzz(func(t *testing.T, value string) {
		sig, perr := wire.ParseSignature(value)
		if perr == nil && (len(sig.Bytes) != 64 || sig.Timestamp == "" || strings.Trim(sig.Timestamp, "0123456789") != "") {
			t.Fatalf("parsed %q as %+v", value, sig)
		}
		_, err := v.Verify(context.Background(), value, body, now)
		switch {
		case value == "":
			if !errors.Is(err, kyccb.ErrMissingSignature) {
				t.Fatalf("no header: %v", err)
			}
		case perr != nil:
			// Freshness is checked before the signature is decoded.
			if !errors.Is(err, kyccb.ErrMalformedSignature) && !errors.Is(err, kyccb.ErrExpired) && !errors.Is(err, kyccb.ErrFuture) {
				t.Fatalf("Verify(%q) = %v, want ErrMalformedSignature (or a time error)", value, err)
			}
		case err != nil && !errors.Is(err, kyccb.ErrBadSignature) && !errors.Is(err, kyccb.ErrExpired) && !errors.Is(err, kyccb.ErrFuture):
			t.Fatalf("Verify(%q) = %v, want a time or signature error", value, err)
		}
	})
}

func FuzzSEP12Handler(f *testing.F) {
	for _, v := range loadVectors(f) {
		if v.Mode == "sep12" {
			f.Add(v.Headers["Signature"], v.Headers["X-Stellar-Signature"], []byte(v.Body))
		}
	}
	now := time.Unix(1700000005, 0)
	var reason error
	h := kyccb.SEP12(testAddress, "wallet.example.org", func(context.Context, kyccb.Customer) error { return nil },
		kyccb.WithClock(func() time.Time { return now }),
		kyccb.WithMaxBodyBytes(64<<10),
		kyccb.WithErrorHook(func(_ *http.Request, err error) { reason = err }))
	f.Fuzz(func(t *testing.T, sig, legacy string, body []byte) {
		reason = nil
		r := httptest.NewRequest(http.MethodPost, "/kyc", strings.NewReader(string(body)))
		if sig != "" {
			r.Header["Signature"] = []string{sig}
		}
		if legacy != "" {
			r.Header["X-Stellar-Signature"] = []string{legacy}
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != kyccb.HTTPStatus(reason) {
			t.Fatalf("replied %d for reason %v", rec.Code, reason)
		}
		switch rec.Code {
		case 200, 400, 401, 413:
		default:
			t.Fatalf("unexpected status %d (%v)", rec.Code, reason)
		}
		if rec.Code == 200 {
			// Only a genuine signature gets here: check it independently.
			v, err := kyccb.NewSEP12Verifier(kyccb.StaticKeys{mustKey(t)}, "wallet.example.org")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := v.Verify(context.Background(), wire.SignatureValue(r.Header), body, now); err != nil {
				t.Fatalf("handler accepted what Verify rejects: %v", err)
			}
		}
	})
}

func mustKey(t testing.TB) []byte {
	k, err := wire.ParsePublicKey(testAddress)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func FuzzXGatewayVerify(f *testing.F) {
	for _, v := range loadVectors(f) {
		if v.Mode == "xgateway" {
			f.Add([]byte(v.Body))
		}
	}
	f.Add([]byte(`{"callbackType":"transaction","id":"1","amount":1e3,"currency":"EUR","hash":""}`))
	f.Add([]byte(`{"callbackType":"bank_account","customerId":"c","currency":"GBP","hash":null}`))
	v, err := kyccb.NewXGatewayVerifier("secret-key-0123")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		cb, err := v.Verify(body)
		if err != nil {
			if kyccb.HTTPStatus(err) != 400 && kyccb.HTTPStatus(err) != 401 {
				t.Fatalf("error %v maps to %d", err, kyccb.HTTPStatus(err))
			}
			return
		}
		n := 0
		for _, set := range []bool{cb.KYC != nil, cb.Transaction != nil, cb.BankAccount != nil} {
			if set {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("verified callback %+v has %d payloads", cb, n)
		}
		if cb.KYC != nil && cb.KYC.Hash != kyccb.XGatewayHash("secret-key-0123", cb.KYC.CustomerID) {
			t.Fatalf("accepted a KYC callback whose hash does not match")
		}
	})
}

// FuzzTransactions signs each body genuinely, so that it reaches the
// decoding: the handler never panics, replies as HTTPStatus says, passes
// on only a transaction with an id, the same value encoding/json makes of
// the body with Transaction's own UnmarshalJSON, and one that survives
// encoding and decoding again.
func FuzzTransactions(f *testing.F) {
	for _, v := range loadTransactionVectors(f) {
		f.Add([]byte(v.Body))
	}
	f.Add([]byte(txJSON))
	f.Add([]byte(`{"transaction":{"id":"x","required_info_updates":{"transaction":{"transaction":{}}}}}`))
	f.Add([]byte(`{"transaction":{"id":"x","updated_at":"2026-12-02 10:05:00.5-07:00","required_info_updates":["a"]}}`))
	now := time.Unix(1700000005, 0)
	f.Fuzz(func(t *testing.T, body []byte) {
		// A handler of its own for each input: one body is signed alike
		// each time, and a handler that processed it once would take it
		// again for a replay, whenever the fuzzer runs an input twice.
		var reason error
		var got *kyccb.Transaction
		h := kyccb.Transactions(testAddress, testHost, func(_ context.Context, tx kyccb.Transaction) error {
			got = &tx
			return nil
		}, kyccb.WithClock(func() time.Time { return now }), kyccb.WithMaxBodyBytes(64<<10),
			kyccb.WithErrorHook(func(_ *http.Request, err error) { reason = err }))
		r := httptest.NewRequest(http.MethodPost, "/tx", bytes.NewReader(body))
		r.Header.Set("Signature", sign(t, testSeed, testHost, string(body), now))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != kyccb.HTTPStatus(reason) {
			t.Fatalf("replied %d for reason %v", rec.Code, reason)
		}
		switch rec.Code {
		case 200, 400, 413:
		default:
			t.Fatalf("unexpected status %d (%v)", rec.Code, reason)
		}
		if (rec.Code == 200) != (got != nil) {
			t.Fatalf("status %d, function ran: %v", rec.Code, got != nil)
		}
		if got == nil {
			return
		}
		if got.ID == "" {
			t.Fatal("a transaction without an id reached the function")
		}
		var cb struct{ Transaction kyccb.Transaction }
		if err := json.Unmarshal(body, &cb); err != nil {
			t.Fatalf("the handler decoded what json.Unmarshal refuses: %v", err)
		}
		if diff := cmp.Diff(cb.Transaction, *got, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("the handler and json.Unmarshal disagree (-json +handler):\n%s", diff)
		}
		again, err := json.Marshal(got)
		if err != nil {
			t.Fatal(err)
		}
		var back kyccb.Transaction
		if err := json.Unmarshal(again, &back); err != nil {
			t.Fatalf("the transaction does not decode from its own encoding %s: %v", again, err)
		}
		if diff := cmp.Diff(*got, back, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("encoding and decoding changed the transaction (-before +after):\n%s", diff)
		}
	})
}
