package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kyccb/kyccb/kyccbtest"
)

// stubAnchor is an anchor's KYC server and stellar.toml on loopback, over
// TLS; anchorClient reaches it whatever the host name asked for.
type stubAnchor struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []registration
	// reply answers PUT /customer/callback: a status and a body.
	reply func(r registration) (int, string)
	toml  string
}

type registration struct {
	auth, contentType string
	body              map[string]string
}

func newStubAnchor(t *testing.T) *stubAnchor {
	t.Helper()
	a := &stubAnchor{reply: func(registration) (int, string) { return 200, "{}" }}
	a.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/.well-known/stellar.toml":
			io.WriteString(w, a.toml)
		case r.Method == http.MethodPut && r.URL.Path == "/kyc/customer/callback":
			var reg registration
			reg.auth, reg.contentType = r.Header.Get("Authorization"), r.Header.Get("Content-Type")
			if err := json.NewDecoder(r.Body).Decode(&reg.body); err != nil {
				http.Error(w, `{"error": "bad json"}`, http.StatusBadRequest)
				return
			}
			a.mu.Lock()
			a.got = append(a.got, reg)
			a.mu.Unlock()
			code, body := a.reply(reg)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(code)
			io.WriteString(w, body)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(a.srv.Close)
	// Every host name leads to the stub; its certificate is trusted and
	// valid for example.com and its subdomains.
	client := a.srv.Client()
	tr := client.Transport.(*http.Transport).Clone()
	addr := a.srv.Listener.Addr().String()
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
	tr.TLSClientConfig = &tls.Config{RootCAs: tr.TLSClientConfig.RootCAs}
	old := anchorClient
	anchorClient = &http.Client{Transport: tr}
	t.Cleanup(func() { anchorClient = old })
	return a
}

