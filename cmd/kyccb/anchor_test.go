package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kyccb/kyccb/internal/jsinterop"
	"github.com/kyccb/kyccb/kyccbtest"
	"github.com/kyccb/kyccb/wallet"
	"github.com/kyccb/kyccb/wallet/sep10"
	"github.com/stellar/go-stellar-sdk/keypair"
)

// runningAnchor is a kyccb anchor running in-process, and what its banner
// printed.
type runningAnchor struct {
	stdout, stderr *syncBuffer
	cancel         context.CancelFunc
	done           chan int

	domain     string // 127.0.0.1:PORT
	signingKey string
	listenLine string // kyccb listen ...
	seed       string // the account seed of the S= line
	register   string // kyccb register ...
	curl       string // curl ...
}

// The banner's lines, as tests read them.
var (
	bannerDomain   = regexp.MustCompile(`(?m)^local anchor on http://(\S+) `)
	bannerKey      = regexp.MustCompile(`(?m)^  signing key +(G[A-Z2-7]{55}) `)
	bannerListen   = regexp.MustCompile(`(?m)^  (kyccb listen .*)$`)
	bannerSeed     = regexp.MustCompile(`(?m)^  S=(S[A-Z2-7]{55})$`)
	bannerRegister = regexp.MustCompile(`(?m)^  (kyccb register .*)$`)
	bannerCurl     = regexp.MustCompile(`(?m)^  (curl .*)$`)
)

// parseBanner fills a's banner fields from the anchor's standard error.
func (a *runningAnchor) parseBanner(t *testing.T, stderr string) {
	t.Helper()
	for _, f := range []struct {
		re *regexp.Regexp
		to *string
	}{{bannerDomain, &a.domain}, {bannerKey, &a.signingKey}, {bannerListen, &a.listenLine}, {bannerSeed, &a.seed}, {bannerRegister, &a.register}, {bannerCurl, &a.curl}} {
		m := f.re.FindStringSubmatch(stderr)
		if m == nil {
			t.Fatalf("the anchor's banner has no line matching %s:\n%s", f.re, stderr)
		}
		*f.to = m[1]
	}
}

