package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// process is a built kyccb (or a shell running one) in the background.
type process struct {
	cmd            *exec.Cmd
	stdout, stderr *syncBuffer
	done           chan struct{} // closed when it exited
}

// startProcess starts cmd with its output collected; it is killed when
// the test ends, if it still runs.
func startProcess(t *testing.T, cmd *exec.Cmd) *process {
	t.Helper()
	p := &process{cmd: cmd, stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// waitFor waits until the process printed what on standard error.
func (p *process) waitFor(t *testing.T, name, what string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(p.stderr.String(), what) {
		select {
		case <-p.done:
			t.Fatalf("%s exited (%s) before printing %q:\n%s%s", name, p.cmd.ProcessState, what, p.stdout.String(), p.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never printed %q:\n%s", name, what, p.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// signal sends sig (SIGTERM, as a service manager stops a program, or
// SIGINT, as Ctrl-C does) and checks the process says it stopped and
// exits 0.
func (p *process) signal(t *testing.T, name string, sig os.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s did not stop within 10 s of %s", name, sig)
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 || !strings.HasSuffix(p.stderr.String(), "\nstopped\n") {
		t.Errorf("%s after %s: %s (exit code %d), want exit 0 after \"stopped\"\n%s", name, sig, p.cmd.ProcessState, code, p.stderr.String())
	}
}

// kyccbEnv is the environment the built kyccb runs in: the directory of
// the binary first on PATH, so that the lines the anchor prints run as
// printed, and no KYCCB_ variable of the person running the tests.
func kyccbEnv(bin string) []string {
	env := []string{"PATH=" + filepath.Dir(bin) + string(os.PathListSeparator) + os.Getenv("PATH"), "NO_COLOR=1"}
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "PATH=") && !strings.HasPrefix(e, "KYCCB_") && !strings.HasPrefix(e, "NO_COLOR=") {
			env = append(env, e)
		}
	}
	return env
}

// TestAnchorEndToEnd is the whole wallet flow on one machine, with the
// built binary and the lines kyccb anchor prints, run by a shell as
// printed: the anchor, a listen that reads the anchor's key from its
// stellar.toml, and a register that signs in with SEP-10 and registers the
// listen's URL. Within seconds listen has verified three callbacks,
// NEEDS_INFO, PROCESSING and ACCEPTED, in that order; the anchor's JSON
// events tell the same story; SIGTERM stops both with exit status 0.
func TestAnchorEndToEnd(t *testing.T) {
	bin := buildKyccb(t)
	env := kyccbEnv(bin)
	shell := func(script string) *exec.Cmd {
		cmd := exec.Command("sh", "-c", script)
		cmd.Env = env
		return cmd
	}

	anchorCmd := exec.Command(bin, "anchor", "--addr", "127.0.0.1:0", "--every", "500ms", "--json")
	anchorCmd.Env = env
	anchor := startProcess(t, anchorCmd)
	anchor.waitFor(t, "anchor", "Ctrl-C to stop")
	var printed runningAnchor
	printed.parseBanner(t, anchor.stderr.String())
	t.Logf("the anchor's banner:\n%s", anchor.stderr.String())

	// The listen line as printed, with --json added to read its verdicts;
	// exec, so that the signal reaches kyccb, not the shell.
	listen := startProcess(t, shell("exec "+printed.listenLine+" --json"))
	listen.waitFor(t, "listen", "Ctrl-C to stop")
	m := listeningOn.FindStringSubmatch(listen.stderr.String())
	if m == nil {
		t.Fatalf("listen does not say where it listens:\n%s", listen.stderr.String())
	}
	listenAddr := m[1]
	if want := "key " + printed.signingKey + " from the stellar.toml of " + printed.domain + ` for host "` + listenAddr + `"`; !strings.Contains(listen.stderr.String(), want) {
		t.Errorf("listen does not report the anchor's key and its own host, %q:\n%s", want, listen.stderr.String())
	}

	// The S= line and the register line, as printed, in one shell.
	start := time.Now()
	reg := shell("S=" + printed.seed + "\n" + printed.register)
	out, err := reg.CombinedOutput()
	if err != nil {
		t.Fatalf("the printed register line failed: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "registered  http://"+listenAddr+"/kyc\n") {
		t.Errorf("register says:\n%s", out)
	}
	if strings.Contains(string(out), printed.seed) || strings.Contains(string(out), "eyJ") {
		t.Errorf("register shows the account seed or the JWT:\n%s", out)
	}

	// Three verified callbacks, in order.
	type verdict struct {
		Verdict    string `json:"verdict"`
		Status     string `json:"status"`
		CustomerID string `json:"customer_id"`
		Host       string `json:"host"`
		HTTPStatus int    `json:"http_status"`
	}
	var got []verdict
	for {
		got = got[:0]
		for line := range strings.Lines(listen.stdout.String()) {
			var v verdict
			if err := json.Unmarshal([]byte(line), &v); err != nil {
				t.Fatalf("listen --json printed a line that is not JSON: %q: %v", line, err)
			}
			got = append(got, v)
		}
		if len(got) >= 3 {
			break
		}
		if time.Since(start) > 15*time.Second {
			t.Fatalf("listen printed %d callbacks within 15 s of registering, want 3:\n%s", len(got), listen.stdout.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("three callbacks verified %s after registering", time.Since(start).Round(time.Millisecond))
	customer := got[0].CustomerID
	for i, status := range []string{"NEEDS_INFO", "PROCESSING", "ACCEPTED"} {
		want := verdict{Verdict: "accepted", Status: status, CustomerID: customer, Host: listenAddr, HTTPStatus: 200}
		if i >= len(got) || got[i] != want || customer == "" {
			t.Errorf("callback %d: %+v, want %+v", i+1, got[i], want)
		}
	}

	// The curl line, as printed, drives the customer by hand. After
	// ACCEPTED the anchor sends nothing more, as SEP-12 says.
	if _, err := exec.LookPath("curl"); err == nil {
		c := shell(printed.curl)
		c.Env = append(c.Env, "ID="+customer)
		out, err := c.Output()
		if err != nil || !strings.Contains(string(out), `"status":"REJECTED"`) {
			t.Errorf("the printed curl line: %v\n%s", err, out)
		}
	} else {
		t.Log("curl is not installed: the printed curl line is not run")
	}

	listen.signal(t, "listen", syscall.SIGTERM)
	anchor.signal(t, "anchor", syscall.SIGTERM)
	if n := len(strings.Split(strings.TrimSpace(listen.stdout.String()), "\n")); n != 3 {
		t.Errorf("listen printed %d callbacks, want 3:\n%s", n, listen.stdout.String())
	}

	// The anchor's events: every line JSON, the registration, each status
	// change, an attempt with the wallet's reply and the delivery for each
	// callback, nothing refused or failed.
	evs := parseEvents(t, anchor.stdout.String())
	if len(evs) < 2 || evs[0].Kind != "start" || evs[0].URL != "http://"+printed.domain ||
		evs[1].Kind != "registered" || evs[1].Customer != customer || evs[1].URL != "http://"+listenAddr+"/kyc" {
		t.Fatalf("the anchor's events do not start with start and registered:\n%s", anchor.stdout.String())
	}
	byKind := map[string][]string{}
	for _, ev := range evs[2:] {
		if ev.Customer != customer {
			t.Errorf("an event for another customer: %+v", ev)
		}
		switch ev.Kind {
		case "attempt":
			if ev.StatusCode != 200 || ev.Attempt != 1 {
				t.Errorf("attempt %+v, want the first, answered 200", ev)
			}
		case "delivered":
			if ev.Attempt != 1 {
				t.Errorf("delivered %+v, want after 1 attempt", ev)
			}
		case "status":
		default:
			t.Errorf("unexpected event %+v", ev)
		}
		byKind[ev.Kind] = append(byKind[ev.Kind], ev.Status)
	}
	sent := []string{"NEEDS_INFO", "PROCESSING", "ACCEPTED"}
	statuses := sent
	if _, err := exec.LookPath("curl"); err == nil {
		statuses = append(slices.Clip(sent), "REJECTED")
	}
	for kind, want := range map[string][]string{"status": statuses, "attempt": sent, "delivered": sent} {
		if !slices.Equal(byKind[kind], want) {
			t.Errorf("%s events for %q, want %q:\n%s", kind, byKind[kind], want, anchor.stdout.String())
		}
	}
}

// TestAnchorStopsOnCtrlC stops the built anchor with SIGINT, as Ctrl-C
// does in a terminal: it says it stopped and exits 0, as for SIGTERM.
func TestAnchorStopsOnCtrlC(t *testing.T) {
	bin := buildKyccb(t)
	cmd := exec.Command(bin, "anchor", "--addr", "127.0.0.1:0")
	cmd.Env = kyccbEnv(bin)
	p := startProcess(t, cmd)
	p.waitFor(t, "anchor", "Ctrl-C to stop")
	p.signal(t, "anchor", syscall.SIGINT)
}
