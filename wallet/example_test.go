package wallet_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/kyccb/kyccb"
	"github.com/kyccb/kyccb/send"
	"github.com/kyccb/kyccb/wallet"
)

// The anchor's signing key pair (the Anchor Platform's test pair). In
// production only the anchor has the seed.
const (
	anchorSeed       = "SAX3AH622R2XT6DXWWSRIDCMMUCCMATBZ5U6XKJWDO7M2EJUBFC3AW5X"
	anchorSigningKey = "GCHLHDBOKG2JWMJQBTLSL5XG6NO7ESXI2TAQKZXCXWXB5WI2X6W233PR"
)

// localAnchor serves toml as the stellar.toml of a local anchor and
// returns its domain, a loopback host:port.
func localAnchor(toml string) (domain string, stop func()) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, toml)
	}))
	return srv.Listener.Addr().String(), srv.Close
}

// A wallet registers its callback URL with an anchor's KYC server. In real
// use the server comes from [wallet.KYCServer] and the JWT from SEP-10.
func ExampleRegisterCallback() {
	// A stand-in for the anchor's KYC server, on loopback.
	anchor := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer good.jwt" {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error": "invalid JWT"}`)
			return
		}
		var reg wallet.CallbackRegistration
		json.NewDecoder(r.Body).Decode(&reg)
		fmt.Println("anchor got:", r.Method, r.URL.Path, reg.URL, reg.ID)
	}))
	defer anchor.Close()

	reg := wallet.CallbackRegistration{URL: "https://wallet.example.org/kyc", ID: "cust-1"}
	if err := wallet.RegisterCallback(context.Background(), anchor.URL, "good.jwt", reg); err != nil {
		log.Fatal(err)
	}
	fmt.Println("registered")

	err := wallet.RegisterCallback(context.Background(), anchor.URL, "expired.jwt", reg)
	var ae *wallet.AnchorError
	if errors.As(err, &ae) {
		fmt.Println(ae.StatusCode, ae.Message)
	}
	// Output:
	// anchor got: PUT /customer/callback https://wallet.example.org/kyc cust-1
	// registered
	// 401 invalid JWT
}

// What a SEP-10 client needs from an anchor's stellar.toml. The anchor
// here is a local one, on a loopback host:port, served over plain http.
func ExampleStellarTOML() {
	domain, stop := localAnchor(`
NETWORK_PASSPHRASE = "Test SDF Network ; September 2015"
SIGNING_KEY = "` + anchorSigningKey + `"
WEB_AUTH_ENDPOINT = "https://anchor.example.com/auth"
KYC_SERVER = "https://anchor.example.com/kyc"
`)
	defer stop()

	t, err := wallet.StellarTOML(context.Background(), domain)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(t.WebAuthEndpoint)
	fmt.Println(t.NetworkPassphrase)
	fmt.Println(t.SigningKey)
	// Output:
	// https://anchor.example.com/auth
	// Test SDF Network ; September 2015
	// GCHLHDBOKG2JWMJQBTLSL5XG6NO7ESXI2TAQKZXCXWXB5WI2X6W233PR
}

// A wallet verifies callbacks with the SIGNING_KEY its anchor publishes,
// fetched on the first callback.
func ExampleNewTOMLKeys() {
	domain, stop := localAnchor(`SIGNING_KEY = "` + anchorSigningKey + `"`)
	defer stop()

	keys, err := wallet.NewTOMLKeys(domain)
	if err != nil {
		log.Fatal(err)
	}
	v, err := kyccb.NewSEP12Verifier(keys, "https://wallet.example.org/kyc")
	if err != nil {
		log.Fatal(err)
	}
	h := v.Handler(func(_ context.Context, c kyccb.Customer) error {
		fmt.Println("customer", c.ID, "is now", c.Status)
		return nil
	})

	// What the anchor sends to https://wallet.example.org/kyc.
	signer, err := send.NewSigner(anchorSeed)
	if err != nil {
		log.Fatal(err)
	}
	body := `{"id":"c-1","status":"ACCEPTED"}`
	sig, err := signer.Sign("wallet.example.org", []byte(body), time.Now())
	if err != nil {
		log.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodPost, "/kyc", strings.NewReader(body))
	r.Header.Set(kyccb.SignatureHeader, sig)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	fmt.Println("reply", rec.Code)
	// Output:
	// customer c-1 is now ACCEPTED
	// reply 200
}
