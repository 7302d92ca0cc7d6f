package kyccb_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kyccb/kyccb"
)

// The Anchor Platform's own test key pair, from PROTOCOLS.md.
const (
	testSeed    = "SAX3AH622R2XT6DXWWSRIDCMMUCCMATBZ5U6XKJWDO7M2EJUBFC3AW5X"
	testAddress = "GCHLHDBOKG2JWMJQBTLSL5XG6NO7ESXI2TAQKZXCXWXB5WI2X6W233PR"
	otherSeed   = "SBANR7RLX72AP6NTLQMGH7WBQL2VEGK47NJYI75T2BMXOM42NQHXZIRQ"
	testHost    = "wallet.example.org"
	testSecret  = "merchant-secret-key"
)

var signedAt = time.Unix(1700000000, 0)

const customerJSON = `{"id":"c-1","status":"NEEDS_INFO","fields":{"mobile_number":{"type":"string","description":"phone"}},"provided_fields":{"first_name":{"type":"string","description":"first name","status":"REJECTED","error":"does not match ID"}},"message":"more info needed","future_field":{"x":1}}`

var wantCustomer = kyccb.Customer{
	ID:     "c-1",
	Status: kyccb.StatusNeedsInfo,
	Fields: map[string]kyccb.Field{
		"mobile_number": {Type: "string", Description: "phone"},
	},
	ProvidedFields: map[string]kyccb.ProvidedField{
		"first_name": {Type: "string", Description: "first name", Status: "REJECTED", Error: "does not match ID"},
	},
	Message: "more info needed",
}

