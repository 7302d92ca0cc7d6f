package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestDemo(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"demo"}, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	// Each verdict line, whole; the port and key change from run to run.
	var verdicts []string
	for line := range strings.Lines(stdout.String()) {
		if strings.HasPrefix(line, "ok ") || strings.HasPrefix(line, "FAIL ") {
			verdicts = append(verdicts, strings.TrimSuffix(line, "\n"))
		}
	}
	const port = `127\.0\.0\.1:\d+`
	want := []string{
		`ok   SEP-12 genuine callback                -> 200 accepted, as expected \(customer c-1, status ACCEPTED\)`,
		`ok   SEP-12 captured request sent again     -> 200 not processed, as expected \(kyccb: signed request already processed\)`,
		`ok   SEP-12 signed by another key           -> 401 rejected, as expected \(kyccb: signature does not verify: not signed by a trusted key for host "` + port + `", or the body was changed\)`,
		`ok   SEP-12 body re-indented by a relay     -> 401 rejected, as expected \(kyccb: signature does not verify: not signed by a trusted key for host "` + port + `", or the body was changed\)`,
		`ok   SEP-12 signed 5 minutes ago            -> 401 rejected, as expected \(kyccb: signature timestamp too old: signed 5m\ds ago, tolerance 2m0s\)`,
		`ok   SEP-12 receiver set for another host   -> 401 rejected, as expected \(kyccb: signature does not verify: valid for the request's Host header, not for the configured host "wallet\.example\.org": configure the host the callback URL was registered with\)`,
		`ok   SEP-24 genuine transaction             -> 200 accepted, as expected \(transaction tx-1, status completed, kind deposit, amounts in 100\.00 iso4217:USD, out 98\.50 iso4217:USD, updated \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\)`,
		`ok   SEP-24 delayed older status            -> 200 not processed, as expected \(kyccb: callback older than the status applied\)`,
		`ok   SEP-24 transaction by another key      -> 401 rejected, as expected \(kyccb: signature does not verify: not signed by a trusted key for host "` + port + `", or the body was changed\)`,
		`ok   SEP-24 transaction without an id       -> 400 rejected, as expected \(kyccb: malformed body: a transaction without an id\)`,
		`ok   XGateway genuine KYC callback          -> 200 accepted, as expected \(customer m-1, status SOFT_KYC_FAILED, docs missing SELFIE\)`,
		`ok   XGateway hash from another secret      -> 401 rejected, as expected \(kyccb: hash does not match: for a kyc callback \(wrong secret, or a field was changed\)\)`,
	}
	if len(verdicts) != len(want) {
		t.Fatalf("%d verdict lines, want %d:\n%s", len(verdicts), len(want), stdout.String())
	}
	for i, w := range want {
		if !regexp.MustCompile(`^` + w + `$`).MatchString(verdicts[i]) {
			t.Errorf("verdict line %d:\n got %s\nwant %s", i+1, verdicts[i], w)
		}
	}
	// The older status is the one tx-1 had 4 minutes before it completed.
	applied := regexp.MustCompile(`updated (\S+Z)\)$`).FindStringSubmatch(verdicts[6])
	delayed := regexp.MustCompile(`stale: its updated_at, (\S+Z),`).FindStringSubmatch(strings.Join(strings.Fields(stdout.String()), " "))
	if applied == nil || delayed == nil {
		t.Fatalf("no updated_at of the completed transaction or of the older status in:\n%s", stdout.String())
	}
	a, errA := time.Parse(time.RFC3339, applied[1])
	d, errD := time.Parse(time.RFC3339, delayed[1])
	if errA != nil || errD != nil || a.Sub(d) != 4*time.Minute {
		t.Errorf("the older status has updated_at %s, the completed one %s: want 4 minutes older", delayed[1], applied[1])
	}
	// The wrapping of the diagnoses is undone, so that each case reads as
	// one line: its verdict, then why.
	out := strings.Join(strings.Fields(stdout.String()), " ")
	for _, want := range []string{
		"SEP-12 captured request sent again", "why replay: this signed request was processed before, so it was answered 200 without being processed",
		"SEP-12 signed by another key", "why signed by another key",
		"SEP-12 body re-indented by a relay", "why body changed after signing: the sender signed the compact form of this JSON (re-serialized JSON",
		"SEP-12 signed 5 minutes ago", "why clock offset: signed 30", "the signature itself is valid",
		"SEP-12 receiver set for another host", `why wrong host: signed for "127.0.0.1:`,
		"SEP-24 delayed older status", "why stale: its updated_at, ", "is older than that of the status applied for this transaction", "the function was not run",
		"XGateway hash from another secret", "why the hash is not the SHA-512 of customerId.secret with this secret: it was made with another secret",
		"Every genuine callback was accepted and every forged, changed or stale one rejected; the request sent again and the older status were answered 200 without being processed.",
	} {
		i := strings.Index(out, want)
		if i < 0 {
			t.Fatalf("output lacks %q (in this order):\n%s", want, stdout.String())
		}
		out = out[i+len(want):]
	}
}

