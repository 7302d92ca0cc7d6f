package kyccb_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/kyccb/kyccb"
)

// The anchor's signing key pair. In production only the anchor has the seed;
// the wallet configures the public key from the anchor's stellar.toml.
const (
	anchorSeed       = "SAX3AH622R2XT6DXWWSRIDCMMUCCMATBZ5U6XKJWDO7M2EJUBFC3AW5X"
	anchorSigningKey = "GCHLHDBOKG2JWMJQBTLSL5XG6NO7ESXI2TAQKZXCXWXB5WI2X6W233PR"
)

func ExampleSEP12() {
	onCustomer := func(ctx context.Context, c kyccb.Customer) error {
		fmt.Println("customer", c.ID, "is now", c.Status)
		return nil
	}
	mux := http.NewServeMux()
	mux.Handle("/kyc", kyccb.SEP12(anchorSigningKey, "wallet.example.org", onCustomer))

	// What the anchor sends to https://wallet.example.org/kyc.
	body := `{"id":"c-1","status":"ACCEPTED"}`
	sig, _ := kyccb.SignSEP12(anchorSeed, "wallet.example.org", []byte(body), time.Now())
	r := httptest.NewRequest(http.MethodPost, "/kyc", strings.NewReader(body))
	r.Header.Set("Signature", sig)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, r)
	fmt.Println("reply", rec.Code)

	// The same body with the status changed is refused.
	r = httptest.NewRequest(http.MethodPost, "/kyc", strings.NewReader(strings.Replace(body, "ACCEPTED", "REJECTED", 1)))
	r.Header.Set("Signature", sig)
	rec = httptest.NewRecorder()
	mux.ServeHTTP(rec, r)
	fmt.Println("reply", rec.Code)
	// Output:
	// customer c-1 is now ACCEPTED
	// reply 200
	// reply 401
}

func ExampleXGateway() {
	const secret = "merchant-secret"
	onKYC := func(ctx context.Context, k kyccb.XGatewayKYC) error {
		fmt.Println(k.CustomerID, k.Status, k.DocsMissing)
		return nil
	}
	h := kyccb.XGateway(secret, onKYC)

	body := `{"callbackType":"kyc","customerId":"demo_customer_id","docsMissing":[{"docType":"SELFIE"},{"docType":"PASSPORT"}],` +
		`"hash":"` + kyccb.XGatewayHash(secret, "demo_customer_id") + `","kycRejectLabel":"BAD_SELFIE, BAD_PASSPORT",` +
		`"kycEndUserErrorMessage":null,"status":"SOFT_KYC_FAILED","kycProcessingStatus":null}`
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/xgw", strings.NewReader(body)))
	fmt.Println("reply", rec.Code)
	// Output:
	// demo_customer_id SOFT_KYC_FAILED [SELFIE PASSPORT]
	// reply 200
}

// SEP-6, SEP-24 and SEP-31 transaction callbacks are signed the same way as
// SEP-12 ones; the middleware authenticates them and leaves the body to you.
func ExampleSEP12Middleware() {
	onTransaction := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Printf("verified: %s\n", b)
	})
	h := kyccb.SEP12Middleware(anchorSigningKey, "https://wallet.example.org/callbacks/tx")(onTransaction)

	body := `{"transaction":{"id":"tx-1","status":"completed"}}`
	sig, _ := kyccb.SignSEP12(anchorSeed, "wallet.example.org", []byte(body), time.Now())
	r := httptest.NewRequest(http.MethodPost, "/callbacks/tx", strings.NewReader(body))
	r.Header.Set("Signature", sig)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	fmt.Println("reply", rec.Code)
	// Output:
	// verified: {"transaction":{"id":"tx-1","status":"completed"}}
	// reply 200
}

// Keys and hosts read from configuration are checked without a panic, and
// every rejection reaches the error hook with its reason.
func ExampleNewSEP12Verifier() {
	keys, err := kyccb.ParseKeys(anchorSigningKey)
	if err != nil {
		fmt.Println(err)
		return
	}
	now := time.Unix(1700000000, 0)
	v, err := kyccb.NewSEP12Verifier(keys, "https://wallet.example.org/kyc",
		kyccb.WithClock(func() time.Time { return now }),
		kyccb.WithErrorHook(func(_ *http.Request, err error) {
			fmt.Println("rejected:", errors.Is(err, kyccb.ErrExpired), err)
		}))
	if err != nil {
		fmt.Println(err)
		return
	}
	h := v.Handler(func(context.Context, kyccb.Customer) error { return nil })

	body := `{"id":"c-1","status":"PROCESSING"}`
	sig, _ := kyccb.SignSEP12(anchorSeed, "wallet.example.org", []byte(body), now.Add(-5*time.Minute))
	r := httptest.NewRequest(http.MethodPost, "/kyc", strings.NewReader(body))
	r.Header.Set("Signature", sig)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	fmt.Println("reply", rec.Code)

	_, err = kyccb.NewSEP12Verifier(keys, "")
	fmt.Println(err)
	// Output:
	// rejected: true kyccb: signature timestamp too old: signed 5m0s ago, tolerance 2m0s
	// reply 401
	// kyccb: invalid configuration: empty host
}

func ExampleSEP12Verifier_Verify() {
	keys, _ := kyccb.ParseKeys(anchorSigningKey)
	v, _ := kyccb.NewSEP12Verifier(keys, "localhost:8092")
	now := time.Unix(1700000000, 0)
	// The Anchor Platform's known answer for "1700000000.localhost:8092.test_payload".
	header := "t=1700000000, s=zhS27io5UVNMVbz6ibyVg2bznNWdE8i7euf0z+Pmruun7OFRoWDufyVsJ+pv+bg/5oskWqiab942VB6SucUaCQ=="
	at, err := v.Verify(context.Background(), header, []byte("test_payload"), now)
	fmt.Println(at.Unix(), err)
	_, err = v.Verify(context.Background(), header, []byte("test_payload!"), now)
	fmt.Println(errors.Is(err, kyccb.ErrBadSignature))
	// Output:
	// 1700000000 <nil>
	// true
}
