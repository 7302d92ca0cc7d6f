package main

import (
	"bytes"
	"crypto/sha512"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kyccb/kyccb"
)

var update = flag.Bool("update", false, "rewrite the captures in testdata")

// The captures in testdata are made here, from the Anchor Platform's test
// key pair (see PROTOCOLS.md), so that anyone can see how each was made:
// ed25519 signatures are deterministic, so the files never change unless
// this code does. go test ./cmd/kyccb -run TestCaptures -update rewrites
// them.
const (
	testSeed    = "SAX3AH622R2XT6DXWWSRIDCMMUCCMATBZ5U6XKJWDO7M2EJUBFC3AW5X"
	testAddress = "GCHLHDBOKG2JWMJQBTLSL5XG6NO7ESXI2TAQKZXCXWXB5WI2X6W233PR"
	// otherSeed is a second key pair, the "wrong" anchor.
	otherSeed   = "SCV7LMU3MRCJVOGCA64POQL7E3JLJ7C3J5TIHZO6LTVDSAN4CMYY7MTK" // GAGJJY4XLDZTMETK7ZX2OCZ6VJDQ3PZLQVXYS6OFN44EP5AVKBMYCJSD
	captureHost = "wallet.example.org"
	captureT    = 1700000000
	testSecret  = "test-merchant-secret"
	captureBody = `{"id":"c-7","status":"NEEDS_INFO","fields":{"mobile_number":{"type":"string","description":"phone number of the customer"}},"provided_fields":{"first_name":{"type":"string","status":"ACCEPTED"}}}`
)

func captureFiles(t *testing.T) map[string][]byte {
	t.Helper()
	at := time.Unix(captureT, 0)
	sign := func(seed, host string, body []byte) string {
		sig, err := kyccb.SignSEP12(seed, host, body, at)
		if err != nil {
			t.Fatal(err)
		}
		return sig
	}
	dump := func(eol, host, sig string, body []byte, contentLength bool) []byte {
		var b bytes.Buffer
		lines := []string{"POST /kyc HTTP/1.1", "Host: " + host, "User-Agent: anchor-platform", "Content-Type: application/json; charset=utf-8"}
		if contentLength {
			lines = append(lines, fmt.Sprintf("Content-Length: %d", len(body)))
		}
		lines = append(lines, "Signature: "+sig, "")
		for _, l := range lines {
			b.WriteString(l + eol)
		}
		b.Write(body)
		return b.Bytes()
	}
	body := []byte(captureBody)
	var indented bytes.Buffer
	if err := json.Indent(&indented, body, "", "  "); err != nil {
		t.Fatal(err)
	}
	xgw := func(hash func(string) string) []byte {
		k := kyccb.XGatewayKYC{CallbackType: "kyc", CustomerID: "m-42", Status: kyccb.XGatewaySoftKYCFailed,
			DocsMissing: []string{"SELFIE"}, KYCRejectLabel: "BAD_SELFIE"}
		k.Hash = hash(k.CustomerID)
		b, err := json.Marshal(k)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	good := sign(testSeed, captureHost, body)
	return map[string][]byte{
		// As received: valid as of captureT.
		"valid.http": dump("\r\n", captureHost, good, body, true),
		// The same request after a proxy re-indented the JSON.
		"reindented.http": dump("\r\n", captureHost, good, indented.Bytes(), true),
		// Signed for the host with :443 while the registered URL has no port.
		"port-443.http": dump("\r\n", captureHost, sign(testSeed, captureHost+":443", body), body, true),
		// Signed by another key.
		"other-key.http": dump("\r\n", captureHost, sign(otherSeed, captureHost, body), body, true),
		// Hand-written: LF line endings, no Content-Length.
		"hand-made.http": dump("\n", captureHost, good, body, false),
		// The body alone, for --body-file with --header.
		"customer.json": body,
		// The signature header value of valid.http, for --header.
		"customer.sig":      []byte(good + "\n"),
		"xgateway-kyc.json": xgw(func(id string) string { return kyccb.XGatewayHash(testSecret, id) }),
		"xgateway-hex.json": xgw(func(id string) string {
			return fmt.Sprintf("%x", sha512.Sum512([]byte(id+"."+testSecret)))
		}),
		"xgateway-other-secret.json": xgw(func(id string) string { return kyccb.XGatewayHash("another-secret", id) }),
	}
}

// TestCaptures checks that testdata holds what captureFiles makes.
func TestCaptures(t *testing.T) {
	for name, want := range captureFiles(t) {
		path := filepath.Join("testdata", name)
		if *update {
			if err := os.MkdirAll("testdata", 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test ./cmd/kyccb -run TestCaptures -update)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("testdata/%s differs from what captureFiles makes (run with -update if the change is meant)", name)
		}
	}
}