func TestUsage(t *testing.T) {
	for _, env := range []string{"KYCCB_SEED", "KYCCB_SECRET", "KYCCB_JWT", "KYCCB_ACCOUNT_SEED"} {
		t.Setenv(env, "") // the cases without a secret must find none
	}
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"no command", nil, exitUsage},
		{"an unknown command", []string{"frobnicate"}, exitUsage},
		{"help", []string{"-h"}, exitOK},
		{"demo with an argument", []string{"demo", "extra"}, exitUsage},
		{"demo -h", []string{"demo", "-h"}, exitOK},
		{"an unknown mode", []string{"listen", "--mode", "hmac", "--secret", "s"}, exitUsage},
		{"an unknown flag", []string{"send", "--frobnicate"}, exitUsage},
		{"listen in sep12 mode without a signing key", []string{"listen"}, exitUsage},
		{"listen with a seed for a signing key", []string{"listen", "--signing-key", "SAX3AH622R2XT6DXWWSRIDCMMUCCMATBZ5U6XKJWDO7M2EJUBFC3AW5X"}, exitUsage},
		{"listen in xgateway mode without a secret", []string{"listen", "--mode", "xgateway"}, exitUsage},
		{"listen forwarding to something that is no URL", []string{"listen", "--signing-key", "GCHLHDBOKG2JWMJQBTLSL5XG6NO7ESXI2TAQKZXCXWXB5WI2X6W233PR", "--addr", "127.0.0.1:0", "--forward", "localhost:3000"}, exitUsage},
		{"send without a URL", []string{"send", "--seed", "SAX3AH622R2XT6DXWWSRIDCMMUCCMATBZ5U6XKJWDO7M2EJUBFC3AW5X"}, exitUsage},
		{"send without a seed", []string{"send", "--url", "http://127.0.0.1:1/"}, exitUsage},
		{"send with a public key for a seed", []string{"send", "--seed", "GCHLHDBOKG2JWMJQBTLSL5XG6NO7ESXI2TAQKZXCXWXB5WI2X6W233PR", "--url", "http://127.0.0.1:1/"}, exitUsage},
		{"send with a relative URL", []string{"send", "--seed", "SAX3AH622R2XT6DXWWSRIDCMMUCCMATBZ5U6XKJWDO7M2EJUBFC3AW5X", "--url", "/kyc"}, exitUsage},
		{"send with both a file and a sample status", []string{"send", "--seed", "SAX3AH622R2XT6DXWWSRIDCMMUCCMATBZ5U6XKJWDO7M2EJUBFC3AW5X", "--url", "http://127.0.0.1:1/", "--file", "x.json", "--status", "ACCEPTED"}, exitUsage},
		{"verify without a body", []string{"verify", "--signing-key", "GCHLHDBOKG2JWMJQBTLSL5XG6NO7ESXI2TAQKZXCXWXB5WI2X6W233PR", "--host", "h"}, exitUsage},
		{"verify with a header that is not Name: value", []string{"verify", "--signing-key", "GCHLHDBOKG2JWMJQBTLSL5XG6NO7ESXI2TAQKZXCXWXB5WI2X6W233PR", "--host", "h", "--body-file", "testdata/customer.json", "--header", "nonsense"}, exitUsage},
		{"verify a body file without --host", []string{"verify", "--signing-key", "GCHLHDBOKG2JWMJQBTLSL5XG6NO7ESXI2TAQKZXCXWXB5WI2X6W233PR", "--body-file", "testdata/customer.json"}, exitUsage},
		{"keygen with an argument", []string{"keygen", "extra"}, exitUsage},
		{"listen -h", []string{"listen", "-h"}, exitOK},
		{"send -h", []string{"send", "-h"}, exitOK},
		{"verify -h", []string{"verify", "-h"}, exitOK},
		{"keygen -h", []string{"keygen", "-h"}, exitOK},
		{"register -h", []string{"register", "-h"}, exitOK},
		{"register without a JWT", []string{"register", "--kyc-server", "https://anchor.example.com/kyc", "--url", "https://wallet.example.org/kyc"}, exitUsage},
		{"anchor -h", []string{"anchor", "-h"}, exitOK},
		{"anchor on an address that is not loopback", []string{"anchor", "--addr", "0.0.0.0:8000"}, exitUsage},
		{"register with both a JWT and an account seed", []string{"register", "--anchor-domain", "127.0.0.1:1", "--jwt", "a.b.c", "--account-seed", "SAX3AH622R2XT6DXWWSRIDCMMUCCMATBZ5U6XKJWDO7M2EJUBFC3AW5X", "--url", "http://127.0.0.1:1/kyc"}, exitUsage},
		{"register with an anchor domain that is a non-loopback address", []string{"register", "--anchor-domain", "192.0.2.1:8080", "--jwt", "a.b.c", "--url", "https://wallet.example.org/kyc"}, exitUsage},
		{"register without a callback URL", []string{"register", "--kyc-server", "https://anchor.example.com/kyc", "--jwt", "a.b.c"}, exitUsage},
		{"listen with both a signing key and an anchor domain", []string{"listen", "--signing-key", "GCHLHDBOKG2JWMJQBTLSL5XG6NO7ESXI2TAQKZXCXWXB5WI2X6W233PR", "--anchor-domain", "anchor.example.com"}, exitUsage},
		{"listen with an anchor domain that is a non-loopback address", []string{"listen", "--anchor-domain", "192.0.2.1:8080"}, exitUsage},
		{"listen with an anchor domain that is a URL with a path", []string{"listen", "--anchor-domain", "https://anchor.example.com/.well-known/stellar.toml"}, exitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			if got := run(context.Background(), tt.args, &out, &out); got != tt.want {
				t.Fatalf("exit %d, want %d\n%s", got, tt.want, out.String())
			}
		})
	}
}