func TestRegister(t *testing.T) {
	a := newStubAnchor(t)
	a.toml = "KYC_SERVER=\"https://anchor.example.com/kyc\"\nSIGNING_KEY=\"" + testAddress + "\"\n"
	a.reply = func(r registration) (int, string) {
		switch {
		case r.auth != "Bearer good.jwt.token":
			return 401, `{"error": "JWT expired"}`
		case r.body["id"] == "nobody":
			return 404, `{"error": "customer not found"}`
		}
		return 200, `{}`
	}
	const callback = "https://wallet.example.org/kyc"
	tests := []struct {
		name       string
		args       []string
		wantExit   int
		wantOut    []string
		wantSent   map[string]string // the body the anchor got; nil when nothing was sent
		wantStatus int
	}{
		{"a registration with the KYC server is accepted", []string{"--kyc-server", "https://anchor.example.com/kyc", "--jwt", "good.jwt.token", "--url", callback, "--id", "c-1", "--memo", "42", "--memo-type", "id"},
			exitOK, []string{"registered  " + callback, "with  https://anchor.example.com/kyc (PUT /customer/callback)", "next  kyccb listen --signing-key <the anchor's SIGNING_KEY> --host wallet.example.org"},
			map[string]string{"url": callback, "id": "c-1", "memo": "42", "memo_type": "id"}, 0},
		{"the KYC server is found in the anchor's stellar.toml", []string{"--anchor-domain", "anchor.example.com", "--jwt", "good.jwt.token", "--url", callback, "--account", "GA..."},
			exitOK, []string{"registered", "with  https://anchor.example.com/kyc"},
			map[string]string{"url": callback, "account": "GA..."}, 0},
		{"an expired JWT is refused with the anchor's message and a hint", []string{"--kyc-server", "https://anchor.example.com/kyc", "--jwt", "old.jwt.token", "--url", callback},
			exitRejected, []string{"not registered  " + callback, "anchor  401 Unauthorized", `message  JWT expired`, "hint  the SEP-10 JWT is missing, expired"},
			map[string]string{"url": callback}, 401},
		{"an unknown customer is refused with the anchor's message and a hint", []string{"--kyc-server", "https://anchor.example.com/kyc", "--jwt", "good.jwt.token", "--url", callback, "--id", "nobody"},
			exitRejected, []string{"not registered", "anchor  404 Not Found", "message  customer not found", "hint  the anchor knows no such customer"},
			map[string]string{"url": callback, "id": "nobody"}, 404},
		{"a plain http callback URL is refused before any request", []string{"--kyc-server", "https://anchor.example.com/kyc", "--jwt", "good.jwt.token", "--url", "http://wallet.example.org/kyc"},
			exitUsage, nil, nil, 0},
		{"a JWT given with its Bearer prefix is refused before any request", []string{"--kyc-server", "https://anchor.example.com/kyc", "--jwt", "Bearer good.jwt.token", "--url", callback},
			exitUsage, nil, nil, 0},
		{"both a KYC server and an anchor domain are a usage error", []string{"--kyc-server", "https://anchor.example.com/kyc", "--anchor-domain", "anchor.example.com", "--jwt", "j", "--url", callback},
			exitUsage, nil, nil, 0},
		{"a memo type without a memo is a usage error", []string{"--kyc-server", "https://anchor.example.com/kyc", "--jwt", "j", "--url", callback, "--memo-type", "id"},
			exitUsage, nil, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a.mu.Lock()
			a.got = nil
			a.mu.Unlock()
			code, out, errOut := runCmd(t, append([]string{"register"}, tt.args...)...)
			if code != tt.wantExit {
				t.Fatalf("exit %d, want %d\n%s%s", code, tt.wantExit, out, errOut)
			}
			flat := strings.Join(strings.Fields(out), " ")
			for _, w := range tt.wantOut {
				if !strings.Contains(flat, strings.Join(strings.Fields(w), " ")) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			a.mu.Lock()
			got := a.got
			a.mu.Unlock()
			if tt.wantSent == nil {
				if len(got) != 0 {
					t.Errorf("the anchor got %d requests, want none", len(got))
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("the anchor got %d registrations, want 1", len(got))
			}
			if diff := cmp.Diff(tt.wantSent, got[0].body); diff != "" {
				t.Errorf("registration body (-want +got):\n%s", diff)
			}
			if !strings.HasPrefix(got[0].contentType, "application/json") {
				t.Errorf("Content-Type %q", got[0].contentType)
			}
		})
	}

	t.Run("--json gives the anchor's status and message", func(t *testing.T) {
		code, out, _ := runCmd(t, "register", "--kyc-server", "https://anchor.example.com/kyc", "--jwt", "old.jwt.token", "--url", callback, "--json")
		var o registerOutcome
		if err := json.Unmarshal([]byte(out), &o); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if code != exitRejected || o.Registered || o.HTTPStatus != 401 || o.AnchorMessage != "JWT expired" || o.KYCServer != "https://anchor.example.com/kyc" {
			t.Errorf("exit %d, %+v", code, o)
		}
	})
}

// TestListenWithAnchorDomain reads the signing key from the anchor's
// stellar.toml, and follows the anchor when it rotates its key.
func TestListenWithAnchorDomain(t *testing.T) {
	a := newStubAnchor(t)
	first, second := kyccbtest.NewKeyPair(t), kyccbtest.NewKeyPair(t)
	setKey := func(k string) {
		a.mu.Lock()
		defer a.mu.Unlock()
		a.toml = "SIGNING_KEY=\"" + k + "\"\n"
	}
	setKey(first.Address)
	l := startListen(t, "--anchor-domain", "anchor.example.com", "--refresh-interval", "100ms", "--json")
	if !strings.Contains(l.stderr.String(), "key "+first.Address+" from the stellar.toml of anchor.example.com") {
		t.Errorf("listen does not say which key it read:\n%s", l.stderr.String())
	}
	send := func(seed string) report {
		t.Helper()
		before := len(l.reports(t))
		runCmd(t, "send", "--seed", seed, "--url", l.url+"/kyc", "--id", "c-1", "--attempts", "1")
		reps := l.reports(t)
		if len(reps) != before+1 {
			t.Fatalf("listen printed %d reports for one callback", len(reps)-before)
		}
		return reps[len(reps)-1]
	}
	if r := send(first.Seed); r.Verdict != "accepted" {
		t.Errorf("a callback signed with the stellar.toml's key: %s %s", r.Verdict, r.Reason)
	}
	if r := send(second.Seed); r.Verdict != "rejected" {
		t.Errorf("a callback signed with a key the stellar.toml does not name was %s", r.Verdict)
	}
	setKey(second.Address)             // the anchor rotates its key
	time.Sleep(150 * time.Millisecond) // past the refresh interval
	if r := send(second.Seed); r.Verdict != "accepted" {
		t.Errorf("after the rotation, a callback signed with the new key: %s %s", r.Verdict, r.Reason)
	}

	t.Run("a domain pasted as an https URL is read as its host", func(t *testing.T) {
		l := startListen(t, "--anchor-domain", "https://anchor.example.com/")
		if want := "key " + second.Address + " from the stellar.toml of https://anchor.example.com/ for host"; !strings.Contains(l.stderr.String(), want) {
			t.Errorf("listen does not say %q:\n%s", want, l.stderr.String())
		}
		code, out, errOut := runCmd(t, "register", "--anchor-domain", "https://anchor.example.com", "--jwt", "good.jwt.token", "--url", "https://wallet.example.org/kyc")
		if code != exitRejected || !strings.Contains(out+errOut, "neither KYC_SERVER nor TRANSFER_SERVER") {
			t.Errorf("register read no stellar.toml: exit %d\n%s%s", code, out, errOut)
		}
	})
	t.Run("a domain pasted as an http URL is told to drop the scheme", func(t *testing.T) {
		code, _, errOut := runCmd(t, "listen", "--anchor-domain", "http://anchor.example.com", "--addr", "127.0.0.1:0")
		if code != exitUsage || !strings.Contains(errOut, "not a URL: drop the scheme") {
			t.Errorf("exit %d\n%s", code, errOut)
		}
	})

	t.Run("a domain without a stellar.toml fails at start", func(t *testing.T) {
		setKey("")
		code, _, errOut := runCmd(t, "listen", "--anchor-domain", "nowhere.example.com", "--addr", "127.0.0.1:0")
		if code != exitRejected || !strings.Contains(errOut, "reading the signing key of nowhere.example.com") {
			t.Errorf("exit %d\n%s", code, errOut)
		}
	})
}

// TestRegisterNextLineReceives registers a loopback callback URL with a
// local anchor, runs the listen line register prints as it is printed, and
// checks that the anchor's callback arrives there and is accepted.
func TestRegisterNextLineReceives(t *testing.T) {
	t.Setenv("KYCCB_JWT", "")
	t.Setenv("KYCCB_ACCOUNT_SEED", "")
	a := startAnchor(t, "--every", "200ms", "--statuses", "PROCESSING,ACCEPTED", "--json")
	// A free port that is not listen's default.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	callback := fmt.Sprintf("http://127.0.0.1:%d/kyc", port)

	code, out, errOut := runCmd(t, "register", "--anchor-domain", a.domain, "--account-seed", a.seed, "--url", callback)
	if code != exitOK {
		t.Fatalf("register: exit %d\n%s%s", code, out, errOut)
	}
	m := regexp.MustCompile(`(?m)^\s*next\s+kyccb (listen .*)$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("register printed no next line:\n%s", out)
	}
	want := fmt.Sprintf("listen --anchor-domain %s --addr 127.0.0.1:%d --host 127.0.0.1:%d", a.domain, port, port)
	if m[1] != want {
		t.Errorf("next line %q, want %q", m[1], want)
	}

	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	done := make(chan int, 1)
	go func() { done <- run(ctx, strings.Fields(m[1]), stdout, stderr) }()
	defer func() {
		cancel()
		<-done
	}()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(stdout.String(), "accepted") {
		select {
		case code := <-done:
			t.Fatalf("the printed listen line exited with %d:\n%s%s", code, stdout.String(), stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no callback accepted by the printed listen line:\n%s%s\nanchor:\n%s", stdout.String(), stderr.String(), a.stdout.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if strings.Contains(stdout.String(), "rejected") {
		t.Errorf("the printed listen line rejected a callback:\n%s", stdout.String())
	}
}

// TestListenOnEveryInterfaceNeedsHost: on 0.0.0.0 or [::], listen's own
// address is no callback URL's host, so --host is required; with it, listen
// starts.
func TestListenOnEveryInterfaceNeedsHost(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", "[::]:0", ":0"} {
		code, _, errOut := runCmd(t, "listen", "--signing-key", testAddress, "--addr", addr)
		if code != exitUsage || !strings.Contains(errOut, "--addr listens on every interface, so listen cannot tell the host callbacks are signed for: give --host") {
			t.Errorf("listen --addr %s: exit %d\n%s", addr, code, errOut)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	stderr := &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"listen", "--signing-key", testAddress, "--addr", "0.0.0.0:0", "--host", "wallet.example.org"}, io.Discard, stderr)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(stderr.String(), `for host "wallet.example.org"`) {
		select {
		case code := <-done:
			t.Fatalf("listen --addr 0.0.0.0:0 --host exited with %d:\n%s", code, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("listen did not start:\n%s", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != exitOK {
		t.Errorf("listen exited %d after Ctrl-C", code)
	}
}