// startAnchor runs "kyccb anchor --addr 127.0.0.1:0 args..." in-process
// and waits for its banner. It is stopped when the test ends, if not
// before.
func startAnchor(t *testing.T, args ...string) *runningAnchor {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	a := &runningAnchor{stdout: &syncBuffer{}, stderr: &syncBuffer{}, cancel: cancel, done: make(chan int, 1)}
	go func() {
		a.done <- run(ctx, append([]string{"anchor", "--addr", "127.0.0.1:0"}, args...), a.stdout, a.stderr)
	}()
	t.Cleanup(func() { a.stop(t) })
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(a.stderr.String(), "Ctrl-C to stop") {
		select {
		case code := <-a.done:
			t.Fatalf("anchor exited with %d before it started:\n%s", code, a.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("anchor did not start:\n%s", a.stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	a.parseBanner(t, a.stderr.String())
	return a
}

// stop cancels the anchor as Ctrl-C does and returns its exit code.
func (a *runningAnchor) stop(t *testing.T) int {
	t.Helper()
	a.cancel()
	select {
	case code := <-a.done:
		a.done <- code
		return code
	case <-time.After(10 * time.Second):
		t.Fatal("anchor did not stop within 10 s of its context ending")
		return -1
	}
}

// anchorEvent is a line of anchor --json.
type anchorEvent struct {
	Kind       string `json:"kind"`
	Customer   string `json:"customer"`
	Account    string `json:"account"`
	URL        string `json:"url"`
	Status     string `json:"status"`
	Attempt    int    `json:"attempt"`
	StatusCode int    `json:"status_code"`
	RetryIn    int64  `json:"retry_in_ns"`
	Error      string `json:"error"`
	Message    string `json:"message"`
}

// parseEvents parses anchor --json output, failing on a line that is not
// a JSON object.
func parseEvents(t *testing.T, out string) []anchorEvent {
	t.Helper()
	var evs []anchorEvent
	for line := range strings.Lines(out) {
		var ev anchorEvent
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("anchor --json printed a line that is not a JSON object: %q: %v", line, err)
		}
		evs = append(evs, ev)
	}
	return evs
}

// waitForEvent waits until the anchor printed an event for which ok holds,
// and returns the events so far.
func (a *runningAnchor) waitForEvent(t *testing.T, what string, ok func(anchorEvent) bool) []anchorEvent {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		evs := parseEvents(t, a.stdout.String())
		for _, ev := range evs {
			if ok(ev) {
				return evs
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the anchor never printed %s:\n%s", what, a.stdout.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestAnchorUsage(t *testing.T) {
	t.Setenv("KYCCB_SEED", "")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"an address on every interface", []string{"--addr", "0.0.0.0:8000"}, "kyccb anchor: usage: --addr must be on a loopback host (127.0.0.1, [::1] or localhost): the anchor serves plain http, for tests only\n"},
		{"an address without a host", []string{"--addr", ":8000"}, "--addr must be on a loopback host"},
		{"a public address", []string{"--addr", "192.0.2.1:8000"}, "--addr must be on a loopback host"},
		{"a host name that is not localhost", []string{"--addr", "anchor.example.com:8000"}, "--addr must be on a loopback host"},
		{"an address without a port", []string{"--addr", "127.0.0.1"}, "kyccb anchor: usage: --addr must be host:port, such as 127.0.0.1:8000\n"},
		{"an unknown status", []string{"--statuses", "NEEDS_INFO,APPROVED"}, `kyccb anchor: usage: --statuses: "APPROVED" is not NEEDS_INFO, PROCESSING, ACCEPTED or REJECTED` + "\n"},
		{"a status after the last", []string{"--statuses", "ACCEPTED, PROCESSING"}, "kyccb anchor: usage: --statuses: PROCESSING follows ACCEPTED, where the callbacks end\n"},
		{"no status", []string{"--statuses", ""}, `--statuses: "" is not`},
		{"no time between statuses", []string{"--every", "0s"}, "kyccb anchor: usage: --every must be positive\n"},
		{"an argument", []string{"extra"}, `kyccb anchor: usage: unexpected argument "extra"` + "\n"},
		{"too many duplicates", []string{"--duplicate", "11"}, "kyccb anchor: usage: --duplicate must be from 0 to 10\n"},
		{"a negative delay", []string{"--delay", "-1s"}, "kyccb anchor: usage: --delay must not be negative\n"},
		{"a web auth domain that is not loopback", []string{"--web-auth-domain", "anchor.example.com"}, "kyccb anchor: usage: --web-auth-domain must be a loopback host, with or without a port, such as 127.0.0.1\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// One that starts after all fails the test rather than hangs it.
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			var stdout, stderr bytes.Buffer
			code := run(ctx, append([]string{"anchor"}, tt.args...), &stdout, &stderr)
			if code != exitUsage || !strings.Contains(stderr.String(), tt.want) || stdout.Len() != 0 {
				t.Errorf("exit %d\n%s%s\nwant exit 2 and %q", code, stdout.String(), stderr.String(), tt.want)
			}
		})
	}
}

// TestAnchorHelp checks anchor -h documents the admin endpoint with a curl
// example, and the way it stops.
func TestAnchorHelp(t *testing.T) {
	code, _, help := runCmd(t, "anchor", "-h")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	flat := strings.Join(strings.Fields(help), " ")
	for _, want := range []string{
		`POST /admin/customers/{id}/status with {"status": ..., "message": ...}`,
		`curl -sS -H 'Content-Type: application/json' \ -d '{"status": "REJECTED", "message": "ID photo unreadable"}' \ http://127.0.0.1:8000/admin/customers/$ID/status`,
		"its stellar.toml and every URL in it are http://, not https",
		"Ctrl-C or SIGTERM stops it, with exit status 0",
		"-statuses string",
		"--web-auth-domain 127.0.0.1",
		"421",
	} {
		if !strings.Contains(flat, want) {
			t.Errorf("anchor -h does not say %q:\n%s", want, help)
		}
	}
}

// TestAnchorRetries registers a receiver that answers 500 twice: the
// anchor retries, reports each attempt with the reply, and delivers on the
// third.
func TestAnchorRetries(t *testing.T) {
	var mu sync.Mutex
	var signatures []string
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		signatures = append(signatures, r.Header.Get("Signature"))
		if len(signatures) <= 2 {
			http.Error(w, "busy", http.StatusInternalServerError)
		}
	}))
	defer rcv.Close()

	a := startAnchor(t, "--statuses", "ACCEPTED", "--every", "50ms", "--json")
	if code, out, errOut := runCmd(t, "register", "--anchor-domain", a.domain, "--account-seed", a.seed, "--url", rcv.URL+"/kyc"); code != exitOK {
		t.Fatalf("register exited %d\n%s%s", code, out, errOut)
	}
	evs := a.waitForEvent(t, "a delivered or failed event", func(ev anchorEvent) bool { return ev.Kind == "delivered" || ev.Kind == "failed" })
	var attempts []anchorEvent
	var delivered *anchorEvent
	for _, ev := range evs {
		switch ev.Kind {
		case "attempt":
			attempts = append(attempts, ev)
		case "delivered", "failed":
			delivered = &ev
		}
	}
	if len(attempts) != 3 {
		t.Fatalf("%d attempts, want 3:\n%s", len(attempts), a.stdout.String())
	}
	for i, want := range []int{500, 500, 200} {
		at := attempts[i]
		if at.Attempt != i+1 || at.StatusCode != want || at.Status != "ACCEPTED" || (at.RetryIn > 0) != (i < 2) {
			t.Errorf("attempt %d: %+v, want #%d got %d, with a retry after the 500s", i+1, at, i+1, want)
		}
	}
	if delivered.Kind != "delivered" || delivered.Attempt != 3 || delivered.URL != rcv.URL+"/kyc" {
		t.Errorf("outcome %+v, want delivered after 3 attempts", delivered)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(signatures) != 3 || signatures[0] == "" || signatures[0] == signatures[2] {
		t.Errorf("the receiver got %d requests with signatures %q, want 3, each signed anew", len(signatures), signatures)
	}
}

