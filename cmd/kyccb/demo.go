package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/kyccb/kyccb"
	"github.com/stellar/go-stellar-sdk/keypair"
)

const demoUsage = `
Usage: kyccb demo

Starts the receiver of kyccb listen on a loopback port (SEP-12 at /kyc,
with an in-memory dedup store; XGateway at /xgateway), acts as a Stellar
anchor with a fresh key pair and as XGateway with a fresh secret through
the sender of kyccb send, delivers genuine, forged, changed and stale
callbacks (customer callbacks, SEP-24 transaction callbacks and
XGateway's), a signed request sent twice and a delayed older transaction
status, and prints what the receiver decided and why, each line starting
"ok" when the verdict is the one expected. A replay and an older status
are answered 200 without being processed. Needs no configuration and
takes no flags.

Exit status: 0 every verdict as expected, 1 otherwise.

Examples:
  kyccb demo
  NO_COLOR=1 kyccb demo > demo.txt
`

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("demo", demoUsage, stderr)
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	anchor, err := keypair.Random()
	if err != nil {
		return err
	}
	impostor, err := keypair.Random()
	if err != nil {
		return err
	}
	secret := randomSecret()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()
	rec := &reports{}
	keys, err := kyccb.ParseKeys(anchor.Address())
	if err != nil {
		return err
	}
	// With a dedup store, as an app that acts on transactions would run
	// kyccb (kyccb.WithDedup): it answers an older transaction status 200
	// without processing it. listen runs without one.
	sep12, err := newReceiver(receiverConfig{mode: "sep12", keys: keys, host: ln.Addr().String(), dedup: kyccb.NewMemoryStore(), onReport: rec.add})
	if err != nil {
		return err
	}
	// A second receiver configured with the host a wallet registered, while
	// the anchor posts to (and signs) this loopback address.
	elsewhere, err := newReceiver(receiverConfig{mode: "sep12", keys: keys, host: "wallet.example.org", onReport: rec.add})
	if err != nil {
		return err
	}
	xgw, err := newReceiver(receiverConfig{mode: "xgateway", secret: secret, onReport: rec.add})
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/kyc", sep12)
	mux.Handle("/registered-elsewhere", elsewhere)
	mux.Handle("/relay", reindent(sep12))
	mux.Handle("/xgateway", xgw)
	srv := newServer(mux)
	go srv.Serve(ln)
	defer srv.Close()

	st := newStyle(stdout)
	writeFields(stdout, st, "", []field{
		{label: "receiver", value: base + " (SEP-12 at /kyc, XGateway at /xgateway)"},
		{label: "anchor", value: "signing key " + anchor.Address() + " (fresh for this run)"},
		{label: "XGateway", value: "merchant secret: fresh, 32 random bytes"},
	})
	fmt.Fprintln(stdout)

	now := time.Now()
	customer := func(id string, status kyccb.Status) []byte {
		b, _ := json.Marshal(kyccb.Customer{ID: id, Status: status})
		return b
	}
	transaction := func(id string, status kyccb.TransactionStatus, updated time.Time) []byte {
		b, _ := json.Marshal(map[string]kyccb.Transaction{"transaction": {ID: id, Kind: kyccb.KindDeposit, Status: status,
			AmountIn: "100.00", AmountInAsset: "iso4217:USD", AmountOut: "98.50", AmountOutAsset: "iso4217:USD", UpdatedAt: updated.UTC().Truncate(time.Second)}})
		return b
	}
	kyc := func(id string, status kyccb.XGatewayStatus, docs []string) []byte {
		b, _ := json.Marshal(kyccb.XGatewayKYC{CallbackType: kyccb.XGatewayTypeKYC, CustomerID: id, Status: status, DocsMissing: docs})
		return b
	}
	sep12With := func(seed string, at time.Time) sendConfig {
		return sendConfig{mode: "sep12", seed: seed, attempts: 1, now: func() time.Time { return at }}
	}
	xgwWith := func(secret string) sendConfig { return sendConfig{mode: "xgateway", secret: secret, attempts: 1} }
	// Only genuine callbacks reach the dedup store; each forged or changed
	// one is turned away before it.
	cases := []struct {
		what string
		cfg  sendConfig
		url  string
		body []byte
		want outcome
	}{
		{"SEP-12 genuine callback", sep12With(anchor.Seed(), now), base + "/kyc", customer("c-1", kyccb.StatusAccepted), processed},
		// The request above, byte for byte: the same body signed at the
		// same time gets the same signature (ed25519 is deterministic).
		{"SEP-12 captured request sent again", sep12With(anchor.Seed(), now), base + "/kyc", customer("c-1", kyccb.StatusAccepted), unprocessed},
		{"SEP-12 signed by another key", sep12With(impostor.Seed(), now), base + "/kyc", customer("c-1", kyccb.StatusAccepted), rejected},
		{"SEP-12 body re-indented by a relay", sep12With(anchor.Seed(), now), base + "/relay", customer("c-1", kyccb.StatusAccepted), rejected},
		{"SEP-12 signed 5 minutes ago", sep12With(anchor.Seed(), now.Add(-5*time.Minute)), base + "/kyc", customer("c-1", kyccb.StatusAccepted), rejected},
		{"SEP-12 receiver set for another host", sep12With(anchor.Seed(), now), base + "/registered-elsewhere", customer("c-1", kyccb.StatusAccepted), rejected},
		{"SEP-24 genuine transaction", sep12With(anchor.Seed(), now), base + "/kyc", transaction("tx-1", kyccb.TransactionCompleted, now), processed},
		// Signed now, but the status is one tx-1 had 4 minutes before it
		// completed: a delivery that was held up on the way.
		{"SEP-24 delayed older status", sep12With(anchor.Seed(), now), base + "/kyc", transaction("tx-1", kyccb.TransactionPendingAnchor, now.Add(-4*time.Minute)), unprocessed},
		{"SEP-24 transaction by another key", sep12With(impostor.Seed(), now), base + "/kyc", transaction("tx-1", kyccb.TransactionRefunded, now), rejected},
		{"SEP-24 transaction without an id", sep12With(anchor.Seed(), now), base + "/kyc", transaction("", kyccb.TransactionCompleted, now), rejected},
		{"XGateway genuine KYC callback", xgwWith(secret), base + "/xgateway", kyc("m-1", kyccb.XGatewaySoftKYCFailed, []string{"SELFIE"}), processed},
		{"XGateway hash from another secret", xgwWith("guessed-secret"), base + "/xgateway", kyc("m-1", kyccb.XGatewayFullUser, nil), rejected},
	}
	failed := 0
	for _, c := range cases {
		d, _ := deliver(ctx, c.cfg, c.url, c.body)
		if len(d.Attempts) == 0 || d.Attempts[0].Err != nil {
			return fmt.Errorf("%s: the receiver did not answer", c.what)
		}
		r := rec.last()
		mark := st.green("ok  ")
		if r == nil || outcomeOf(r) != c.want {
			mark, failed = st.red("FAIL"), failed+1
		}
		fmt.Fprintf(stdout, "%s %-38s -> %d %s\n", mark, c.what, d.StatusCode, demoVerdict(st, r, c.want))
		if r != nil && len(r.Diagnosis) > 0 {
			writeFields(stdout, st, "     ", []field{{label: "why", lines: r.Diagnosis, paint: st.yellow}})
		}
	}
	if failed > 0 {
		return fmt.Errorf("%s not as expected", plural(failed, "verdict"))
	}
	fmt.Fprintln(stdout, "\nEvery genuine callback was accepted and every forged, changed or stale one rejected;")
	fmt.Fprintln(stdout, "the request sent again and the older status were answered 200 without being processed.")
	fmt.Fprintln(stdout, st.dim("The same receiver runs with kyccb listen (without the dedup store: it answers replays,\nnot older statuses), the same sender with kyccb send."))
	return nil
}

