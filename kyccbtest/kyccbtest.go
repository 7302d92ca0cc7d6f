// Package kyccbtest builds signed and hashed KYC callbacks for tests of
// handlers made with package kyccb: a throwaway anchor key pair
// ([NewKeyPair]), signed SEP-12 customer requests ([SEP12Request],
// [SEP12RequestAt]), signed SEP-6, SEP-24 and SEP-31 transaction requests
// ([TransactionRequest], [TransactionRequestAt]), [SignedRequest] for a body
// of your own, and hashed XGateway requests of every callback type
// ([XGatewayRequest]); [CustomerBody], [TransactionBody] and [XGatewayBody]
// give the bytes alone.
//
// The requests are made with [http.NewRequest], so they serve both
// handler.ServeHTTP with a [net/http/httptest.ResponseRecorder] and
// [http.Client.Do] against a [net/http/httptest.Server]. [TestStore] checks
// a [kyccb.Store] of your own against the contract the handlers rely on.
//
// A test of a wallet's handler:
//
//	func TestOnCustomer(t *testing.T) {
//		anchor := kyccbtest.NewKeyPair(t)
//		h := kyccb.SEP12(anchor.Address, "https://wallet.example.org/kyc", onCustomer)
//		rec := httptest.NewRecorder()
//		h.ServeHTTP(rec, kyccbtest.SEP12Request(t, anchor.Seed, "https://wallet.example.org/kyc",
//			kyccb.Customer{ID: "cust-1", Status: kyccb.StatusAccepted}))
//		if rec.Code != http.StatusOK {
//			t.Fatalf("status %d", rec.Code)
//		}
//	}
package kyccbtest

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/kyccb/kyccb"
	"github.com/kyccb/kyccb/internal/strkey"
)

// KeyPair is a throwaway anchor signing key pair.
type KeyPair struct {
	Seed    string // the secret seed, "S...", to sign with
	Address string // the public key, "G...", to configure the receiver with
}

// NewKeyPair returns a fresh random key pair.
func NewKeyPair(tb testing.TB) KeyPair {
	tb.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatalf("kyccbtest: generating a key pair: %v", err)
	}
	seed, err := strkey.Encode(strkey.VersionByteSeed, priv.Seed())
	if err != nil {
		tb.Fatalf("kyccbtest: encoding the seed: %v", err)
	}
	address, err := strkey.Encode(strkey.VersionByteAccountID, pub)
	if err != nil {
		tb.Fatalf("kyccbtest: encoding the address: %v", err)
	}
	return KeyPair{Seed: seed, Address: address}
}

// SEP12Request returns a POST of c to url, as compact JSON the way the
// Anchor Platform sends it, signed now by seed for a callback registered at
// url.
func SEP12Request(tb testing.TB, seed, url string, c kyccb.Customer) *http.Request {
	tb.Helper()
	return SignedRequest(tb, seed, url, CustomerBody(tb, c), time.Now())
}

// SEP12RequestAt is [SEP12Request] signed at time at, for tests of stale and
// future timestamps.
func SEP12RequestAt(tb testing.TB, seed, url string, c kyccb.Customer, at time.Time) *http.Request {
	tb.Helper()
	return SignedRequest(tb, seed, url, CustomerBody(tb, c), at)
}

// SignedRequest returns a POST of body, byte for byte, to url, signed at
// time at by seed as SEP-12 signs: for SEP-6, SEP-24 and SEP-31 transaction
// callbacks, which are signed the same way, and for bodies a test spells
// out.
func SignedRequest(tb testing.TB, seed, url string, body []byte, at time.Time) *http.Request {
	tb.Helper()
	sig, err := kyccb.SignSEP12(seed, url, body, at)
	if err != nil {
		tb.Fatalf("kyccbtest: signing: %v", err)
	}
	r := newPost(tb, url, body)
	r.Header.Set(kyccb.SignatureHeader, sig)
	return r
}

// CustomerBody returns c as compact JSON, as the Anchor Platform sends it.
func CustomerBody(tb testing.TB, c kyccb.Customer) []byte {
	tb.Helper()
	b, err := json.Marshal(c)
	if err != nil {
		tb.Fatalf("kyccbtest: encoding the customer: %v", err)
	}
	return b
}

// TransactionRequest returns a POST of tx to url, as the body of a SEP-6,
// SEP-24 or SEP-31 transaction callback ({"transaction": {...}}, compact
// JSON, as the Anchor Platform sends it), signed now by seed for a
// callback registered at url.
func TransactionRequest(tb testing.TB, seed, url string, tx kyccb.Transaction) *http.Request {
	tb.Helper()
	return SignedRequest(tb, seed, url, TransactionBody(tb, tx), time.Now())
}

// TransactionRequestAt is [TransactionRequest] signed at time at, for tests
// of stale and future timestamps.
func TransactionRequestAt(tb testing.TB, seed, url string, tx kyccb.Transaction, at time.Time) *http.Request {
	tb.Helper()
	return SignedRequest(tb, seed, url, TransactionBody(tb, tx), at)
}

// TransactionBody returns tx as the body of a transaction callback,
// {"transaction": {...}} in compact JSON, its times in RFC 3339 and the
// zero ones left out.
func TransactionBody(tb testing.TB, tx kyccb.Transaction) []byte {
	tb.Helper()
	b, err := json.Marshal(struct {
		Transaction kyccb.Transaction `json:"transaction"`
	}{tx})
	if err != nil {
		tb.Fatalf("kyccbtest: encoding the transaction: %v", err)
	}
	return b
}

// XGatewayPayload is one of the three XGateway callback types.
type XGatewayPayload interface {
	kyccb.XGatewayKYC | kyccb.XGatewayTransaction | kyccb.XGatewayBankAccount
}

// XGatewayRequest returns a POST to url of v, a KYC, transaction or bank
// account callback, as XGateway sends it: with its callbackType and the hash
// XGateway computes with secret.
func XGatewayRequest[T XGatewayPayload](tb testing.TB, secret, url string, v T) *http.Request {
	tb.Helper()
	return newPost(tb, url, XGatewayBody(tb, secret, v))
}

// XGatewayBody returns v as the JSON body XGateway sends, with its
// callbackType and its hash set for secret. A transaction without a
// customer is hashed with "N/A", as XGateway does.
func XGatewayBody[T XGatewayPayload](tb testing.TB, secret string, v T) []byte {
	tb.Helper()
	var b []byte
	var err error
	switch v := any(v).(type) {
	case kyccb.XGatewayKYC:
		v.CallbackType = kyccb.XGatewayTypeKYC
		v.Hash = kyccb.XGatewayHash(secret, v.CustomerID)
		b, err = json.Marshal(v)
	case kyccb.XGatewayTransaction:
		v.CallbackType = kyccb.XGatewayTypeTransaction
		customer := v.CustomerID
		if customer == "" {
			customer = "N/A"
		}
		v.Hash = kyccb.XGatewayHash(secret, v.ID, customer, v.Amount, v.Currency)
		b, err = json.Marshal(v)
	case kyccb.XGatewayBankAccount:
		v.CallbackType = kyccb.XGatewayTypeBankAccount
		v.Hash = kyccb.XGatewayHash(secret, v.CustomerID, v.Currency)
		b, err = json.Marshal(v)
	}
	if err != nil {
		tb.Fatalf("kyccbtest: encoding the callback: %v", err)
	}
	return b
}

func newPost(tb testing.TB, url string, body []byte) *http.Request {
	tb.Helper()
	r, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		tb.Fatalf("kyccbtest: %v", err)
	}
	r.Header.Set("Content-Type", "application/json; charset=utf-8")
	return r
}