func sign(t testing.TB, seed, host, body string, at time.Time) string {
	t.Helper()
	v, err := kyccb.SignSEP12(seed, host, []byte(body), at)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// sep12Request is one request to a SEP-12 handler, described as data so
// that invalid cases are mutations of one valid fixture.
type sep12Request struct {
	method  string
	headers map[string]string
	body    string
	now     time.Time
}

func validSEP12(t testing.TB) sep12Request {
	return sep12Request{
		method:  http.MethodPost,
		headers: map[string]string{"Signature": sign(t, testSeed, testHost, customerJSON, signedAt)},
		body:    customerJSON,
		now:     signedAt.Add(30 * time.Second),
	}
}

// result is what a handler made of one request.
type result struct {
	code     int
	ran      bool
	customer kyccb.Customer
	reason   error
	reply    string
}

func serveSEP12(t testing.TB, host string, req sep12Request, fnErr error, opts ...kyccb.Option) result {
	t.Helper()
	var res result
	opts = append([]kyccb.Option{
		kyccb.WithClock(func() time.Time { return req.now }),
		kyccb.WithErrorHook(func(_ *http.Request, err error) { res.reason = err }),
	}, opts...)
	h := kyccb.SEP12(testAddress, host, func(_ context.Context, c kyccb.Customer) error {
		res.ran, res.customer = true, c
		return fnErr
	}, opts...)
	r := httptest.NewRequest(req.method, "http://10.0.0.7:8080/kyc", strings.NewReader(req.body))
	for k, v := range req.headers {
		r.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	res.code, res.reply = rec.Code, rec.Body.String()
	if res.code == http.StatusMethodNotAllowed && rec.Header().Get("Allow") != "POST" {
		t.Errorf("405 without Allow: POST")
	}
	return res
}

func TestSEP12Accepts(t *testing.T) {
	tests := []struct {
		name   string
		host   string
		mutate func(testing.TB, *sep12Request)
	}{
		{"a valid callback", testHost, func(testing.TB, *sep12Request) {}},
		{"the legacy header alone", testHost, func(t testing.TB, r *sep12Request) {
			r.headers = map[string]string{"X-Stellar-Signature": r.headers["Signature"]}
		}},
		{"both headers, the legacy one garbage", testHost, func(t testing.TB, r *sep12Request) {
			r.headers["X-Stellar-Signature"] = "garbage"
		}},
		{"pairs in the other order without spaces", testHost, func(t testing.TB, r *sep12Request) {
			ts, s, _ := strings.Cut(r.headers["Signature"], ", ")
			r.headers["Signature"] = s + "," + ts
		}},
		{"tabs and spaces around the pairs", testHost, func(t testing.TB, r *sep12Request) {
			ts, s, _ := strings.Cut(r.headers["Signature"], ", ")
			r.headers["Signature"] = " \t" + ts + " \t,  " + s + "\t "
		}},
		{"unpadded URL-safe base64", testHost, func(t testing.TB, r *sep12Request) {
			v := strings.TrimRight(r.headers["Signature"], "=")
			r.headers["Signature"] = strings.NewReplacer("+", "-", "/", "_").Replace(v)
		}},
		{"an unknown extra pair", testHost, func(t testing.TB, r *sep12Request) {
			r.headers["Signature"] += ", v=2"
		}},
		{"an age equal to the tolerance", testHost, func(t testing.TB, r *sep12Request) { r.now = signedAt.Add(kyccb.DefaultTolerance) }},
		{"a timestamp as far ahead as the tolerance", testHost, func(t testing.TB, r *sep12Request) { r.now = signedAt.Add(-kyccb.DefaultTolerance) }},
		{"the host configured as the callback URL", "https://wallet.example.org/kyc?x=1", func(testing.TB, *sep12Request) {}},
		{"a signature over host:port for host:port", testHost + ":8443", func(t testing.TB, r *sep12Request) {
			r.headers["Signature"] = sign(t, testSeed, testHost+":8443", r.body, signedAt)
		}},
		{"a signature over the bare host for host:port", testHost + ":8443", func(testing.TB, *sep12Request) {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := validSEP12(t)
			tt.mutate(t, &req)
			res := serveSEP12(t, tt.host, req, nil)
			if res.code != http.StatusOK || res.reason != nil {
				t.Fatalf("got %d (%v), want 200", res.code, res.reason)
			}
			if diff := cmp.Diff(wantCustomer, res.customer); diff != "" {
				t.Errorf("customer (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSEP12Rejects(t *testing.T) {
	tests := []struct {
		name     string
		host     string
		mutate   func(testing.TB, *sep12Request)
		fnErr    error
		wantCode int
		wantErr  error
		wantRan  bool
	}{
		{"a GET", testHost, func(t testing.TB, r *sep12Request) { r.method = http.MethodGet }, nil, 405, kyccb.ErrMethod, false},
		{"no signature header", testHost, func(t testing.TB, r *sep12Request) { r.headers = nil }, nil, 401, kyccb.ErrMissingSignature, false},
		{"an empty signature header", testHost, func(t testing.TB, r *sep12Request) { r.headers["Signature"] = "" }, nil, 401, kyccb.ErrMissingSignature, false},
		{"no s", testHost, func(t testing.TB, r *sep12Request) { r.headers["Signature"] = "t=1700000000" }, nil, 401, kyccb.ErrMalformedSignature, false},
		{"no t", testHost, func(t testing.TB, r *sep12Request) {
			_, s, _ := strings.Cut(r.headers["Signature"], ", ")
			r.headers["Signature"] = s
		}, nil, 401, kyccb.ErrMalformedSignature, false},
		{"t given twice", testHost, func(t testing.TB, r *sep12Request) {
			r.headers["Signature"] = "t=1700000000, " + r.headers["Signature"]
		}, nil, 401, kyccb.ErrMalformedSignature, false},
		{"a signed t", testHost, func(t testing.TB, r *sep12Request) {
			r.headers["Signature"] = strings.Replace(r.headers["Signature"], "t=", "t=+", 1)
		}, nil, 401, kyccb.ErrMalformedSignature, false},
		{"a signature of 63 bytes", testHost, func(t testing.TB, r *sep12Request) {
			r.headers["Signature"] = "t=1700000000, s=" + strings.Repeat("A", 84)
		}, nil, 401, kyccb.ErrMalformedSignature, false},
		{"mixed base64 alphabets", testHost, func(t testing.TB, r *sep12Request) {
			r.headers["Signature"] = "t=1700000000, s=-" + strings.Repeat("/", 85)
		}, nil, 401, kyccb.ErrMalformedSignature, false},
		{"an age past the tolerance", testHost, func(t testing.TB, r *sep12Request) { r.now = signedAt.Add(kyccb.DefaultTolerance + time.Second) }, nil, 401, kyccb.ErrExpired, false},
		{"a timestamp past the tolerance ahead", testHost, func(t testing.TB, r *sep12Request) { r.now = signedAt.Add(-kyccb.DefaultTolerance - time.Second) }, nil, 401, kyccb.ErrFuture, false},
		{"a timestamp centuries ahead", testHost, func(t testing.TB, r *sep12Request) {
			r.headers["Signature"] = sign(t, testSeed, testHost, r.body, time.Unix(999999999999999999, 0))
		}, nil, 401, kyccb.ErrFuture, false},
		{"a timestamp of zero", testHost, func(t testing.TB, r *sep12Request) {
			r.headers["Signature"] = sign(t, testSeed, testHost, r.body, time.Unix(0, 0))
		}, nil, 401, kyccb.ErrExpired, false},
		{"a changed body", testHost, func(t testing.TB, r *sep12Request) { r.body = strings.Replace(r.body, "NEEDS_INFO", "ACCEPTED__", 1) }, nil, 401, kyccb.ErrBadSignature, false},
		{"re-serialized JSON", testHost, func(t testing.TB, r *sep12Request) { r.body = strings.Replace(r.body, `,"`, `, "`, 1) }, nil, 401, kyccb.ErrBadSignature, false},
		{"a changed timestamp", testHost, func(t testing.TB, r *sep12Request) {
			r.headers["Signature"] = strings.Replace(r.headers["Signature"], "t=1700000000", "t=1700000001", 1)
		}, nil, 401, kyccb.ErrBadSignature, false},
		{"another key", testHost, func(t testing.TB, r *sep12Request) {
			r.headers["Signature"] = sign(t, otherSeed, testHost, r.body, signedAt)
		}, nil, 401, kyccb.ErrBadSignature, false},
		{"a signature for another host", testHost, func(t testing.TB, r *sep12Request) {
			r.headers["Signature"] = sign(t, testSeed, "evil.example.com", r.body, signedAt)
		}, nil, 401, kyccb.ErrBadSignature, false},
		{"a signature over host:port for the bare host", testHost, func(t testing.TB, r *sep12Request) {
			r.headers["Signature"] = sign(t, testSeed, testHost+":8443", r.body, signedAt)
		}, nil, 401, kyccb.ErrBadSignature, false},
		{"a signature over another port", testHost + ":8443", func(t testing.TB, r *sep12Request) {
			r.headers["Signature"] = sign(t, testSeed, testHost+":9443", r.body, signedAt)
		}, nil, 401, kyccb.ErrBadSignature, false},
		{"the legacy header wrong and Signature absent", testHost, func(t testing.TB, r *sep12Request) {
			r.headers = map[string]string{"X-Stellar-Signature": sign(t, otherSeed, testHost, r.body, signedAt)}
		}, nil, 401, kyccb.ErrBadSignature, false},
		{"a signed body that is a JSON array", testHost, func(t testing.TB, r *sep12Request) {
			r.body = `[1,2]`
			r.headers["Signature"] = sign(t, testSeed, testHost, r.body, signedAt)
		}, nil, 400, kyccb.ErrMalformedBody, false},
		{"a signed body that is null", testHost, func(t testing.TB, r *sep12Request) {
			r.body = `null`
			r.headers["Signature"] = sign(t, testSeed, testHost, r.body, signedAt)
		}, nil, 400, kyccb.ErrMalformedBody, false},
		{"a signed body with a field of the wrong type", testHost, func(t testing.TB, r *sep12Request) {
			r.body = `{"id":7,"status":"ACCEPTED"}`
			r.headers["Signature"] = sign(t, testSeed, testHost, r.body, signedAt)
		}, nil, 400, kyccb.ErrMalformedBody, false},
		{"a signed body with trailing garbage", testHost, func(t testing.TB, r *sep12Request) {
			r.body = `{"status":"ACCEPTED"} x`
			r.headers["Signature"] = sign(t, testSeed, testHost, r.body, signedAt)
		}, nil, 400, kyccb.ErrMalformedBody, false},
		{"a function that fails", testHost, func(testing.TB, *sep12Request) {}, errors.New("database down"), 500, kyccb.ErrCallback, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := validSEP12(t)
			tt.mutate(t, &req)
			res := serveSEP12(t, tt.host, req, tt.fnErr)
			if res.code != tt.wantCode || !errors.Is(res.reason, tt.wantErr) || res.ran != tt.wantRan {
				t.Fatalf("got %d, %v, fn ran %v; want %d, %v, fn ran %v", res.code, res.reason, res.ran, tt.wantCode, tt.wantErr, tt.wantRan)
			}
			if got := kyccb.HTTPStatus(res.reason); got != tt.wantCode {
				t.Errorf("HTTPStatus(reason) = %d, want %d", got, tt.wantCode)
			}
			if tt.fnErr != nil && !errors.Is(res.reason, tt.fnErr) {
				t.Errorf("reason %v does not wrap the function's error", res.reason)
			}
			// Fixed reply text: none of the request, the reason or fn's error.
			for _, leak := range []string{"database", "1700000000", req.headers["Signature"], "wallet", "10.0.0.7"} {
				if leak != "" && strings.Contains(res.reply, leak) {
					t.Errorf("reply %q contains %q", res.reply, leak)
				}
			}
		})
	}
}

func TestSEP12BodyLimit(t *testing.T) {
	body := `{"status":"ACCEPTED","message":"` + strings.Repeat("x", 200) + `"}`
	tests := []struct {
		name     string
		limit    int64
		chunked  bool
		wantCode int
		wantErr  error
	}{
		{"a body exactly at the limit", int64(len(body)), false, 200, nil},
		{"a declared length one byte over", int64(len(body)) - 1, false, 413, kyccb.ErrBodyTooLarge},
		{"an undeclared length one byte over", int64(len(body)) - 1, true, 413, kyccb.ErrBodyTooLarge},
		{"an undeclared length at the limit", int64(len(body)), true, 200, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var reason error
			h := kyccb.SEP12(testAddress, testHost, func(context.Context, kyccb.Customer) error { return nil },
				kyccb.WithMaxBodyBytes(tt.limit),
				kyccb.WithClock(func() time.Time { return signedAt }),
				kyccb.WithErrorHook(func(_ *http.Request, err error) { reason = err }))
			var rd io.Reader = strings.NewReader(body)
			if tt.chunked {
				rd = io.MultiReader(rd) // hides the length from httptest
			}
			r := httptest.NewRequest(http.MethodPost, "/", rd)
			r.Header.Set("Signature", sign(t, testSeed, testHost, body, signedAt))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code != tt.wantCode || !errors.Is(reason, tt.wantErr) {
				t.Fatalf("got %d, %v; want %d, %v", rec.Code, reason, tt.wantCode, tt.wantErr)
			}
		})
	}
}

func TestDiagnosis(t *testing.T) {
	tests := []struct {
		name       string
		configured string
		signedFor  string
		reqHost    string
		want       string
		forwarded  string // X-Forwarded-Host, "" for none
	}{
		{"an explicit :443 in the registered URL", testHost, testHost + ":443", testHost, `valid for host "wallet.example.org:443", not for the configured "wallet.example.org"`, ""},
		{"the host of the request", testHost, "internal.example.net:8080", "internal.example.net:8080", `valid for the request's Host header, not for the configured host "wallet.example.org"`, ""},
		{"the configured host with the request's port", testHost, testHost + ":8443", testHost + ":8443", `valid for host "wallet.example.org:8443", not for the configured "wallet.example.org"`, ""},
		{"nothing that matches", testHost, "elsewhere.example.com", testHost, `not signed by a trusted key for host "wallet.example.org", or the body was changed`, ""},
		// An app behind a proxy (kyccb listen --forward) configured with
		// its own host instead of the registered URL's, the proxy's.
		{"the host a proxy passes on", "127.0.0.1:3000", "proxy.example.net:8080", "127.0.0.1:3000",
			`valid for the request's X-Forwarded-Host header, not for the configured host "127.0.0.1:3000": behind a proxy, configure the host of the callback URL registered with the anchor (the proxy's), not this server's own`, "proxy.example.net:8080"},
		{"a list of forwarded hosts, the first the proxy's", "127.0.0.1:3000", "proxy.example.net:8080", "127.0.0.1:3000",
			`valid for the request's X-Forwarded-Host header`, "proxy.example.net:8080, other.example.net"},
		{"a forwarded host that does not match either", "127.0.0.1:3000", "elsewhere.example.com", "127.0.0.1:3000",
			`not signed by a trusted key for host "127.0.0.1:3000", or the body was changed`, "proxy.example.net:8080"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var reason error
			h := kyccb.SEP12(testAddress, tt.configured, func(context.Context, kyccb.Customer) error { return nil },
				kyccb.WithClock(func() time.Time { return signedAt }),
				kyccb.WithErrorHook(func(_ *http.Request, err error) { reason = err }))
			r := httptest.NewRequest(http.MethodPost, "http://"+tt.reqHost+"/kyc", strings.NewReader(customerJSON))
			r.Header.Set("Signature", sign(t, testSeed, tt.signedFor, customerJSON, signedAt))
			if tt.forwarded != "" {
				r.Header.Set("X-Forwarded-Host", tt.forwarded)
			}
			h.ServeHTTP(httptest.NewRecorder(), r)
			if !errors.Is(reason, kyccb.ErrBadSignature) || !strings.Contains(reason.Error(), tt.want) {
				t.Fatalf("reason %q, want ErrBadSignature saying %q", reason, tt.want)
			}
			if strings.Contains(reason.Error(), "proxy.example.net") {
				t.Errorf("reason %q repeats the request's X-Forwarded-Host", reason)
			}
			if !strings.HasPrefix(tt.reqHost, tt.configured) && strings.Contains(reason.Error(), tt.reqHost) {
				t.Errorf("reason %q repeats the request's Host", reason)
			}
		})
	}
	t.Run("a timestamp 300 s old", func(t *testing.T) {
		req := validSEP12(t)
		req.now = signedAt.Add(300 * time.Second)
		res := serveSEP12(t, testHost, req, nil)
		if want := "signed 5m0s ago, tolerance 2m0s"; !strings.Contains(fmt.Sprint(res.reason), want) {
			t.Fatalf("reason %q, want it to say %q", res.reason, want)
		}
	})
}

func TestLogger(t *testing.T) {
	var buf strings.Builder
	logger := slog.New(slog.NewTextHandler(&buf, nil))
	req := validSEP12(t)
	req.headers = nil
	res := serveSEP12(t, testHost, req, nil, kyccb.WithLogger(logger))
	if res.code != 401 {
		t.Fatalf("got %d", res.code)
	}
	if got := buf.String(); !strings.Contains(got, "level=WARN") || !strings.Contains(got, "status=401") || !strings.Contains(got, "missing signature header") {
		t.Errorf("log %q lacks level, status or reason", got)
	}
}

func TestContextValues(t *testing.T) {
	req := validSEP12(t)
	var gotBody []byte
	var gotAt time.Time
	var ok bool
	h := kyccb.SEP12(testAddress, testHost, func(ctx context.Context, _ kyccb.Customer) error {
		gotBody = kyccb.RawBody(ctx)
		gotAt, ok = kyccb.SignedAt(ctx)
		if ctx.Value(ctxMarker{}) != "from the request" {
			t.Error("fn did not get the request's context")
		}
		return nil
	}, kyccb.WithClock(func() time.Time { return req.now }))
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(req.body))
	r = r.WithContext(context.WithValue(r.Context(), ctxMarker{}, "from the request"))
	r.Header.Set("Signature", req.headers["Signature"])
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != 200 || string(gotBody) != req.body || !ok || !gotAt.Equal(signedAt) {
		t.Fatalf("got %d, body %q, signed at %v (%v)", rec.Code, gotBody, gotAt, ok)
	}
	if b := kyccb.RawBody(context.Background()); b != nil {
		t.Errorf("RawBody outside a callback = %q", b)
	}
	if _, ok := kyccb.SignedAt(context.Background()); ok {
		t.Error("SignedAt outside a callback reported true")
	}
}

type ctxMarker struct{}

func TestSEP12Middleware(t *testing.T) {
	req := validSEP12(t)
	var got string
	var ran bool
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			t.Error(err)
		}
		got, ran = string(b), true
		if r.ContentLength != int64(len(b)) {
			t.Errorf("ContentLength %d for %d bytes", r.ContentLength, len(b))
		}
		if _, ok := kyccb.SignedAt(r.Context()); !ok {
			t.Error("SignedAt not set for next")
		}
		w.WriteHeader(http.StatusAccepted)
	})
	h := sep12Verifier(t, kyccb.WithClock(func() time.Time { return req.now })).Middleware(next)

	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(req.body))
	r.Header.Set("Signature", req.headers["Signature"])
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != http.StatusAccepted || got != req.body {
		t.Fatalf("got %d and body %q, want next's 202 and the body byte for byte", rec.Code, got)
	}

	ran = false
	r = httptest.NewRequest(http.MethodPost, "/", strings.NewReader(req.body+" "))
	r.Header.Set("Signature", req.headers["Signature"])
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != 401 || ran {
		t.Fatalf("changed body: got %d, next ran %v; want 401 without next", rec.Code, ran)
	}
}

