package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/kyccb/kyccb"
	"github.com/kyccb/kyccb/internal/localanchor"
	"github.com/stellar/go-stellar-sdk/keypair"
)

const anchorUsage = `
Usage: kyccb anchor [--addr 127.0.0.1:8000] [--seed S...] [--statuses S1,S2,...] [--every 2s]
                    [--web-auth-domain HOST] [--duplicate N] [--delay D] [--coalesce] [--json]

Runs a Stellar anchor on a loopback address, for tests: a SEP-10 web auth
server, a SEP-12 KYC server and a SEP-6 transfer server that send signed
callbacks as the Stellar Anchor Platform does, so that a wallet's whole KYC
flow (stellar.toml, SEP-10 sign-in, callback registration, verified
callbacks, a SEP-6 deposit waiting for KYC) runs on one machine. There is no
Horizon: any account can sign in, existing or not, muxed (M...) ones too.

Its home domain is the address it listens on, such as 127.0.0.1:8000. It
serves plain http, so its stellar.toml and every URL in it are http://, not
https: wallets accept that from a loopback host only, which is why --addr
must be one (127.0.0.1, [::1] or localhost). It sends callbacks to loopback
hosts only. At start it prints the kyccb listen and kyccb register lines
that work against it, with the seed of a fresh account to sign in as.

Against DNS rebinding, every endpoint answers only requests whose Host
header is its own loopback address (127.0.0.1:PORT, localhost:PORT): any
other Host gets 421 before anything is done, so a web page whose name was
rebound to 127.0.0.1 gets no challenge, no JWT, and registers nothing.
SEP-10's endpoints send Access-Control-Allow-Origin: * and answer the
OPTIONS preflight, as SEP-10 requires; the endpoints that take a JWT answer
no preflight, so that a page of another origin cannot use one there (a
deliberate choice: the anchor runs on a developer's machine).

SEP-10: a challenge is valid 5 minutes and gives one JWT (valid 1 hour),
never two. Its web_auth_domain is --web-auth-domain, by default the address
with its port, as the Anchor Platform and kyccb's own client expect. The
official TypeScript wallet SDK (@stellar/typescript-wallet-sdk) compares it
with the endpoint's host without the port: run it with
--web-auth-domain 127.0.0.1.

SEP-12: the JWT names the customer: its account, muxed account, or account
and memo. An account or memo parameter that differs from the JWT's is
refused (403); with a memo-less JWT, a memo parameter names a customer of
the shared account. PUT /customer/callback for an id the anchor does not
know is 404; without an id, an account with no customer gets a new one, so
that kyccb register alone works for a fresh account. Every reply is
application/json; provided_fields carry a description and the type SEP-9
gives the field, however it was sent.

Once a customer registers a callback URL, the anchor sets the statuses of
--statuses one by one, one every --every, and POSTs the customer (the body of
SEP-12's GET /customer) to the URL after each, signed with its SIGNING_KEY;
a delivery that gets a 5xx, a 429 or no reply is retried up to 3 times,
after waits of up to 1 s, 2 s and 4 s. The script ends at ACCEPTED or
REJECTED, as SEP-12 says; register again to run it again. A status change
that sends nothing says so on its line ("no callback: ...").

SEP-6 (TRANSFER_SERVER, the asset USDC): GET /info, /deposit, /withdraw,
/transaction and /transactions, with on_change_callback. A new transaction
waits in pending_customer_info_update, with required_customer_info_updates,
until its customer is complete (GET and PUT /customer?transaction_id=...);
the customer's status then drives the transaction's: NEEDS_INFO
pending_customer_info_update, PROCESSING pending_anchor, ACCEPTED
pending_user_transfer_start, REJECTED error. A complete customer is
reviewed for --every, then ends as the script does (ACCEPTED unless the
script ends REJECTED). Each change is POSTed to on_change_callback as
{"transaction": ...}, signed and retried as the customer callbacks are, and
before the customer's own callback.

Messy deliveries, off by default, so that a wallet can watch its dedup and
ordering at work: --duplicate N delivers every callback N more times, each
signed anew; --delay D holds each callback a random time up to D and sends
a customer's callbacks at once, so they may arrive out of order; --coalesce
sends a customer's or transaction's state as it is when the callback goes
out, so quick changes send the same latest body and PROCESSING may never be
seen, as with the Anchor Platform (use it with --delay).

Each registration, status change, transaction change, delivery attempt
(with the wallet's reply), delivery outcome and refused request is printed
as a line of text, or with --json as one JSON object per line ("kind":
start, registered, status, transaction, attempt, delivered, failed or
refused). Callback URLs are printed without their query, which may hold a
token. The seed may come from KYCCB_SEED; it is never printed. Ctrl-C or
SIGTERM stops it, with exit status 0.

Driving a customer by hand: POST /admin/customers/{id}/status with
{"status": ..., "message": ...} sets the customer's status at once, stops its
script and sends the callback, if a URL is registered; the reply has the
customer and says whether a callback goes out, or why not. The id is in the
"registered" line. It asks for no JWT, and answers loopback clients only:
  curl -sS -H 'Content-Type: application/json' \
    -d '{"status": "REJECTED", "message": "ID photo unreadable"}' \
    http://127.0.0.1:8000/admin/customers/$ID/status

Exit status: 0 stopped by Ctrl-C or SIGTERM, 1 failed, 2 usage error.

Examples:
  kyccb anchor
  kyccb anchor --addr 127.0.0.1:9000 --statuses PROCESSING,REJECTED --every 5s
  kyccb anchor --web-auth-domain 127.0.0.1      # for the TypeScript wallet SDK
  kyccb anchor --duplicate 1 --delay 3s --coalesce --every 500ms
  KYCCB_SEED="$ANCHOR_SEED" kyccb anchor --json | jq -c 'select(.kind == "attempt")'
`

