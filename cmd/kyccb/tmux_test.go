package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kyccb/kyccb/kyccbtest"
)

// TestListenInTmux runs the built kyccb listen in a terminal, as a person
// does: the callback shows on the screen, in colour, and Ctrl-C stops it
// with exit status 0.
func TestListenInTmux(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed: skipping the terminal session test (apt-get install tmux runs it)")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "kyccb")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	anchor := kyccbtest.NewKeyPair(t)
	addr := closedPort(t)

	// A server of our own (-L), so that the test never touches a tmux the
	// person running it uses.
	socket := fmt.Sprintf("kyccb-test-%d", os.Getpid())
	tmux := func(args ...string) (string, error) {
		cmd := exec.Command("tmux", append([]string{"-L", socket}, args...)...)
		cmd.Env = append(withoutNoColor(os.Environ()), "TERM=xterm-256color")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	t.Cleanup(func() { tmux("kill-server") })
	// The shell traps SIGINT (with a handler, which the command does not
	// inherit) so that it outlives Ctrl-C and prints kyccb's exit status.
	script := fmt.Sprintf(`trap : INT; %s listen --signing-key %s --addr %s; echo "exit status $?"; sleep 60`, bin, anchor.Address, addr)
	if out, err := tmux("new-session", "-d", "-s", "listen", "-x", "160", "-y", "50", "sh", "-c", script); err != nil {
		t.Fatalf("tmux new-session: %v\n%s", err, out)
	}
	screen := func(color bool) string {
		args := []string{"capture-pane", "-p", "-t", "listen"}
		if color {
			args = append(args, "-e")
		}
		out, err := tmux(args...)
		if err != nil {
			t.Fatalf("tmux capture-pane: %v\n%s", err, out)
		}
		return out
	}
	waitFor := func(what string) string {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			s := screen(false)
			if strings.Contains(s, what) {
				return s
			}
			if time.Now().After(deadline) {
				t.Fatalf("the screen never showed %q:\n%s", what, s)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	waitFor("listening on http://" + addr)
	if code, out, errOut := runCmd(t, "send", "--seed", anchor.Seed, "--url", "http://"+addr+"/kyc", "--status", "NEEDS_INFO", "--id", "c-tmux"); code != exitOK {
		t.Fatalf("send exited %d\n%s%s", code, out, errOut)
	}
	s := waitFor("accepted  SEP-12 callback  POST /kyc  -> 200")
	for _, want := range []string{"customer  c-tmux", "status    NEEDS_INFO", "needs     mobile_number, photo_id_front"} {
		if !strings.Contains(s, want) {
			t.Errorf("the screen lacks %q:\n%s", want, s)
		}
	}
	if c := screen(true); !strings.Contains(c, "\x1b[") || !strings.Contains(c, "32m") {
		t.Errorf("no colour on a terminal (want green for accepted):\n%q", c)
	}

	if out, err := tmux("send-keys", "-t", "listen", "C-c"); err != nil {
		t.Fatalf("tmux send-keys: %v\n%s", err, out)
	}
	s = waitFor("exit status")
	if !strings.Contains(s, "stopped\nexit status 0") {
		t.Errorf("Ctrl-C did not stop listen cleanly with status 0:\n%s", s)
	}
}

func withoutNoColor(env []string) []string {
	out := env[:0:0]
	for _, e := range env {
		if !strings.HasPrefix(e, "NO_COLOR=") && !strings.HasPrefix(e, "TERM=") {
			out = append(out, e)
		}
	}
	return out
}