func TestConstructionFails(t *testing.T) {
	keys, err := kyccb.ParseKeys(testAddress)
	if err != nil {
		t.Fatal(err)
	}
	sep12 := []struct {
		name string
		keys kyccb.KeySource
		host string
		opts []kyccb.Option
	}{
		{"an empty host", keys, "", nil},
		{"a URL without a host", keys, "https:///kyc", nil},
		{"a host with a path", keys, "wallet.example.org/kyc", nil},
		{"a nil key source", nil, testHost, nil},
		{"no keys", kyccb.StaticKeys{}, testHost, nil},
		{"a key of the wrong length", kyccb.StaticKeys{make([]byte, 31)}, testHost, nil},
		{"a zero tolerance", keys, testHost, []kyccb.Option{kyccb.WithTolerance(0)}},
		{"a negative body limit", keys, testHost, []kyccb.Option{kyccb.WithMaxBodyBytes(-1)}},
		{"a nil clock", keys, testHost, []kyccb.Option{kyccb.WithClock(nil)}},
		{"a nil hook", keys, testHost, []kyccb.Option{kyccb.WithErrorHook(nil)}},
		{"a nil logger", keys, testHost, []kyccb.Option{kyccb.WithLogger(nil)}},
		{"a nil option", keys, testHost, []kyccb.Option{nil}},
		{"an XGateway option", keys, testHost, []kyccb.Option{kyccb.WithXGatewayTransaction(func(context.Context, kyccb.XGatewayTransaction) error { return nil })}},
	}
	for _, tt := range sep12 {
		t.Run("SEP-12 with "+tt.name, func(t *testing.T) {
			if _, err := kyccb.NewSEP12Verifier(tt.keys, tt.host, tt.opts...); !errors.Is(err, kyccb.ErrConfig) {
				t.Fatalf("got %v, want ErrConfig", err)
			}
		})
	}
	for _, tt := range []struct{ name, key string }{
		{"an empty key", ""},
		{"a seed instead of the public key", testSeed},
		{"a key with a bad checksum", testAddress[:55] + "Q"},
		{"a contract address", "CA3D5KRYM6CB7OWQ6TWYRR3Z4T7GNZLKERYNZGGA5SOAOPIFY6YQGAXE"},
	} {
		t.Run("ParseKeys with "+tt.name, func(t *testing.T) {
			_, err := kyccb.ParseKeys(tt.key)
			if !errors.Is(err, kyccb.ErrConfig) {
				t.Fatalf("got %v, want ErrConfig", err)
			}
			if tt.key != "" && strings.Contains(err.Error(), tt.key) {
				t.Errorf("error %q repeats the key", err)
			}
		})
	}
	for _, tt := range []struct {
		name   string
		secret string
		opts   []kyccb.Option
	}{
		{"an empty secret", "", nil},
		{"a secret with a trailing newline", "s3cret\n", nil},
		{"a tolerance, which XGateway cannot check", testSecret, []kyccb.Option{kyccb.WithTolerance(time.Minute)}},
	} {
		t.Run("XGateway with "+tt.name, func(t *testing.T) {
			_, err := kyccb.NewXGatewayVerifier(tt.secret, tt.opts...)
			if !errors.Is(err, kyccb.ErrConfig) {
				t.Fatalf("got %v, want ErrConfig", err)
			}
			if tt.secret != "" && strings.Contains(err.Error(), strings.TrimSpace(tt.secret)) {
				t.Errorf("error %q repeats the secret", err)
			}
		})
	}
	t.Run("SEP12 panics with a clear message", func(t *testing.T) {
		defer func() {
			// The function's name, once, then the reason.
			if msg := fmt.Sprint(recover()); !strings.HasPrefix(msg, "kyccb.SEP12: invalid configuration: ") || strings.Contains(msg, "kyccb: ") {
				t.Fatalf("panic %q", msg)
			}
		}()
		kyccb.SEP12("GBAD", testHost, func(context.Context, kyccb.Customer) error { return nil })
	})
	t.Run("XGateway panics with a clear message", func(t *testing.T) {
		defer func() {
			// The function's name, once, then the reason.
			if msg := fmt.Sprint(recover()); !strings.HasPrefix(msg, "kyccb.XGateway: invalid configuration: ") || strings.Contains(msg, "kyccb: ") {
				t.Fatalf("panic %q", msg)
			}
		}()
		kyccb.XGateway("", func(context.Context, kyccb.XGatewayKYC) error { return nil })
	})
}