// defaultStatuses is the status script of a customer unless --statuses
// says otherwise, the local anchor's own default.
const defaultStatuses = "NEEDS_INFO,PROCESSING,ACCEPTED"

func runAnchor(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("anchor", anchorUsage, stderr)
	addr := fs.String("addr", "127.0.0.1:8000", "the loopback address to listen on, the anchor's domain; port 0 picks a free one")
	seedFlag := fs.String("seed", "", "the anchor's secret seed S..., whose key signs (or KYCCB_SEED; default: a fresh key)")
	statusList := fs.String("statuses", defaultStatuses, "the statuses a customer goes through once it registers a callback URL, comma-separated")
	every := fs.Duration("every", localanchor.DefaultEvery, "the time between two statuses")
	webAuthDomain := fs.String("web-auth-domain", "", "the challenges' web_auth_domain (default: the address, host:port); the TypeScript wallet SDK needs the host alone, 127.0.0.1")
	duplicate := fs.Int("duplicate", 0, "deliver every callback this many more times, each signed anew (0 to 10)")
	delay := fs.Duration("delay", 0, "hold each callback a random time up to this, sent at once, so they may arrive out of order")
	coalesce := fs.Bool("coalesce", false, "send the state as it is when a callback goes out, not as it changed")
	asJSON := fs.Bool("json", false, "print one JSON object per event and line")
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	if err := checkLoopbackAddr(*addr); err != nil {
		return err
	}
	statuses, err := parseStatuses(*statusList)
	if err != nil {
		return err
	}
	if *every <= 0 {
		return fmt.Errorf("%w: --every must be positive", errUsage)
	}
	if *duplicate < 0 || *duplicate > 10 {
		return fmt.Errorf("%w: --duplicate must be from 0 to 10", errUsage)
	}
	if *delay < 0 {
		return fmt.Errorf("%w: --delay must not be negative", errUsage)
	}
	if d := *webAuthDomain; d != "" {
		host := d
		if h, _, err := net.SplitHostPort(d); err == nil {
			host = h
		}
		if err := checkLoopbackAddr(net.JoinHostPort(strings.Trim(host, "[]"), "0")); err != nil {
			return fmt.Errorf("%w: --web-auth-domain must be a loopback host, with or without a port, such as 127.0.0.1", errUsage)
		}
	}
	seed := secretValue(*seedFlag, "KYCCB_SEED")
	keyFrom := "fresh for this run"
	if seed != "" {
		source := "--seed"
		if *seedFlag == "" {
			source = "KYCCB_SEED"
		}
		if err := checkSeed(source, seed); err != nil {
			return err
		}
		keyFrom = "from " + source
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	// The domain is the address as listened on: with port 0 the port
	// chosen, and "localhost" as the address it resolved to, which is what
	// the printed lines must name.
	domain := ln.Addr().String()

	st := newStyle(stdout)
	lines := &jsonLines{w: stdout}
	a, err := localanchor.New(localanchor.Config{
		Addr:          domain,
		Seed:          seed,
		Statuses:      statuses,
		Every:         *every,
		WebAuthDomain: *webAuthDomain,
		Duplicates:    *duplicate,
		Delay:         *delay,
		Coalesce:      *coalesce,
		Events: func(ev localanchor.Event) {
			ev.URL = displayURL(ev.URL)
			if *asJSON {
				lines.write(ev)
				return
			}
			if ev.Kind == localanchor.EventStart {
				return // the banner says it
			}
			line := termSafe(ev.String())
			switch ev.Kind {
			case localanchor.EventDelivered:
				line = st.green(line)
			case localanchor.EventFailed:
				line = st.red(line)
			case localanchor.EventRefused:
				line = st.yellow(line)
			}
			fmt.Fprintf(stdout, "%s  %s\n", st.dim(ev.Time.Local().Format("15:04:05")), line)
		},
	})
	if err != nil {
		// Everything New checks was checked above.
		return err
	}
	account, err := keypair.Random()
	if err != nil {
		return err
	}
	listenAddr, err := freeLoopbackAddr()
	if err != nil {
		return err
	}
	writeAnchorBanner(stderr, anchorBanner{
		domain: domain, signingKey: a.SigningKey(), keyFrom: keyFrom,
		statuses: statuses, every: *every, webAuthDomain: *webAuthDomain,
		messy:      messyDeliveries(*duplicate, *delay, *coalesce),
		listenAddr: listenAddr, accountSeed: account.Seed(),
	})

	if err := a.Serve(ctx, ln); err != nil {
		return err
	}
	fmt.Fprintln(stderr, "stopped")
	return nil
}

// anchorBanner is what anchor prints at start.
type anchorBanner struct {
	domain, signingKey, keyFrom string
	statuses                    []string
	every                       time.Duration
	webAuthDomain               string // "" for the default
	messy                       string // the realism flags in effect, "" for none
	listenAddr                  string // a free loopback port for kyccb listen
	accountSeed                 string // a fresh wallet account to sign in as
}

// writeAnchorBanner prints what the anchor is and the lines that work
// against it. The command lines are printed whole, never wrapped, so that
// they can be copied; tests run them as printed.
func writeAnchorBanner(w io.Writer, b anchorBanner) {
	st := newStyle(w)
	base := "http://" + b.domain
	fmt.Fprintf(w, "%s %s (SEP-6, SEP-10 and SEP-12, for tests only)\n", st.bold("local anchor on"), termSafe(base))
	fields := []field{
		{label: "domain", value: b.domain + ", the address it listens on"},
		{label: "plain http", value: "on a loopback address the stellar.toml and every URL in it are http://, not https", paint: st.yellow},
		{label: "stellar.toml", value: base + "/.well-known/stellar.toml"},
		{label: "signing key", value: b.signingKey + " (" + b.keyFrom + ")"},
		{label: "statuses", value: strings.Join(b.statuses, ", ") + ", one every " + b.every.String() + " once a callback URL is registered"},
	}
	if b.webAuthDomain != "" {
		fields = append(fields, field{label: "web auth domain", value: b.webAuthDomain + " (--web-auth-domain)"})
	}
	if b.messy != "" {
		fields = append(fields, field{label: "deliveries", value: b.messy, paint: st.yellow})
	}
	writeFields(w, st, "  ", fields)
	command := func(args ...string) {
		for i, a := range args {
			args[i] = shellQuote(a)
		}
		fmt.Fprintf(w, "  %s\n", termSafe(strings.Join(args, " ")))
	}
	callback := "http://" + b.listenAddr + "/kyc"
	fmt.Fprintln(w, "\nReceive its callbacks, verified with the SIGNING_KEY of its stellar.toml (a port free now; any will do):")
	command("kyccb", "listen", "--anchor-domain", b.domain, "--addr", b.listenAddr)
	fmt.Fprintln(w, "\nRegister that receiver, signed in with SEP-10 as a fresh test account (it need not exist: no Horizon):")
	fmt.Fprintf(w, "  S=%s\n", termSafe(b.accountSeed))
	fmt.Fprintf(w, "  %s\n", termSafe("kyccb register --anchor-domain "+shellQuote(b.domain)+` --account-seed "$S" --url `+shellQuote(callback)))
	fmt.Fprintln(w, "\nDrive a customer by hand, with ID set to the customer id of its \"registered\" line:")
	fmt.Fprintf(w, "  %s\n", termSafe(`curl -sS -H 'Content-Type: application/json' -d '{"status": "REJECTED", "message": "ID photo unreadable"}' `+
		shellQuote(base+"/admin/customers/")+`$ID/status`))
	fmt.Fprintln(w, st.dim("\n  Ctrl-C to stop"))
}

// checkLoopbackAddr accepts host:port on a loopback host: 127.0.0.0/8,
// ::1 or localhost. The anchor serves plain http, and its admin endpoint
// asks for no JWT: it must not be reachable from elsewhere.
func checkLoopbackAddr(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%w: --addr must be host:port, such as 127.0.0.1:8000", errUsage)
	}
	ip := net.ParseIP(host)
	if !strings.EqualFold(host, "localhost") && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("%w: --addr must be on a loopback host (127.0.0.1, [::1] or localhost): the anchor serves plain http, for tests only", errUsage)
	}
	return nil
}

