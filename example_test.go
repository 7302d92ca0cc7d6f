package kyccb_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
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

// SEP-6, SEP-24 and SEP-31 transaction callbacks, typed. The anchor sends
// the body of its GET /transaction response; updated_at orders two
// callbacks about one transaction (see WithDedup).
func ExampleTransactions() {
	onTransaction := func(ctx context.Context, tx kyccb.Transaction) error {
		fmt.Println(tx.Kind, tx.ID, "is", tx.Status, "since", tx.UpdatedAt.Format(time.RFC3339))
		if tx.Status == kyccb.TransactionPendingCustomerInfoUpdate {
			fmt.Println("the anchor needs", tx.RequiredCustomerInfoUpdates)
		}
		return nil
	}
	h := kyccb.Transactions(anchorSigningKey, "wallet.example.org", onTransaction)

	body := `{"transaction":{"id":"tx-1","kind":"deposit","status":"pending_customer_info_update",` +
		`"updated_at":"2026-12-02T10:01:00.250Z","required_customer_info_updates":["id_number"]}}`
	sig, _ := kyccb.SignSEP12(anchorSeed, "wallet.example.org", []byte(body), time.Now())
	r := httptest.NewRequest(http.MethodPost, "/callbacks/tx", strings.NewReader(body))
	r.Header.Set("Signature", sig)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	fmt.Println("reply", rec.Code)

	// A customer callback, however genuine, is not a transaction.
	body = `{"id":"c-1","status":"ACCEPTED"}`
	sig, _ = kyccb.SignSEP12(anchorSeed, "wallet.example.org", []byte(body), time.Now())
	r = httptest.NewRequest(http.MethodPost, "/callbacks/tx", strings.NewReader(body))
	r.Header.Set("Signature", sig)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	fmt.Println("reply", rec.Code)
	// Output:
	// deposit tx-1 is pending_customer_info_update since 2026-12-02T10:01:00Z
	// the anchor needs [id_number]
	// reply 200
	// reply 400
}

// One callback URL for customers and transactions, as a wallet registers
// it with the Anchor Platform: each kind reaches its own function.
func ExampleSEP12Verifier_CombinedHandler() {
	keys, err := kyccb.ParseKeys(anchorSigningKey)
	if err != nil {
		log.Fatal(err)
	}
	v, err := kyccb.NewSEP12Verifier(keys, "https://wallet.example.org/callbacks")
	if err != nil {
		log.Fatal(err)
	}
	h := v.CombinedHandler(
		func(ctx context.Context, c kyccb.Customer) error {
			fmt.Println("customer", c.ID, c.Status)
			return nil
		},
		func(ctx context.Context, tx kyccb.Transaction) error {
			fmt.Println("transaction", tx.ID, tx.Status)
			return nil
		})

	for _, body := range []string{
		`{"id":"c-1","status":"PROCESSING"}`,
		`{"transaction":{"id":"tx-1","kind":"withdrawal","status":"pending_anchor"}}`,
	} {
		sig, _ := kyccb.SignSEP12(anchorSeed, "wallet.example.org", []byte(body), time.Now())
		r := httptest.NewRequest(http.MethodPost, "/callbacks", strings.NewReader(body))
		r.Header.Set("Signature", sig)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		fmt.Println("reply", rec.Code)
	}
	// Output:
	// customer c-1 PROCESSING
	// reply 200
	// transaction tx-1 pending_anchor
	// reply 200
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
// SEP-12 ones; the middleware authenticates them and leaves the body to you
// (kyccb.Transactions decodes them).
func ExampleSEP12Verifier_Middleware() {
	onTransaction := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Printf("verified: %s\n", b)
	})
	keys, err := kyccb.ParseKeys(anchorSigningKey)
	if err != nil {
		log.Fatal(err)
	}
	v, err := kyccb.NewSEP12Verifier(keys, "https://wallet.example.org/callbacks/tx")
	if err != nil {
		log.Fatal(err)
	}
	h := v.Middleware(onTransaction)

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
	ctx := context.Background()
	body := []byte(`{"id":"cust-1","status":"ACCEPTED"}`)
	header, _ := kyccb.SignSEP12(anchorSeed, "localhost:8092", body, now)
	at, err := v.Verify(ctx, header, body, now)
	fmt.Println(at.Unix(), err)

	_, err = v.Verify(ctx, header, []byte(`{"id":"cust-1","status":"REJECTED"}`), now)
	fmt.Println(errors.Is(err, kyccb.ErrBadSignature))

	// The Anchor Platform's known answer signs "1700000000.localhost:8092.test_payload":
	// a valid signature, but "test_payload" is no SEP-12 body.
	header = "t=1700000000, s=zhS27io5UVNMVbz6ibyVg2bznNWdE8i7euf0z+Pmruun7OFRoWDufyVsJ+pv+bg/5oskWqiab942VB6SucUaCQ=="
	_, err = v.Verify(ctx, header, []byte("test_payload"), now)
	fmt.Println(err)
	// Output:
	// 1700000000 <nil>
	// true
	// kyccb: malformed body: not a JSON object
}