func TestSignSEP12KnownAnswer(t *testing.T) {
	// From PROTOCOLS.md: the Anchor Platform's test key signing
	// "1700000000.localhost:8092.test_payload".
	got, err := kyccb.SignSEP12(testSeed, "http://localhost:8092/callback", []byte("test_payload"), signedAt)
	if err != nil {
		t.Fatal(err)
	}
	want := "t=1700000000, s=zhS27io5UVNMVbz6ibyVg2bznNWdE8i7euf0z+Pmruun7OFRoWDufyVsJ+pv+bg/5oskWqiab942VB6SucUaCQ=="
	if got != want {
		t.Fatalf("SignSEP12 = %q, want %q", got, want)
	}
	if _, err := kyccb.SignSEP12(testAddress, testHost, nil, signedAt); !errors.Is(err, kyccb.ErrConfig) {
		t.Errorf("signing with a public key: %v, want ErrConfig", err)
	}
}

// sep12Verifier is the verifier SEP12 builds for the test key and host.
func sep12Verifier(t testing.TB, opts ...kyccb.Option) *kyccb.SEP12Verifier {
	t.Helper()
	keys, err := kyccb.ParseKeys(testAddress)
	if err != nil {
		t.Fatal(err)
	}
	v, err := kyccb.NewSEP12Verifier(keys, testHost, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// Every malformed header is ErrMalformedSignature from Verify, before any
// signature check.
func TestVerifyMalformedHeader(t *testing.T) {
	v := sep12Verifier(t)
	valid := sign(t, testSeed, testHost, customerJSON, signedAt)
	s := valid[strings.Index(valid, "s="):]
	for _, bad := range []string{",", "t", "t=,s=", "t=1700000000, s=" + strings.Repeat("A", 88), "t=1e9, " + s, "t=1 2, " + s, "t=9999999999999999999, " + s, "t=1700000000, t=1700000000, " + s, "t=+1700000000, " + s} {
		if _, err := v.Verify(context.Background(), bad, []byte(customerJSON), signedAt); !errors.Is(err, kyccb.ErrMalformedSignature) {
			t.Errorf("Verify(%q) = %v, want ErrMalformedSignature", bad, err)
		}
	}
	if _, err := v.Verify(context.Background(), "", []byte(customerJSON), signedAt); !errors.Is(err, kyccb.ErrMissingSignature) {
		t.Errorf("Verify of no header = %v, want ErrMissingSignature", err)
	}
	// Leading zeros are kept as sent: they are part of the signed bytes.
	zero := strings.Replace(valid, "t=", "t=0", 1)
	if _, err := v.Verify(context.Background(), zero, []byte(customerJSON), signedAt); !errors.Is(err, kyccb.ErrBadSignature) {
		t.Errorf("Verify with t=0...: %v, want ErrBadSignature (the zero is signed)", err)
	}
}