// TestAnchorText checks the text output: the banner says what it is and
// never shows the seed it was given, events are escaped and URLs printed
// without their query; and Ctrl-C stops it with exit status 0.
func TestAnchorText(t *testing.T) {
	t.Setenv("KYCCB_SEED", "")
	a := startAnchor(t, "--seed", testSeed, "--every", "1h")
	banner := a.stderr.String()
	flat := strings.Join(strings.Fields(banner), " ")
	for _, want := range []string{
		"local anchor on http://" + a.domain + " (SEP-6, SEP-10 and SEP-12, for tests only)",
		"domain " + a.domain + ", the address it listens on",
		"plain http on a loopback address the stellar.toml and every URL in it are http://, not https",
		"stellar.toml http://" + a.domain + "/.well-known/stellar.toml",
		"signing key " + testAddress + " (from --seed)",
		"statuses NEEDS_INFO, PROCESSING, ACCEPTED, one every 1h0m0s once a callback URL is registered",
	} {
		if !strings.Contains(flat, want) {
			t.Errorf("the banner does not say %q:\n%s", want, banner)
		}
	}
	if strings.Contains(banner, testSeed) {
		t.Errorf("the banner shows the anchor's seed:\n%s", banner)
	}
	if !strings.HasPrefix(a.listenLine, "kyccb listen --anchor-domain "+a.domain+" --addr 127.0.0.1:") ||
		!strings.HasPrefix(a.register, "kyccb register --anchor-domain "+a.domain+` --account-seed "$S" --url http://127.0.0.1:`) {
		t.Errorf("the printed lines:\n%s\n%s", a.listenLine, a.register)
	}

	// A callback URL with a token, and a refused request whose path holds
	// an escape sequence.
	const token = "s3cret-token"
	if code, out, errOut := runCmd(t, "register", "--anchor-domain", a.domain, "--account-seed", a.seed, "--url", "http://127.0.0.1:1/kyc?token="+token); code != exitOK {
		t.Fatalf("register exited %d\n%s%s", code, out, errOut)
	}
	resp, err := http.Post("http://"+a.domain+"/admin/customers/%1b%5b2Jx/status", "application/json", strings.NewReader(`{"status": "ACCEPTED"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("an unknown customer: %d", resp.StatusCode)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(a.stdout.String(), "refused") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if code := a.stop(t); code != exitOK || !strings.HasSuffix(a.stderr.String(), "\nstopped\n") {
		t.Errorf("after Ctrl-C: exit %d\n%s", code, a.stderr.String())
	}
	out := a.stdout.String()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines of events, want 2 (registered, refused):\n%s", len(lines), out)
	}
	clock := `\d\d:\d\d:\d\d  `
	for i, want := range []string{
		`^` + clock + `registered customer [0-9a-f-]{36} \(G[A-Z2-7]{55}\): callbacks to http://127\.0\.0\.1:1/kyc\?REDACTED$`,
		`^` + clock + `refused: 404: customer not found \(POST /admin/customers/\\x1b\[2Jx/status\)$`,
	} {
		if !regexp.MustCompile(want).MatchString(lines[i]) {
			t.Errorf("event line %d:\n %q\nwant %s", i+1, lines[i], want)
		}
	}
	if strings.Contains(out, token) || strings.Contains(out, "\x1b") {
		t.Errorf("the events show the token or a raw escape:\n%q", out)
	}
}

// TestRegisterAccountSeed signs in with SEP-10 before registering, and
// checks the ways to get the credentials wrong.
func TestRegisterAccountSeed(t *testing.T) {
	for _, env := range []string{"KYCCB_JWT", "KYCCB_ACCOUNT_SEED"} {
		t.Setenv(env, "")
	}
	a := startAnchor(t, "--every", "1h", "--json")
	wallet1 := kyccbtest.NewKeyPair(t)
	const callback = "http://127.0.0.1:1/kyc"
	registrations := func() int {
		n := 0
		for _, ev := range parseEvents(t, a.stdout.String()) {
			if ev.Kind == "registered" {
				n++
			}
		}
		return n
	}
	// The events are printed from another goroutine: wait for the count.
	waitRegistrations := func(want int) int {
		deadline := time.Now().Add(5 * time.Second)
		for registrations() < want && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		return registrations()
	}

	base := []string{"register", "--anchor-domain", a.domain, "--url", callback}
	tests := []struct {
		name     string
		env      map[string]string
		args     []string
		wantExit int
		want     string // in the output, text flattened
	}{
		{"a seed signs in and registers", nil, cat(base, "--account-seed", wallet1.Seed), exitOK,
			"registered " + callback + " with http://" + a.domain + " (PUT /customer/callback) as " + wallet1.Address + " (signed in with SEP-10) next kyccb listen --anchor-domain " + a.domain + " --addr 127.0.0.1:1 --host 127.0.0.1:1"},
		{"a seed from KYCCB_ACCOUNT_SEED", map[string]string{"KYCCB_ACCOUNT_SEED": wallet1.Seed}, base, exitOK, "as " + wallet1.Address},
		{"a seed with an ID memo signs in as the account's user", nil, cat(base, "--account-seed", wallet1.Seed, "--memo", "42"), exitOK, "as " + wallet1.Address},
		{"a public key for the seed", nil, cat(base, "--account-seed", wallet1.Address), exitUsage,
			"kyccb register: usage: --account-seed: got a public key (G...), want the secret seed (S...)"},
		{"a public key for the seed, from the environment", map[string]string{"KYCCB_ACCOUNT_SEED": wallet1.Address}, base, exitUsage,
			"kyccb register: usage: KYCCB_ACCOUNT_SEED: got a public key (G...), want the secret seed (S...)"},
		{"no key at all for the seed", nil, cat(base, "--account-seed", "SABC"), exitUsage,
			"kyccb register: usage: --account-seed: not a Stellar secret seed (S...)"},
		{"both a JWT and a seed", nil, cat(base, "--jwt", "a.b.c", "--account-seed", wallet1.Seed), exitUsage,
			"kyccb register: usage: give a JWT or an account seed, not both: got --jwt and --account-seed"},
		{"a JWT in the environment and a seed", map[string]string{"KYCCB_JWT": "a.b.c"}, cat(base, "--account-seed", wallet1.Seed), exitUsage,
			"give a JWT or an account seed, not both: got KYCCB_JWT and --account-seed"},
		{"neither a JWT nor a seed", nil, base, exitUsage,
			"kyccb register: usage: --jwt (or KYCCB_JWT) or --account-seed (or KYCCB_ACCOUNT_SEED) is required"},
		{"a seed without an anchor domain", nil, []string{"register", "--kyc-server", "http://" + a.domain, "--url", callback, "--account-seed", wallet1.Seed}, exitUsage,
			"--account-seed needs --anchor-domain"},
		{"a seed with a text memo", nil, cat(base, "--account-seed", wallet1.Seed, "--memo", "alice"), exitUsage,
			"with --account-seed, --memo must be an ID memo, a decimal number"},
		{"a seed with a hash memo type", nil, cat(base, "--account-seed", wallet1.Seed, "--memo", "42", "--memo-type", "hash"), exitUsage,
			"with --account-seed, --memo must be an ID memo"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			before := registrations()
			code, out, errOut := runCmd(t, tt.args...)
			flat := strings.Join(strings.Fields(out+errOut), " ")
			if code != tt.wantExit || !strings.Contains(flat, tt.want) {
				t.Errorf("exit %d\n%s%s\nwant exit %d and %q", code, out, errOut, tt.wantExit, tt.want)
			}
			if strings.Contains(out+errOut, wallet1.Seed) || strings.Contains(out+errOut, "eyJ") {
				t.Errorf("the output shows the seed or a JWT:\n%s%s", out, errOut)
			}
			want := before
			if tt.wantExit == exitOK {
				want++
			}
			if got := waitRegistrations(want); got != want {
				t.Errorf("the anchor got %d registrations, want %d", got-before, want-before)
			}
		})
	}

	t.Run("--json names the account signed in", func(t *testing.T) {
		code, out, _ := runCmd(t, cat(base, "--account-seed", wallet1.Seed, "--json")...)
		var o registerOutcome
		if err := json.Unmarshal([]byte(out), &o); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if code != exitOK || !o.Registered || o.Account != wallet1.Address || o.KYCServer != "http://"+a.domain {
			t.Errorf("exit %d, %+v", code, o)
		}
	})

	t.Run("an anchor without a SEP-10 server", func(t *testing.T) {
		stub := newStubAnchor(t)
		stub.toml = "KYC_SERVER=\"https://anchor.example.com/kyc\"\nSIGNING_KEY=\"" + testAddress + "\"\n"
		code, out, errOut := runCmd(t, "register", "--anchor-domain", "anchor.example.com", "--account-seed", wallet1.Seed, "--url", "https://wallet.example.org/kyc")
		want := "kyccb register: signing in to anchor.example.com with SEP-10: kyccb: invalid configuration: stellar.toml has no WEB_AUTH_ENDPOINT\n"
		if code != exitRejected || errOut != want || len(stub.got) != 0 {
			t.Errorf("exit %d, %d registrations\n%s%s\nwant exit 1, none, and\n%s", code, len(stub.got), out, errOut, want)
		}
	})

	t.Run("a JWT from the loopback anchor's SEP-10 server", func(t *testing.T) {
		ctx := context.Background()
		toml, err := wallet.StellarTOML(ctx, a.domain)
		if err != nil {
			t.Fatal(err)
		}
		anchor, err := sep10.FromTOML(a.domain, toml)
		if err != nil {
			t.Fatal(err)
		}
		jwt, err := sep10.Authenticate(ctx, anchor, wallet1.Seed)
		if err != nil {
			t.Fatal(err)
		}
		code, out, errOut := runCmd(t, cat(base, "--jwt", jwt)...)
		if code != exitOK || !strings.Contains(out, "registered  "+callback) || strings.Contains(out+errOut, jwt) {
			t.Errorf("exit %d\n%s%s", code, out, errOut)
		}
	})
}

