// Package kyccbtest builds signed KYC callbacks for tests of handlers made
// with package kyccb: a throwaway anchor key pair, signed SEP-12 requests
// and hashed XGateway requests.
//
// The requests are made with [http.NewRequest], so they serve both
// handler.ServeHTTP with an [httptest.ResponseRecorder] and
// [http.Client.Do] against an [httptest.Server].
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
	"github.com/stellar/go-stellar-sdk/strkey"
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

// SEP12Request returns a POST of body to url signed now by seed, as an
// anchor sends it to a callback registered at url.
func SEP12Request(tb testing.TB, seed, url string, body []byte) *http.Request {
	tb.Helper()
	return SEP12RequestAt(tb, seed, url, body, time.Now())
}

// SEP12RequestAt is [SEP12Request] signed at time at, for tests of stale and
// future timestamps.
func SEP12RequestAt(tb testing.TB, seed, url string, body []byte, at time.Time) *http.Request {
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

// XGatewayRequest returns a POST of kyc to url with callbackType "kyc" and
// the hash XGateway computes with secret.
func XGatewayRequest(tb testing.TB, secret, url string, kyc kyccb.XGatewayKYC) *http.Request {
	tb.Helper()
	return newPost(tb, url, XGatewayBody(tb, secret, kyc))
}

// XGatewayBody returns kyc as the JSON body XGateway sends, with
// callbackType "kyc" and its hash set for secret.
func XGatewayBody(tb testing.TB, secret string, kyc kyccb.XGatewayKYC) []byte {
	tb.Helper()
	kyc.CallbackType = kyccb.XGatewayTypeKYC
	kyc.Hash = kyccb.XGatewayHash(secret, kyc.CustomerID)
	b, err := json.Marshal(kyc)
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
