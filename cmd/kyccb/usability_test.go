package main

// Tests for what a new user trips over: versions, signals, exit codes,
// help, key errors, JSON claims, wording, and URLs with tokens.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kyccb/kyccb/kyccbtest"
)

var built struct {
	once sync.Once
	dir  string
	bin  string
	err  error
	out  []byte
}

// buildKyccb builds the command once per test run and returns the binary.
func buildKyccb(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		if built.dir, built.err = os.MkdirTemp("", "kyccb-test-"); built.err != nil {
			return
		}
		built.bin = filepath.Join(built.dir, "kyccb")
		built.out, built.err = exec.Command("go", "build", "-o", built.bin, ".").CombinedOutput()
	})
	if built.err != nil {
		t.Fatalf("go build: %v\n%s", built.err, built.out)
	}
	return built.bin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

func TestVersion(t *testing.T) {
	goLine := "  go        go1.26.8 " + runtime.GOOS + "/" + runtime.GOARCH + "\n"
	tests := []struct {
		name string
		info *debug.BuildInfo // nil: no build information
		want string
	}{
		{"a release with its commit", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/kyccb/kyccb", Version: "v1.2.3"},
			Settings: []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: "20178e4c0ffee"}, {Key: "vcs.time", Value: "2026-11-23T10:00:00Z"}, {Key: "vcs.modified", Value: "false"}}},
			"kyccb v1.2.3\n  commit    20178e4c0ffee\n  time      2026-11-23T10:00:00Z\n  modified  false\n" + goLine},
		{"a build from a clone with changes", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/kyccb/kyccb", Version: "(devel)"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc"}, {Key: "vcs.modified", Value: "true"}}},
			"kyccb (devel)\n  commit    abc\n  modified  true\n" + goLine},
		{"a build without a version or VCS information", &debug.BuildInfo{GoVersion: "go1.26.8"},
			"kyccb (devel)\n  go  go1.26.8 " + runtime.GOOS + "/" + runtime.GOARCH + "\n"},
		{"a binary without build information", nil,
			"kyccb (unknown: built without module information)\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := readBuildInfo
			defer func() { readBuildInfo = old }()
			readBuildInfo = func() (*debug.BuildInfo, bool) { return tt.info, tt.info != nil }
			for _, args := range [][]string{{"version"}, {"--version"}, {"-version"}} {
				code, out, errOut := runCmd(t, args...)
				if code != exitOK || out != tt.want || errOut != "" {
					t.Errorf("kyccb %s: exit %d\n%s%s\nwant:\n%s", args[0], code, out, errOut, tt.want)
				}
			}
		})
	}

	t.Run("the built binary", func(t *testing.T) {
		bin := buildKyccb(t)
		out, err := exec.Command(bin, "version").Output()
		if err != nil {
			t.Fatal(err)
		}
		again, err := exec.Command(bin, "--version").Output()
		if err != nil || !bytes.Equal(out, again) {
			t.Errorf("kyccb --version printed\n%s\nkyccb version\n%s", again, out)
		}
		// What the binary says of itself must be what go version -m reads
		// from it: the module version, and the VCS settings when the build
		// recorded them (not in a git worktree, nor with -buildvcs=false).
		m, err := exec.Command("go", "version", "-m", bin).Output()
		if err != nil {
			t.Fatal(err)
		}
		want := []string{`^kyccb (\(devel\)|v\S+)\n`}
		if v := regexp.MustCompile(`(?m)^\tmod\t\S+\t(\S+)`).FindSubmatch(m); v != nil {
			want = append(want, `^kyccb `+regexp.QuoteMeta(string(v[1]))+`\n`)
		}
		for _, s := range []struct{ key, label string }{{"vcs.revision", "commit"}, {"vcs.time", "time"}, {"vcs.modified", "modified"}} {
			if v := regexp.MustCompile(`(?m)^\tbuild\t` + regexp.QuoteMeta(s.key) + `=(.+)$`).FindSubmatch(m); v != nil {
				want = append(want, `(?m)^  `+s.label+` +`+regexp.QuoteMeta(string(v[1]))+`$`)
			}
		}
		want = append(want, `(?m)^  go +`+regexp.QuoteMeta(runtime.Version()+" "+runtime.GOOS+"/"+runtime.GOARCH)+`\n\z`)
		for _, w := range want {
			if !regexp.MustCompile(w).Match(out) {
				t.Errorf("kyccb version printed\n%s\nwhich does not match %s (go version -m says:\n%s)", out, w, m)
			}
		}
		t.Logf("kyccb version:\n%s", out)
	})
}

