package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kyccb/kyccb"
	"github.com/kyccb/kyccb/internal/wire"
)

// TestDiagnoseSEP12 makes one valid callback, breaks it the ways senders
// and the things in between do, and checks that the library rejects each
// and the diagnosis names the mistake.
func TestDiagnoseSEP12(t *testing.T) {
	at := time.Unix(captureT, 0)
	keys, err := kyccb.ParseKeys(testAddress)
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"id":"c-1","status":"REJECTED","message":"Nom illisible — 名前 ✓ <b>"}`)
	sign := func(seed, host string, b []byte, t0 time.Time) string {
		s, err := kyccb.SignSEP12(seed, host, b, t0)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	reencode := func(escapeHTML bool) []byte {
		var v any
		if err := json.Unmarshal(body, &v); err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		e := json.NewEncoder(&b)
		e.SetEscapeHTML(escapeHTML)
		if err := e.Encode(v); err != nil {
			t.Fatal(err)
		}
		return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
	}
	indented := func(prefix string) []byte {
		var b bytes.Buffer
		if err := json.Indent(&b, body, "", prefix); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}

	tests := []struct {
		name        string
		header      http.Header
		received    []byte // the body as received; nil for body
		host        string // the configured host; "" for captureHost
		requestHost string
		wantErr     error
		want        string
	}{
		{"another key", http.Header{"Signature": {sign(otherSeed, captureHost, body, at)}}, nil, "", "",
			kyccb.ErrBadSignature, "signed by another key"},
		{"a relay compacted indented JSON", http.Header{"Signature": {sign(testSeed, captureHost, indented("  "), at)}}, body, "", "",
			kyccb.ErrBadSignature, "the sender signed this JSON indented with 2 spaces"},
		{"a relay indented compact JSON with tabs", http.Header{"Signature": {sign(testSeed, captureHost, body, at)}}, indented("\t"), "", "",
			kyccb.ErrBadSignature, "the sender signed the compact form of this JSON"},
		{"a Python sender re-spaced the JSON", http.Header{"Signature": {sign(testSeed, captureHost, respace(body, ", ", ": "), at)}}, body, "", "",
			kyccb.ErrBadSignature, `with ", " and ": " between items`},
		{"the sender escaped non-ASCII characters", http.Header{"Signature": {sign(testSeed, captureHost, escapeNonASCII(body), at)}}, body, "", "",
			kyccb.ErrBadSignature, `non-ASCII characters escaped`},
		{"the sender re-encoded through a map with HTML escaping", http.Header{"Signature": {sign(testSeed, captureHost, reencode(true), at)}}, body, "", "",
			kyccb.ErrBadSignature, "keys sorted and <, >, & escaped"},
		{"the sender re-encoded through a map", http.Header{"Signature": {sign(testSeed, captureHost, reencode(false), at)}}, body, "", "",
			kyccb.ErrBadSignature, "this JSON with its keys sorted (re-encoded through a map)"},
		{"a newline was added after signing", http.Header{"Signature": {sign(testSeed, captureHost, body, at)}}, append(bytes.Clone(body), '\n'), "", "",
			kyccb.ErrBadSignature, "without its trailing white space"},
		{"the signer's trailing newline was lost", http.Header{"Signature": {sign(testSeed, captureHost, append(bytes.Clone(body), '\n'), at)}}, body, "", "",
			kyccb.ErrBadSignature, "followed by a newline, which was lost"},
		{"signed for localhost, configured for 127.0.0.1", http.Header{"Signature": {sign(testSeed, "localhost:8080", body, at)}}, nil, "127.0.0.1:8080", "",
			kyccb.ErrBadSignature, `wrong host: signed for "localhost:8080" (localhost for the loopback address)`},
		{"signed for the request's Host", http.Header{"Signature": {sign(testSeed, "10.0.0.7:8080", body, at)}}, nil, "", "10.0.0.7:8080",
			kyccb.ErrBadSignature, `wrong host: signed for "10.0.0.7:8080" (the request's Host header)`},
		{"signed without the port", http.Header{"Signature": {sign(testSeed, "wallet.example.org", body, at)}}, nil, "wallet.example.org:8443", "",
			nil, ""}, // accepted: the library takes the bare host too
		{"the legacy header is right, Signature is not", http.Header{
			"Signature":           {sign(otherSeed, captureHost, body, at)},
			"X-Stellar-Signature": {sign(testSeed, captureHost, body, at)}}, nil, "", "",
			kyccb.ErrBadSignature, "X-Stellar-Signature verifies but Signature does not"},
		{"t was moved forward to look fresh", http.Header{"Signature": {strings.Replace(sign(testSeed, captureHost, body, at.Add(-200*time.Second)), "t=1699999800", "t=1700000000", 1)}}, nil, "", "",
			kyccb.ErrBadSignature, "t was edited after signing: the signature is valid for t=1699999800, the header says t=1700000000"},
		{"signed ahead of the clock", http.Header{"Signature": {sign(testSeed, captureHost, body, at.Add(150*time.Second))}}, nil, "", "",
			kyccb.ErrFuture, "clock offset: signed 150 s ahead of this clock"},
		// The library's error here depends on how it handles a time far
		// beyond the tolerance; any rejection will do.
		{"t in milliseconds", http.Header{"Signature": {"t=1700000000000, s=" + base64.StdEncoding.EncodeToString(make([]byte, 64))}}, nil, "", "",
			errAny, "t has 13 digits: milliseconds? SEP-12 wants unix seconds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			host := tt.host
			if host == "" {
				host = captureHost
			}
			received := tt.received
			if received == nil {
				received = body
			}
			v, err := kyccb.NewSEP12Verifier(keys, host)
			if err != nil {
				t.Fatal(err)
			}
			_, verr := v.Verify(context.Background(), wire.SignatureValue(tt.header), received, at)
			if (tt.wantErr == errAny && verr == nil) || (tt.wantErr != errAny && (!errors.Is(verr, tt.wantErr) || (tt.wantErr == nil) != (verr == nil))) {
				t.Fatalf("the library says %v, want %v", verr, tt.wantErr)
			}
			if verr == nil {
				return
			}
			got := diagnoseSEP12(sep12Evidence{keys: keys, host: host, tolerance: kyccb.DefaultTolerance, now: at,
				method: http.MethodPost, header: tt.header, body: received, requestHost: tt.requestHost}, verr)
			if !strings.Contains(strings.Join(got, "\n"), tt.want) {
				t.Errorf("diagnosis %q, want %q in it", got, tt.want)
			}
		})
	}
}

