package kyccb_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/kyccb/kyccb"
)

// Findings of the second red-team round (issue 18) that the root package
// closes. Each test fails on the code before its fix.

// verifierHolder is a user's configuration struct that keeps a verifier in
// every way it could: fmt calls String only on exported fields, and
// prints the unexported ones field by field.
type verifierHolder struct {
	Verifier  *kyccb.XGatewayVerifier
	verifier  *kyccb.XGatewayVerifier
	VerifierV kyccb.XGatewayVerifier
	verifierV kyccb.XGatewayVerifier
	Name      string
}

// TestXGatewaySecretNotPrintedByValue is finding 2: String, GoString and
// LogValue were on *XGatewayVerifier only, so a copy of the verifier
// (fmt.Sprintf("%+v", *v), a configuration struct holding it by value, %x,
// slog's text and JSON handlers) printed the secret.
func TestXGatewaySecretNotPrintedByValue(t *testing.T) {
	const secret = "very-secret-merchant-key"
	v, err := kyccb.NewXGatewayVerifier(secret)
	if err != nil {
		t.Fatal(err)
	}
	forbidden := []string{secret, hex.EncodeToString([]byte(secret)), strings.ToUpper(hex.EncodeToString([]byte(secret))),
		strings.Trim(fmt.Sprint([]byte(secret)), "[]")}
	check := func(t *testing.T, what, out string) {
		t.Helper()
		for _, f := range forbidden {
			if strings.Contains(out, f) {
				t.Errorf("%s prints the secret (%q): %s", what, f, out)
			}
		}
	}
	const says = "kyccb.XGatewayVerifier{secret: redacted}"
	h := verifierHolder{v, v, *v, *v, "merchant"}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x", "%X", "%q", "%T", "%p", "%t"} {
		check(t, verb+" of the pointer", fmt.Sprintf(verb, v))
		check(t, verb+" of the value", fmt.Sprintf(verb, *v))
		check(t, verb+" of a struct holding it", fmt.Sprintf(verb, h))
		check(t, verb+" of a pointer to a struct holding it", fmt.Sprintf(verb, &h))
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%d"} {
		if got := fmt.Sprintf(verb, *v); got != says {
			t.Errorf("%s of the value prints %s, want %s", verb, got, says)
		}
	}
	if got := fmt.Sprintf("%+v", struct{ V kyccb.XGatewayVerifier }{*v}); got != "{V:"+says+"}" {
		t.Errorf("an exported field holding the value prints %s", got)
	}
	for _, handler := range []struct {
		name string
		new  func(*bytes.Buffer) slog.Handler
	}{
		{"text", func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) }},
		{"JSON", func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) }},
	} {
		var buf bytes.Buffer
		log := slog.New(handler.new(&buf))
		log.Info("built", "verifier", *v)
		log.Info("built", slog.Any("pointer", v), slog.Group("g", "value", *v))
		log.Info("built", "holder", h, "pointer", &h)
		check(t, "slog's "+handler.name+" handler", buf.String())
		if first, _, _ := strings.Cut(buf.String(), "\n"); !strings.Contains(first, "redacted") {
			t.Errorf("slog's %s handler logs the value as %s", handler.name, first)
		}
	}
}

