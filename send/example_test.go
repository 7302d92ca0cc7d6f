package send_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"time"

	"github.com/kyccb/kyccb"
	"github.com/kyccb/kyccb/send"
)

// The anchor's signing key pair (the Anchor Platform's test pair). In
// production only the anchor has the seed; the wallet configures the
// public key from the anchor's stellar.toml.
const (
	anchorSeed       = "SAX3AH622R2XT6DXWWSRIDCMMUCCMATBZ5U6XKJWDO7M2EJUBFC3AW5X"
	anchorSigningKey = "GCHLHDBOKG2JWMJQBTLSL5XG6NO7ESXI2TAQKZXCXWXB5WI2X6W233PR"
)

// An anchor delivers a customer's new status to the callback URL a wallet
// registered, signed with its SIGNING_KEY's seed, and retries if the
// wallet is briefly unavailable.
func ExampleNewSEP12() {
	// The wallet's side, on loopback: kyccb.SEP12 behind a server that
	// fails the first request.
	mux := http.NewServeMux()
	wallet := httptest.NewServer(mux)
	defer wallet.Close()
	callbackURL := wallet.URL + "/kyc"
	h := kyccb.SEP12(anchorSigningKey, callbackURL, func(_ context.Context, c kyccb.Customer) error {
		fmt.Println("wallet got:", c.ID, c.Status)
		return nil
	})
	var failed atomic.Bool
	mux.HandleFunc("/kyc", func(w http.ResponseWriter, r *http.Request) {
		if !failed.Swap(true) {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		h.ServeHTTP(w, r)
	})

	sender, err := send.NewSEP12(anchorSeed,
		send.WithBackoff(10*time.Millisecond, time.Second),
		send.WithAttemptHook(func(a send.Attempt) {
			fmt.Printf("attempt %d: %d, retry: %t\n", a.N, a.StatusCode, a.Delay > 0)
		}))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(sender)
	body, err := json.Marshal(kyccb.Customer{ID: "cust-1", Status: kyccb.StatusAccepted})
	if err != nil {
		log.Fatal(err)
	}
	d, err := sender.Send(context.Background(), callbackURL, body)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("delivered after", len(d.Attempts), "attempts")
	// Output:
	// send.Sender{SEP-12, signing key GCHLHDBOKG2JWMJQBTLSL5XG6NO7ESXI2TAQKZXCXWXB5WI2X6W233PR}
	// attempt 1: 503, retry: true
	// wallet got: cust-1 ACCEPTED
	// attempt 2: 200, retry: false
	// delivered after 2 attempts
}

// Signing apart from HTTP, for anchors with their own delivery code.
func ExampleSigner_Sign() {
	signer, err := send.NewSigner(anchorSeed)
	if err != nil {
		log.Fatal(err)
	}
	sig, err := signer.Sign("localhost:8092", []byte("test_payload"), time.Unix(1700000000, 0))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(signer.Address())
	fmt.Println("Signature:", sig)
	// Output:
	// GCHLHDBOKG2JWMJQBTLSL5XG6NO7ESXI2TAQKZXCXWXB5WI2X6W233PR
	// Signature: t=1700000000, s=zhS27io5UVNMVbz6ibyVg2bznNWdE8i7euf0z+Pmruun7OFRoWDufyVsJ+pv+bg/5oskWqiab942VB6SucUaCQ==
}

// A public key where the seed belongs is refused, and the error says so
// without repeating what was given.
func ExampleNewSigner() {
	_, err := send.NewSigner(anchorSigningKey)
	fmt.Println(err)
	// Output:
	// kyccb: invalid configuration: seed: got a public key (G...), want the secret seed, which starts with S
}

// XGateway callbacks for a simulation: the sender sets the hash.
func ExampleNewXGateway() {
	const secret = "merchant-secret"
	merchant := httptest.NewServer(kyccb.XGateway(secret, func(_ context.Context, k kyccb.XGatewayKYC) error {
		fmt.Println("merchant got:", k.CustomerID, k.Status)
		return nil
	}))
	defer merchant.Close()

	sender, err := send.NewXGateway(secret)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%+v\n", sender)
	d, err := sender.Send(context.Background(), merchant.URL,
		[]byte(`{"callbackType": "kyc", "customerId": "cust-1", "status": "FULL_USER"}`))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(d.StatusCode, string(d.Body))
	// Output:
	// send.Sender{XGateway, secret redacted}
	// merchant got: cust-1 FULL_USER
	// 200 {"callbackType":"kyc","customerId":"cust-1","hash":"g2s7ZJGO48aNWd9aUm3ACo5tIhwVa8wBVLHpQ8G0RlQMkyPkH4mrAPu4eR2C9iJJ9y/8m3qGKgfz5O8RYaIrYA==","status":"FULL_USER"}
}
