package kyccb_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kyccb/kyccb"
)

// vector is one case of testdata/callbacks.json, made by an independent
// implementation (the Stellar JavaScript SDK and Node's crypto).
type vector struct {
	Name       string            `json:"name"`
	Mode       string            `json:"mode"`
	Body       string            `json:"body"`
	Valid      bool              `json:"valid"`
	Reason     string            `json:"reason"`
	SigningKey string            `json:"signing_key"`
	Host       string            `json:"host"`
	Now        int64             `json:"now"`
	ToleranceS int64             `json:"tolerance_s"`
	Headers    map[string]string `json:"headers"`
	Secret     string            `json:"secret"`
	CustomerID string            `json:"customer_id"`
	Status     string            `json:"status"`
	Docs       []string          `json:"docs_missing"`
}

func loadVectors(t testing.TB) []vector {
	t.Helper()
	b, err := os.ReadFile("testdata/callbacks.json")
	if err != nil {
		t.Fatal(err)
	}
	var vs []vector
	if err := json.Unmarshal(b, &vs); err != nil {
		t.Fatal(err)
	}
	if len(vs) == 0 {
		t.Fatal("no vectors")
	}
	return vs
}

// reasonErrors maps a vector's reason to the sentinels that may report it.
var reasonErrors = map[string][]error{
	"header":    {kyccb.ErrMissingSignature, kyccb.ErrMalformedSignature},
	"signature": {kyccb.ErrBadSignature},
	"timestamp": {kyccb.ErrExpired, kyccb.ErrFuture},
	"hash":      {kyccb.ErrMissingHash, kyccb.ErrBadHash},
	"body":      {kyccb.ErrMalformedBody},
}

var reasonStatus = map[string]int{
	"header": 401, "signature": 401, "timestamp": 401, "hash": 401, "body": 400,
}

// got is what a handler made of one request.
type got struct {
	Code       int
	Ran        bool
	CustomerID string
	Status     string
	Docs       []string
}

func TestVectors(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.Mode+"/"+v.Name, func(t *testing.T) {
			var g got
			var reported error
			hook := kyccb.WithErrorHook(func(_ *http.Request, err error) { reported = err })
			var h http.Handler
			switch v.Mode {
			case "sep12":
				h = kyccb.SEP12(v.SigningKey, v.Host, func(_ context.Context, c kyccb.Customer) error {
					g.Ran, g.CustomerID, g.Status = true, c.ID, string(c.Status)
					return nil
				}, hook,
					kyccb.WithClock(func() time.Time { return time.Unix(v.Now, 0) }),
					kyccb.WithTolerance(time.Duration(v.ToleranceS)*time.Second))
			case "xgateway":
				h = kyccb.XGateway(v.Secret, func(_ context.Context, k kyccb.XGatewayKYC) error {
					g.Ran, g.CustomerID, g.Status, g.Docs = true, k.CustomerID, string(k.Status), k.DocsMissing
					return nil
				}, hook)
			default:
				t.Fatalf("unknown mode %q", v.Mode)
			}
			// The request's Host is never the configured host: the check
			// must not depend on it.
			r := httptest.NewRequest(http.MethodPost, "http://proxy.internal/kyc", strings.NewReader(v.Body))
			for name, value := range v.Headers {
				r.Header.Set(name, value)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			g.Code = rec.Code

			if v.Valid {
				want := got{Code: 200, Ran: true, CustomerID: v.CustomerID, Status: v.Status}
				if v.Mode == "xgateway" {
					want.Docs = v.Docs
					if want.Docs == nil {
						want.Docs = []string{}
					}
				}
				if diff := cmp.Diff(want, g); diff != "" {
					t.Errorf("handler result (-want +got):\n%s\nreason: %v", diff, reported)
				}
				return
			}
			want := got{Code: reasonStatus[v.Reason]}
			if diff := cmp.Diff(want, g); diff != "" {
				t.Errorf("handler result (-want +got):\n%s", diff)
			}
			if !isAny(reported, reasonErrors[v.Reason]...) {
				t.Errorf("reported %v, want one of %v", reported, reasonErrors[v.Reason])
			}
		})
	}
}

// TestVectorsVerify runs every vector through the verifiers' Verify, the
// check apart from HTTP that the handlers call: the same verdict, the same
// reason.
func TestVectorsVerify(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.Mode+"/"+v.Name, func(t *testing.T) {
			var err error
			var customerID, status string
			switch v.Mode {
			case "sep12":
				keys, kerr := kyccb.ParseKeys(v.SigningKey)
				if kerr != nil {
					t.Fatal(kerr)
				}
				sv, verr := kyccb.NewSEP12Verifier(keys, v.Host, kyccb.WithTolerance(time.Duration(v.ToleranceS)*time.Second))
				if verr != nil {
					t.Fatal(verr)
				}
				// Signature decides when both headers are present.
				header := v.Headers["Signature"]
				if header == "" {
					header = v.Headers["X-Stellar-Signature"]
				}
				var at time.Time
				at, err = sv.Verify(context.Background(), header, []byte(v.Body), time.Unix(v.Now, 0))
				if err == nil {
					if at.IsZero() {
						t.Error("Verify returned no signing time")
					}
					var c kyccb.Customer
					if jerr := json.Unmarshal([]byte(v.Body), &c); jerr != nil {
						t.Fatal(jerr)
					}
					customerID, status = c.ID, string(c.Status)
				}
			case "xgateway":
				xv, verr := kyccb.NewXGatewayVerifier(v.Secret)
				if verr != nil {
					t.Fatal(verr)
				}
				var cb kyccb.XGatewayCallback
				cb, err = xv.Verify([]byte(v.Body))
				if err == nil {
					if cb.KYC == nil {
						t.Fatalf("valid %s callback has no KYC value", cb.Type)
					}
					customerID, status = cb.KYC.CustomerID, string(cb.KYC.Status)
				}
			}
			switch {
			case v.Valid && err != nil:
				t.Fatalf("Verify: %v", err)
			case v.Valid:
				if customerID != v.CustomerID || status != v.Status {
					t.Errorf("verified customer %q status %q, want %q %q", customerID, status, v.CustomerID, v.Status)
				}
			case !isAny(err, reasonErrors[v.Reason]...):
				t.Errorf("Verify: %v, want one of %v", err, reasonErrors[v.Reason])
			case kyccb.HTTPStatus(err) != reasonStatus[v.Reason]:
				t.Errorf("HTTPStatus(%v) = %d, want %d", err, kyccb.HTTPStatus(err), reasonStatus[v.Reason])
			}
		})
	}
}

func isAny(err error, targets ...error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}