// errAny stands for any rejection.
var errAny = errors.New("any error")

// TestDiagnoseXGateway does the same for XGateway's hash.
func TestDiagnoseXGateway(t *testing.T) {
	fields := func(id string) map[string]any {
		return map[string]any{"callbackType": "transaction", "id": id, "customerId": nil, "amount": "10.00", "currency": "EUR", "status": "COMPLETED"}
	}
	sum := func(s string) []byte { h := sha512.Sum512([]byte(s)); return h[:] }
	b64 := base64.StdEncoding.EncodeToString
	mac := hmac.New(sha512.New, []byte(testSecret))
	mac.Write([]byte("tx-1.N/A.10.00.EUR"))
	s256 := sha256.Sum256([]byte("tx-1.N/A.10.00.EUR." + testSecret))
	tests := []struct {
		name string
		hash string
		typ  string // replaces callbackType when set
		want string
		set  map[string]any // fields set in the body besides
	}{
		{"hex", strings.ToUpper(hex.EncodeToString(sum("tx-1.N/A.10.00.EUR." + testSecret))), "", "the hash is hex", nil},
		{"URL-safe base64", base64.RawURLEncoding.EncodeToString(sum("tx-1.N/A.10.00.EUR." + testSecret)), "", "URL-safe or unpadded base64", nil},
		{"a secret read with its newline", b64(sum("tx-1.N/A.10.00.EUR." + testSecret + "\n")), "", "white space after it", nil},
		{"another callback type's fields", b64(sum(".EUR." + testSecret)), "", "over the fields of a bank_account callback", nil},
		{"an empty customerId for N/A", b64(sum("tx-1..10.00.EUR." + testSecret)), "", "hashed an empty customerId", nil},
		{"HMAC", b64(mac.Sum(nil)), "", "HMAC-SHA512", nil},
		{"no secret", b64(sum("tx-1.N/A.10.00.EUR")), "", "leaves out the secret", nil},
		{"SHA-256", b64(s256[:]), "", "SHA-256", nil},
		{"another secret", b64(sum("tx-1.N/A.10.00.EUR.other")), "", "made with another secret", nil},
		{"an unknown callback type", b64(sum("x")), "refund", `callbackType is "refund"`, nil},
		{"no hash", "", "", "no hash field", nil},
		{"a numeric amount", b64(sum("tx-1.N/A.10.00.EUR." + testSecret)), "", "a hashed field is a JSON number",
			map[string]any{"amount": json.Number("10.00")}},
		{"a key with a dotless i", b64(sum("tx-1.N/A.10.00.EUR." + testSecret)), "", "customerıd with a dotless i",
			map[string]any{"ıd": "tx-2"}},
	}
	v, err := kyccb.NewXGatewayVerifier(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := fields("tx-1")
			if tt.hash != "" {
				obj["hash"] = tt.hash
			}
			if tt.typ != "" {
				obj["callbackType"] = tt.typ
			}
			for k, v := range tt.set {
				obj[k] = v
			}
			body, err := json.Marshal(obj)
			if err != nil {
				t.Fatal(err)
			}
			_, verr := v.Verify(body)
			if verr == nil {
				t.Fatal("the library accepted it")
			}
			got := diagnoseXGateway(testSecret, http.MethodPost, body, verr)
			if !strings.Contains(strings.Join(got, "\n"), tt.want) {
				t.Errorf("diagnosis %q for %v, want %q in it", got, verr, tt.want)
			}
		})
	}
}