// parseStatuses reads --statuses: SEP-12 statuses, comma-separated, none
// after ACCEPTED or REJECTED, where the script ends.
func parseStatuses(list string) ([]string, error) {
	var out []string
	for s := range strings.SplitSeq(list, ",") {
		s = strings.TrimSpace(s)
		switch kyccb.Status(s) {
		case kyccb.StatusNeedsInfo, kyccb.StatusProcessing, kyccb.StatusAccepted, kyccb.StatusRejected:
		default:
			return nil, fmt.Errorf("%w: --statuses: %q is not NEEDS_INFO, PROCESSING, ACCEPTED or REJECTED", errUsage, s)
		}
		if n := len(out); n > 0 && (out[n-1] == string(kyccb.StatusAccepted) || out[n-1] == string(kyccb.StatusRejected)) {
			return nil, fmt.Errorf("%w: --statuses: %s follows %s, where the callbacks end", errUsage, s, out[n-1])
		}
		out = append(out, s)
	}
	return out, nil
}

// freeLoopbackAddr returns a loopback address with a port free now, for
// the kyccb listen line: a fixed one (listen's 8080) may be taken, and a
// printed line that fails is worse than an unfamiliar port.
func freeLoopbackAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("finding a free port for the listen line: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// shellQuote returns s as one word of a POSIX shell: as it is when it has
// only characters no shell treats specially, else in single quotes. An
// IPv6 address's brackets are a glob pattern, for one.
func shellQuote(s string) string {
	safe := s != ""
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=,@%+", r)) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// messyDeliveries describes the realism flags in effect for the banner, or
// returns "" when none is.
func messyDeliveries(duplicate int, delay time.Duration, coalesce bool) string {
	var parts []string
	if duplicate > 0 {
		parts = append(parts, fmt.Sprintf("each delivered %d extra times", duplicate))
	}
	if delay > 0 {
		parts = append(parts, "held up to "+delay.String()+", out of order")
	}
	if coalesce {
		parts = append(parts, "coalesced: the state when sent")
	}
	return strings.Join(parts, "; ")
}
