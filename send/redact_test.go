package send_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/kyccb/kyccb/kyccbtest"
	"github.com/kyccb/kyccb/send"
	"github.com/stellar/go-stellar-sdk/strkey"
)

// holder is a user's struct that keeps a sender and a signer, in every way
// it could: fmt calls String only on exported fields, and prints the
// unexported ones field by field.
type holder struct {
	Sender   *send.Sender
	sender   *send.Sender
	SenderV  send.Sender
	senderV  send.Sender
	Signer   *send.Signer
	signer   *send.Signer
	SignerV  send.Signer
	signerV  send.Signer
	Name     string
	Attempts int
}

// TestNoSecretInOutput prints and logs senders and signers every way a
// program might, and checks that no spelling of the seed or the secret
// comes out, and that the top-level forms say what the value is.
func TestNoSecretInOutput(t *testing.T) {
	anchor := kyccbtest.NewKeyPair(t)
	const secret = "merchant-secret-7f3a9c"
	sep12, err := send.NewSEP12(anchor.Seed)
	if err != nil {
		t.Fatal(err)
	}
	xgw, err := send.NewXGateway(secret)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := send.NewSigner(anchor.Seed)
	if err != nil {
		t.Fatal(err)
	}

	// Every spelling of the secrets that fmt's verbs produce.
	raw := strkey.MustDecode(strkey.VersionByteSeed, anchor.Seed)
	forbidden := []string{
		anchor.Seed, secret,
		hex.EncodeToString(raw[:8]),                    // %x of the key bytes
		strings.ToUpper(hex.EncodeToString(raw[:8])),   // %X
		strings.Trim(fmt.Sprint(raw[:8]), "[]"),        // %v and %d of the key bytes
		base64.StdEncoding.EncodeToString(raw[:9]),     // JSON of the key bytes
		hex.EncodeToString([]byte(secret)),             // %x of the secret
		strings.Trim(fmt.Sprint([]byte(secret)), "[]"), // %d of the secret as bytes
	}
	check := func(t *testing.T, what, out string) {
		t.Helper()
		for _, f := range forbidden {
			if strings.Contains(out, f) {
				t.Errorf("%s prints a secret (%q): %s", what, f, out)
			}
		}
	}

	for _, tc := range []struct {
		name  string
		value any    // a pointer, as the constructors return it
		deref any    // the value it points to, copied
		says  string // what fmt prints
		logs  string // what slog's handlers show
	}{
		{"a SEP-12 sender", sep12, *sep12, "send.Sender{SEP-12, signing key " + anchor.Address + "}", anchor.Address},
		{"an XGateway sender", xgw, *xgw, "send.Sender{XGateway, secret redacted}", "redacted"},
		{"a signer", signer, *signer, "send.Signer{" + anchor.Address + "}", anchor.Address},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x", "%X", "%q"} {
				got := fmt.Sprintf(verb, tc.value)
				check(t, verb, got)
				check(t, verb+" of the value", fmt.Sprintf(verb, tc.deref))
				if strings.ContainsAny(verb, "v") || verb == "%s" {
					if got != tc.says {
						t.Errorf("%s prints %s, want %s", verb, got, tc.says)
					}
				}
			}
			if got := fmt.Sprint(tc.value); got != tc.says {
				t.Errorf("fmt.Sprint prints %s, want %s", got, tc.says)
			}

			h := holder{Sender: sep12, sender: xgw, SenderV: *xgw, senderV: *sep12,
				Signer: signer, signer: signer, SignerV: *signer, signerV: *signer, Name: "n", Attempts: 3}
			for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x"} {
				check(t, verb+" of a struct holding it", fmt.Sprintf(verb, h))
				check(t, verb+" of a pointer to a struct holding it", fmt.Sprintf(verb, &h))
			}
			check(t, "fmt.Sprint of a struct holding it", fmt.Sprint(h))
			if got := fmt.Sprintf("%v", struct{ S any }{tc.value}); !strings.Contains(got, tc.says) {
				t.Errorf("a struct holding it prints %s, want it to show %s", got, tc.says)
			}

			for _, handler := range []struct {
				name string
				new  func(*bytes.Buffer) slog.Handler
			}{
				{"text", func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) }},
				{"JSON", func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) }},
			} {
				var buf bytes.Buffer
				log := slog.New(handler.new(&buf))
				log.Info("delivering", "x", tc.value)
				log.Info("delivering", slog.Any("value", tc.deref), slog.Group("g", "x", tc.value))
				log.Info("delivering", "holder", h, "pointer", &h)
				check(t, "slog's "+handler.name+" handler", buf.String())
				// The first record logs the value alone: it must say what it is.
				first, _, _ := strings.Cut(buf.String(), "\n")
				if !strings.Contains(first, tc.logs) {
					t.Errorf("slog's %s handler logs %s, want it to show %s", handler.name, first, tc.logs)
				}
			}
		})
	}
}