// TestListenStopsOnSIGTERM stops the built kyccb listen as a service
// manager does: it says it stopped and exits 0, as for Ctrl-C.
func TestListenStopsOnSIGTERM(t *testing.T) {
	bin := buildKyccb(t)
	anchor := kyccbtest.NewKeyPair(t)
	cmd := exec.Command(bin, "listen", "--signing-key", anchor.Address, "--addr", "127.0.0.1:0")
	stderr := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = io.Discard, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer cmd.Process.Kill()
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(stderr.String(), "listening on") {
		if time.Now().After(deadline) {
			t.Fatalf("listen did not start:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			t.Fatal(err)
		}
		if code := cmd.ProcessState.ExitCode(); code != 0 || !strings.HasSuffix(stderr.String(), "\nstopped\n") {
			t.Errorf("after SIGTERM: %s (exit code %d), want exit 0 after \"stopped\"\n%s", cmd.ProcessState, code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("listen did not stop within 10 s of SIGTERM")
	}
}

// TestInputFileErrors checks every input file a command reads: one that
// cannot be read, or parsed where the command parses it, is a usage error
// (exit 2) that names the flag.
func TestInputFileErrors(t *testing.T) {
	t.Setenv("KYCCB_SECRET", "")
	dir := t.TempDir()
	notJSON := filepath.Join(dir, "not.json")
	if err := os.WriteFile(notJSON, []byte("status=ACCEPTED"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing")
	verify := []string{"verify", "--signing-key", testAddress, "--host", captureHost}
	send := []string{"send", "--seed", testSeed, "--url", "http://127.0.0.1:1/kyc"}
	xsend := []string{"send", "--mode", "xgateway", "--secret", "s", "--url", "http://127.0.0.1:1/kyc"}
	tests := []struct {
		name     string
		args     []string
		stdinErr bool
		want     string // in the error message
	}{
		{"verify --request-file that does not exist", cat(verify, "--request-file", missing), false, "--request-file: open " + missing + ": no such file or directory"},
		{"verify --request-file that is a directory", cat(verify, "--request-file", dir), false, "--request-file: read " + dir + ": is a directory"},
		{"verify --request-file that is no HTTP request", cat(verify, "--request-file", "testdata/customer.json"), false, "--request-file: testdata/customer.json is not a raw HTTP request"},
		{"verify --request-file - when standard input fails", cat(verify, "--request-file", "-"), true, "--request-file: reading standard input: broken pipe"},
		{"verify --body-file that does not exist", cat(verify, "--body-file", missing), false, "--body-file: open " + missing + ": no such file or directory"},
		{"verify --body-file - when standard input fails", cat(verify, "--body-file", "-"), true, "--body-file: reading standard input: broken pipe"},
		{"verify in xgateway mode with a --body-file that does not exist", []string{"verify", "--mode", "xgateway", "--secret", "s", "--body-file", missing}, false, "--body-file: open " + missing},
		{"send --file that does not exist", cat(send, "--file", missing), false, "--file: open " + missing + ": no such file or directory"},
		{"send with a body argument that does not exist", cat(send, missing), false, "the body argument: open " + missing + ": no such file or directory"},
		{"send --file - when standard input fails", cat(send, "--file", "-"), true, "--file: reading standard input: broken pipe"},
		{"send in xgateway mode with a --file that is no JSON", cat(xsend, "--file", notJSON), false, "--file: kyccb: malformed body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.stdinErr {
				stdin = errReader{}
				defer func() { stdin = os.Stdin }()
			}
			code, out, errOut := runCmd(t, tt.args...)
			if code != exitUsage || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d, want %d with %q in\n%s%s", code, exitUsage, tt.want, out, errOut)
			}
		})
	}
	t.Run("listen with an XGateway secret that has white space", func(t *testing.T) {
		code, _, errOut := runCmd(t, "listen", "--mode", "xgateway", "--secret", "s\n", "--addr", "127.0.0.1:0")
		if code != exitUsage || !strings.Contains(errOut, "XGateway secret has leading or trailing white space") {
			t.Errorf("exit %d\n%s", code, errOut)
		}
	})
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, syscall.EPIPE }

// TestHelp checks every command's -h: its examples, and no Flags section
// without flags.
func TestHelp(t *testing.T) {
	for _, c := range commands {
		t.Run(c.name, func(t *testing.T) {
			code, out, errOut := runCmd(t, c.name, "-h")
			if code != exitOK || out != "" {
				t.Fatalf("exit %d, stdout %q", code, out)
			}
			if !regexp.MustCompile(`\n\nExamples:\n  kyccb ` + c.name + `\b`).MatchString(errOut) {
				t.Errorf("kyccb %s -h has no Examples section starting with an example of it:\n%s", c.name, errOut)
			}
			if strings.HasSuffix(errOut, "Flags:\n") {
				t.Errorf("kyccb %s -h ends with an empty Flags section:\n%s", c.name, errOut)
			}
		})
	}
	_, _, listenHelp := runCmd(t, "listen", "-h")
	flat := strings.Join(strings.Fields(listenHelp), " ")
	for _, want := range []string{
		"diagnoses bodies up to 64 KiB, at most 10 at once and 5 a second", // the budget's constants
		"Content-Type, Signature, X-Stellar-Signature and User-Agent",      // forwardHeaders
		"Ctrl-C or SIGTERM stops it, with exit status 0",
	} {
		if !strings.Contains(flat, want) {
			t.Errorf("listen -h does not say %q", want)
		}
	}
	if cheapBodyBytes != 64<<10 || diagnosisBurst != 10 || diagnosesPerSecond != 5 || !slices.Equal(forwardHeaders, []string{"Content-Type", "Signature", "X-Stellar-Signature", "User-Agent"}) {
		t.Error("listen -h no longer describes the budget or the forwarded headers: update it")
	}
}

// TestKeyErrors gives keys with white space and keys of the wrong kind:
// the error says which, and never repeats the key.
func TestKeyErrors(t *testing.T) {
	t.Setenv("KYCCB_SEED", "")
	tests := []struct {
		name string
		env  string // KYCCB_SEED
		args []string
		want string
	}{
		{"a signing key with a trailing new line", "", []string{"listen", "--signing-key", testAddress + "\n"},
			"kyccb listen: usage: --signing-key: signing key has leading or trailing white space\n"},
		{"a signing key with a leading space, to verify", "", []string{"verify", "--signing-key", " " + testAddress, "--host", "h", "--body-file", "testdata/customer.json"},
			"kyccb verify: usage: --signing-key: signing key has leading or trailing white space\n"},
		{"the second of two signing keys with a carriage return", "", []string{"listen", "--signing-key", testAddress + "," + testAddress + "\r"},
			"kyccb listen: usage: --signing-key (key 2): signing key has leading or trailing white space\n"},
		{"a seed for a signing key", "", []string{"listen", "--signing-key", testSeed},
			"kyccb listen: usage: --signing-key: got a secret seed (S...), want the anchor's public key (G...)\n"},
		{"no key at all for a signing key", "", []string{"verify", "--signing-key", "GABC", "--host", "h", "--body-file", "testdata/customer.json"},
			"kyccb verify: usage: --signing-key: signing key is not a Stellar public key (G...)\n"},
		{"a seed with a trailing new line", "", []string{"send", "--seed", testSeed + "\n", "--url", "http://127.0.0.1:1/"},
			"kyccb send: usage: --seed: seed has leading or trailing white space\n"},
		{"a public key for a seed", "", []string{"send", "--seed", testAddress, "--url", "http://127.0.0.1:1/"},
			"kyccb send: usage: --seed: got a public key (G...), want the secret seed (S...)\n"},
		{"a public key for a seed, from the environment", testAddress, []string{"send", "--url", "http://127.0.0.1:1/"},
			"kyccb send: usage: KYCCB_SEED: got a public key (G...), want the secret seed (S...)\n"},
		{"a seed from the environment with a new line", testSeed + "\n", []string{"send", "--url", "http://127.0.0.1:1/"},
			"kyccb send: usage: KYCCB_SEED: seed has leading or trailing white space\n"},
		{"no key at all for a seed", "", []string{"send", "--seed", "SABC", "--url", "http://127.0.0.1:1/"},
			"kyccb send: usage: --seed: not a Stellar secret seed (S...)\n"},
		{"a public key for the anchor's seed", "", []string{"anchor", "--seed", testAddress},
			"kyccb anchor: usage: --seed: got a public key (G...), want the secret seed (S...)\n"},
		{"a public key for the anchor's seed, from the environment", testAddress, []string{"anchor"},
			"kyccb anchor: usage: KYCCB_SEED: got a public key (G...), want the secret seed (S...)\n"},
		{"an anchor's seed with a trailing new line", "", []string{"anchor", "--seed", testSeed + "\n"},
			"kyccb anchor: usage: --seed: seed has leading or trailing white space\n"},
		{"a public key for the account seed of register", "", []string{"register", "--anchor-domain", "127.0.0.1:1", "--account-seed", testAddress, "--url", "http://127.0.0.1:1/kyc"},
			"kyccb register: usage: --account-seed: got a public key (G...), want the secret seed (S...)\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("KYCCB_SEED", tt.env)
			// A listen that takes the key runs until the context ends:
			// then it fails the test rather than hangs it.
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			var stdout, stderr bytes.Buffer
			args := tt.args
			if args[0] == "listen" {
				args = append(args, "--addr", "127.0.0.1:0")
			}
			code := run(ctx, args, &stdout, &stderr)
			out, errOut := stdout.String(), stderr.String()
			if code != exitUsage || errOut != tt.want {
				t.Errorf("exit %d\n%s%s\nwant exit 2 and\n%s", code, out, errOut, tt.want)
			}
			for _, secret := range []string{testSeed, testAddress, "GABC", "SABC"} {
				if strings.Contains(out+errOut, secret) {
					t.Errorf("the output repeats the key %s", secret)
				}
			}
		})
	}
	t.Run("keys separated by a comma and a space are two keys", func(t *testing.T) {
		l := startListen(t, "--signing-key", "GAGJJY4XLDZTMETK7ZX2OCZ6VJDQ3PZLQVXYS6OFN44EP5AVKBMYCJSD, "+testAddress)
		if !strings.Contains(l.stderr.String(), "  2 keys for host") {
			t.Errorf("listen says:\n%s", l.stderr.String())
		}
	})
}

// TestListenJSONClaims checks the JSON of an accepted callback is as it
// was, and a rejected one's customer and status are only under
// "unverified".
func TestListenJSONClaims(t *testing.T) {
	anchor, other := kyccbtest.NewKeyPair(t), kyccbtest.NewKeyPair(t)
	l := startListen(t, "--signing-key", anchor.Address, "--json")
	runCmd(t, "send", "--seed", anchor.Seed, "--url", l.url+"/kyc", "--id", "c-1", "--status", "ACCEPTED")
	runCmd(t, "send", "--seed", other.Seed, "--url", l.url+"/kyc", "--id", "c-2", "--status", "ACCEPTED", "--attempts", "1")
	lines := strings.Split(strings.TrimSpace(l.stdout.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2:\n%s", len(lines), l.stdout.String())
	}
	var accepted, rejected map[string]json.RawMessage
	if err := json.Unmarshal([]byte(lines[0]), &accepted); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(lines[1]), &rejected); err != nil {
		t.Fatal(err)
	}
	keys := func(m map[string]json.RawMessage) []string {
		var ks []string
		for k := range m {
			ks = append(ks, k)
		}
		slices.Sort(ks)
		return ks
	}
	if want := []string{"age_s", "customer_id", "host", "http_status", "method", "mode", "path", "payload", "reason", "signed_at", "status", "time", "verdict"}; !slices.Equal(keys(accepted), want) {
		t.Errorf("an accepted callback's JSON has the keys %q, want as before %q", keys(accepted), want)
	}
	if string(accepted["customer_id"]) != `"c-1"` || string(accepted["status"]) != `"ACCEPTED"` {
		t.Errorf("accepted: %s", lines[0])
	}
	if want := []string{"age_s", "diagnosis", "host", "http_status", "method", "mode", "path", "reason", "signed_at", "time", "unverified", "verdict"}; !slices.Equal(keys(rejected), want) {
		t.Errorf("a rejected callback's JSON has the keys %q, want %q", keys(rejected), want)
	}
	if got := string(rejected["unverified"]); got != `{"customer_id":"c-2","status":"ACCEPTED"}` {
		t.Errorf("a rejected callback's unverified claims are %s", got)
	}
}

// TestPlurals checks counts of one read as one.
func TestPlurals(t *testing.T) {
	if plural(1, "attempt") != "1 attempt" || plural(2, "attempt") != "2 attempts" || plural(0, "byte") != "0 bytes" {
		t.Error("plural")
	}
	busy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "busy", http.StatusServiceUnavailable)
	}))
	defer busy.Close()
	for _, n := range []string{"1", "2"} {
		code, out, _ := runCmd(t, "send", "--seed", testSeed, "--url", busy.URL+"/kyc", "--attempts", n)
		want := "  error       kyccb: callback not delivered: 1 attempt, the last got 503\n"
		if n == "2" {
			want = "  error       kyccb: callback not delivered: 2 attempts, the last got 503\n"
		}
		if code != exitRejected || !strings.Contains(out, want) {
			t.Errorf("--attempts %s: exit %d\n%s\nwant the line %q", n, code, out, want)
		}
	}
	// A dump with one byte after its body.
	dump, err := os.ReadFile("testdata/valid.http")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "extra.http")
	if err := os.WriteFile(file, append(bytes.TrimRight(dump, "\r\n"), 'x'), 0o600); err != nil {
		t.Fatal(err)
	}
	_, out, _ := runCmd(t, "verify", "--signing-key", testAddress, "--host", captureHost, "--at", "1700000000", "--request-file", file)
	if !strings.Contains(strings.Join(strings.Fields(out), " "), "note the dump goes on for 1 byte after the body's Content-Length of ") {
		t.Errorf("verify's note on one byte more:\n%s", out)
	}
}

