package localanchor

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/stellar/go-stellar-sdk/keypair"
)

// TestSecretsDoNotPrint checks that neither the anchor's seed nor its JWT
// key prints through fmt, whatever the verb, or through log/slog's
// handlers, from the Config or from the Anchor.
func TestSecretsDoNotPrint(t *testing.T) {
	seed := keypair.MustRandom().Seed()
	cfg := Config{Addr: "127.0.0.1:8000", Seed: seed}
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	secrets := []string{seed, hex.EncodeToString([]byte(seed)), strings.ToUpper(hex.EncodeToString([]byte(seed))),
		hex.EncodeToString(a.jwtKey[:]), fmt.Sprint(a.jwtKey[:]), fmt.Sprint(a.jwtKey[:4])}
	var outs []string
	for _, v := range []any{cfg, &cfg, a} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%q"} {
			outs = append(outs, fmt.Sprintf(verb, v))
		}
		var b bytes.Buffer
		slog.New(slog.NewTextHandler(&b, nil)).Info("x", "v", v)
		slog.New(slog.NewJSONHandler(&b, nil)).Info("x", "v", v)
		outs = append(outs, b.String())
	}
	for _, out := range outs {
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Errorf("printed a secret: %s", out)
			}
		}
	}
	if got := fmt.Sprintf("%+v", cfg); !strings.Contains(got, "[redacted]") || !strings.Contains(got, "127.0.0.1:8000") {
		t.Errorf("%%+v of the Config = %s, want the address and the seed redacted", got)
	}
}