// outcome is what a receiver did with a callback.
type outcome int

const (
	processed   outcome = iota // authenticated and processed
	rejected                   // refused with an error status
	unprocessed                // authenticated, answered 200 without being processed
)

func outcomeOf(r *report) outcome {
	switch {
	case r.accepted():
		return processed
	case r.unprocessed:
		return unprocessed
	}
	return rejected
}

// demoVerdict is a report in one line: the verdict, whether it was the
// one expected (want), then the customer or the reason.
func demoVerdict(st style, r *report, want outcome) string {
	if r == nil {
		return "(no verdict)"
	}
	got := outcomeOf(r)
	s := st.verdictWord(r.accepted())
	if got == unprocessed {
		s = st.yellow("not processed")
	}
	switch {
	case got == want:
		s += ", as expected"
	case want == processed:
		s += ", expected acceptance"
	case want == rejected:
		s += ", expected a rejection"
	default:
		s += ", expected 200 without processing"
	}
	if !r.accepted() {
		return s + " (" + termSafe(r.Reason) + ")"
	}
	what := []string{"customer " + r.CustomerID, "status " + r.Status}
	if r.TransactionID != "" {
		what[0] = "transaction " + r.TransactionID
	}
	for _, d := range r.details {
		what = append(what, d.label+" "+d.value)
	}
	return s + " (" + termSafe(strings.Join(what, ", ")) + ")"
}

// reindent is a relay that "tidies" JSON before passing it on, as some
// proxies and frameworks do: the signed bytes are gone.
func reindent(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, kyccb.DefaultMaxBodyBytes))
		if err != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		var out bytes.Buffer
		if json.Indent(&out, body, "", "  ") != nil {
			out.Reset()
			out.Write(body)
		}
		r.Body, r.ContentLength = io.NopCloser(&out), int64(out.Len())
		r.Header.Del("Content-Length")
		next.ServeHTTP(w, r)
	})
}

func randomSecret() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

// reports keeps the receivers' reports, in arrival order.
type reports struct {
	mu   sync.Mutex
	list []*report
}

func (r *reports) add(rep *report) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.list = append(r.list, rep)
}

func (r *reports) last() *report {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.list) == 0 {
		return nil
	}
	return r.list[len(r.list)-1]
}