// TestXGatewayNumbersAndCasedKeysRefused is findings 3 and 4 through the
// library: a hashed field sent as a number (the hash covers its text,
// which JavaScript and Python read as another number) and a key that a
// change of case makes a known field (customerıd, with a dotless i,
// upper-cases to CUSTOMERID) reach neither the function nor the next
// handler of the middleware, which promises a body every parser reads
// alike. The reader's own tests are internal/wire's
// TestXGatewayNumbersRefused and TestXGatewayCaseMappedKeys.
func TestXGatewayNumbersAndCasedKeysRefused(t *testing.T) {
	alice := kyccb.XGatewayHash(testSecret, "alice")
	tests := []struct {
		name string
		body string
		code int
		want error
	}{
		{"a big numeric customer id", `{"callbackType":"kyc","customerId":12345678901234567890,"hash":"` +
			kyccb.XGatewayHash(testSecret, "12345678901234567890") + `"}`, 401, kyccb.ErrBadHash},
		{"a customer id with an exponent", `{"callbackType":"kyc","customerId":1e5,"hash":"` +
			kyccb.XGatewayHash(testSecret, "1e5") + `"}`, 401, kyccb.ErrBadHash},
		{"a numeric transaction id", `{"callbackType":"transaction","id":12345678901234567890,"customerId":"c","amount":"1","currency":"USD","hash":"` +
			kyccb.XGatewayHash(testSecret, "12345678901234567890", "c", "1", "USD") + `"}`, 401, kyccb.ErrBadHash},
		{"a numeric status beside a genuine hash", `{"callbackType":"kyc","customerId":"alice","status":1e5,"hash":"` + alice + `"}`,
			400, kyccb.ErrMalformedBody},
		{"a dotless i", `{"callbackType":"kyc","customerId":"alice","customerıd":"bob","hash":"` + alice + `"}`, 400, kyccb.ErrMalformedBody},
		{"a dotted capital I", `{"callbackType":"kyc","customerId":"alice","customerİd":"bob","hash":"` + alice + `"}`, 400, kyccb.ErrMalformedBody},
		{"a dotless i beside id", `{"callbackType":"transaction","id":"1","ıd":"2","amount":"1","currency":"USD","hash":"` +
			kyccb.XGatewayHash(testSecret, "1", "N/A", "1", "USD") + `"}`, 400, kyccb.ErrMalformedBody},
		{"a sharp s", `{"callbackType":"kyc","customerId":"alice","docsMißing":[],"hash":"` + alice + `"}`, 400, kyccb.ErrMalformedBody},
	}
	v, err := kyccb.NewXGatewayVerifier(testSecret, kyccb.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := v.Verify([]byte(tt.body)); !errors.Is(err, tt.want) {
				t.Errorf("Verify: %v, want %v", err, tt.want)
			}
			res := serveXGateway(t, http.MethodPost, tt.body, nil)
			if res.code != tt.code || !errors.Is(res.reason, tt.want) || res.kyc != nil {
				t.Errorf("handler: %d, %v, fn ran %v; want %d, %v", res.code, res.reason, res.kyc != nil, tt.code, tt.want)
			}
			ran := false
			mw := v.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { ran = true }))
			rec := httptest.NewRecorder()
			mw.ServeHTTP(rec, httptest.NewRequestWithContext(context.Background(), http.MethodPost, "/xgw", strings.NewReader(tt.body)))
			if rec.Code != tt.code || ran {
				t.Errorf("middleware: %d, next ran %v; want %d", rec.Code, ran, tt.code)
			}
		})
	}
}

// TestFailuresLoggedDespiteForgeryFlood is finding 5: five forged requests
// spent the whole log budget of ten seconds, so the function's errors and
// the store's failures that followed were never logged, only counted.
// Failures of authenticated callbacks have a budget of their own now.
func TestFailuresLoggedDespiteForgeryFlood(t *testing.T) {
	clock := kyccb.WithClock(func() time.Time { return signedAt })
	valid := sign(t, testSeed, testHost, customerJSON, signedAt)
	forged := forgedRequest(t).Header.Get("Signature")
	for _, tt := range []struct {
		name string
		opts []kyccb.Option
		fn   func(context.Context, kyccb.Customer) error
		code int
		want error
	}{
		{"the function's error", nil,
			func(context.Context, kyccb.Customer) error { return errors.New("database down") }, 500, kyccb.ErrCallback},
		{"the store's failure", []kyccb.Option{kyccb.WithDedup(failingStore{})},
			func(context.Context, kyccb.Customer) error { return nil }, 503, kyccb.ErrStoreUnavailable},
	} {
		t.Run(tt.name, func(t *testing.T) {
			logs := captureDefault(t)
			h := kyccb.SEP12(testAddress, testHost, tt.fn, append(tt.opts, clock)...)
			for range 100 {
				if code := serve(h, forged, customerJSON); code != 401 {
					t.Fatalf("a forged request got %d", code)
				}
			}
			if code := serve(h, valid, customerJSON); code != tt.code {
				t.Fatalf("the genuine callback got %d, want %d", code, tt.code)
			}
			var rejected, failed int
			for _, r := range logs.all(t) {
				switch {
				case r["msg"] == "kyccb: callback rejected":
					rejected++
				case r["msg"] == "kyccb: callback failed" && r["status"] == float64(tt.code) &&
					strings.HasPrefix(r["reason"].(string), tt.want.Error()):
					failed++
				}
			}
			if rejected != kyccb.LogBurst || failed != 1 {
				t.Errorf("logged %d rejections and %d failures after the flood, want %d and 1", rejected, failed, kyccb.LogBurst)
			}
		})
	}
}