// TestAnchorDomainLoopback gives listen and register an anchor domain that
// is a loopback host:port, read over plain http, and the forms that stay
// usage errors.
func TestAnchorDomainLoopback(t *testing.T) {
	t.Setenv("KYCCB_JWT", "")
	a := startAnchor(t, "--every", "1h")

	t.Run("listen reads the key of a loopback anchor", func(t *testing.T) {
		l := startListen(t, "--anchor-domain", a.domain)
		if want := "key " + a.signingKey + " from the stellar.toml of " + a.domain + " for host "; !strings.Contains(l.stderr.String(), want) {
			t.Errorf("listen does not say %q:\n%s", want, l.stderr.String())
		}
	})
	t.Run("register finds a loopback anchor's KYC server", func(t *testing.T) {
		// The anchor refuses the JWT: found and asked all the same.
		code, out, errOut := runCmd(t, "register", "--anchor-domain", a.domain, "--jwt", "a.b.c", "--url", "http://127.0.0.1:1/kyc")
		flat := strings.Join(strings.Fields(out), " ")
		if code != exitRejected || !strings.Contains(flat, "with http://"+a.domain+" (PUT /customer/callback) anchor 401 Unauthorized") {
			t.Errorf("exit %d\n%s%s", code, out, errOut)
		}
	})

	for _, domain := range []string{
		"192.0.2.1:8080",                  // a port on a host that is not loopback
		"anchor.example.com:8443",         // nor a name other than localhost
		"http://127.0.0.1:8000",           // a URL
		"127.0.0.1:8000/",                 // a path
		"127.0.0.1",                       // an IP address without a port
		"localhost:0",                     // port 0
		"https://anchor.example.com/sep1", // a URL with a path
	} {
		for _, args := range [][]string{
			{"listen", "--anchor-domain", domain, "--addr", "127.0.0.1:0"},
			{"register", "--anchor-domain", domain, "--jwt", "a.b.c", "--url", "http://127.0.0.1:1/kyc"},
			{"register", "--anchor-domain", domain, "--account-seed", testSeed, "--url", "http://127.0.0.1:1/kyc"},
		} {
			t.Run(args[0]+" "+strings.Join(args[1:4], " "), func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				var out bytes.Buffer
				if code := run(ctx, args, &out, &out); code != exitUsage || !strings.Contains(out.String(), "anchor domain") {
					t.Errorf("exit %d, want 2 saying what an anchor domain is\n%s", code, out.String())
				}
			})
		}
	}
}

// TestAnchorWalletSDK runs the official TypeScript wallet SDK, unchanged,
// against kyccb anchor --web-auth-domain 127.0.0.1, as -h says to: sep1,
// sep10, then sep12 add, get, update, delete (see
// internal/localanchor's TestInteropWalletSDK for what each returns).
func TestAnchorWalletSDK(t *testing.T) {
	jsinterop.WalletSDKDir(t)
	a := startAnchor(t, "--json", "--web-auth-domain", "127.0.0.1")
	var r struct{ Error, Step, Delete string }
	jsinterop.RunWalletSDK(t, "walletsdk.mjs", map[string]any{"home_domain": a.domain, "account_seed": keypair.MustRandom().Seed(), "steps": []string{"sep12"}}, &r)
	if r.Error != "" || r.Delete != "deleted" {
		t.Fatalf("the wallet SDK failed at %s: %s", r.Step, r.Error)
	}
}