// TestURLsWithoutQuery gives every command that prints a URL one with a
// token in its query: no output, text or JSON, shows the token.
func TestURLsWithoutQuery(t *testing.T) {
	const token = "s3cret-token"
	anchor := kyccbtest.NewKeyPair(t)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("token") != token {
			http.Error(w, "no token", http.StatusForbidden)
		}
	}))
	defer rcv.Close()

	t.Run("send", func(t *testing.T) {
		for _, asJSON := range []bool{false, true} {
			args := []string{"send", "--seed", anchor.Seed, "--url", rcv.URL + "/kyc?token=" + token}
			if asJSON {
				args = append(args, "--json")
			}
			code, out, errOut := runCmd(t, args...)
			if code != exitOK || strings.Contains(out+errOut, token) {
				t.Errorf("exit %d, and the token in the output:\n%s%s", code, out, errOut)
			}
			want := "delivered  SEP-12 callback POST " + rcv.URL + "/kyc?REDACTED\n"
			if asJSON {
				want = `"url":"` + rcv.URL + `/kyc?REDACTED"`
			}
			if !strings.Contains(out, want) {
				t.Errorf("the output lacks %q:\n%s", want, out)
			}
		}
	})

	t.Run("listen --forward", func(t *testing.T) {
		l := startListen(t, "--signing-key", anchor.Address, "--forward", rcv.URL+"/kyc?token="+token)
		if code, out, errOut := runCmd(t, "send", "--seed", anchor.Seed, "--url", l.url+"/kyc"); code != exitOK {
			t.Fatalf("the app did not get the token: send exited %d\n%s%s", code, out, errOut)
		}
		text := l.stderr.String() + l.stdout.String()
		if strings.Contains(text, token) || !strings.Contains(text, "verified callbacks go on to "+rcv.URL+"/kyc?REDACTED\n") ||
			!strings.Contains(text, "  forwarded  "+rcv.URL+"/kyc?REDACTED -> 200 OK\n") {
			t.Errorf("listen's output:\n%s", text)
		}
	})

	t.Run("register", func(t *testing.T) {
		newStubAnchor(t)
		for _, asJSON := range []string{"", "--json"} {
			args := []string{"register", "--kyc-server", "https://anchor.example.com/kyc?key=" + token, "--jwt", "a.b.c", "--url", "https://wallet.example.org/kyc?token=" + token}
			if asJSON != "" {
				args = append(args, asJSON)
			}
			code, out, errOut := runCmd(t, args...)
			if code != exitOK || strings.Contains(out+errOut, token) || !strings.Contains(out, "https://wallet.example.org/kyc?REDACTED") ||
				!strings.Contains(out, "https://anchor.example.com/kyc?REDACTED") {
				t.Errorf("exit %d\n%s%s", code, out, errOut)
			}
		}
	})

	for in, want := range map[string]string{
		"https://wallet.example.org/kyc":                   "https://wallet.example.org/kyc",
		"https://wallet.example.org/kyc?token=x#frag":      "https://wallet.example.org/kyc?REDACTED",
		"https://user:pass@wallet.example.org/kyc?":        "https://user:xxxxx@wallet.example.org/kyc?REDACTED",
		"wallet.example.org/kyc?token=x":                   "wallet.example.org/kyc",
		"http://127.0.0.1:8080/kyc#only-a-fragment?token=": "http://127.0.0.1:8080/kyc",
	} {
		if got := displayURL(in); got != want {
			t.Errorf("displayURL(%q) = %q, want %q", in, got, want)
		}
	}
}
