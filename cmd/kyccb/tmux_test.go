package main

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kyccb/kyccb/kyccbtest"
)

// TestListenInTmux runs the built kyccb listen in a terminal, as a person
// does: the callback shows on the screen, in colour, and Ctrl-C stops it
// with exit status 0; so does SIGTERM, as a service manager sends it.
func TestListenInTmux(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed: skipping the terminal session test (apt-get install tmux runs it)")
	}
	bin := buildKyccb(t)
	anchor := kyccbtest.NewKeyPair(t)

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

	// start runs kyccb listen in a new session, in the foreground of its
	// terminal. The shell traps SIGINT (with a handler, which the command
	// does not inherit) so that it outlives Ctrl-C and prints kyccb's exit
	// status; the inner shell prints its process id, which exec hands on
	// to kyccb.
	start := func(session, addr string) {
		t.Helper()
		script := fmt.Sprintf(`trap : INT; sh -c 'echo "pid $$"; exec %s listen --signing-key %s --addr %s'; echo "exit status $?"; sleep 60`, bin, anchor.Address, addr)
		if out, err := tmux("new-session", "-d", "-s", session, "-x", "160", "-y", "50", "sh", "-c", script); err != nil {
			t.Fatalf("tmux new-session: %v\n%s", err, out)
		}
	}
	screen := func(session string, color bool) string {
		t.Helper()
		args := []string{"capture-pane", "-p", "-t", session}
		if color {
			args = append(args, "-e")
		}
		out, err := tmux(args...)
		if err != nil {
			t.Fatalf("tmux capture-pane: %v\n%s", err, out)
		}
		return out
	}
	waitFor := func(session, what string) string {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			s := screen(session, false)
			if strings.Contains(s, what) {
				return s
			}
			if time.Now().After(deadline) {
				t.Fatalf("the screen never showed %q:\n%s", what, s)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	t.Run("Ctrl-C", func(t *testing.T) {
		addr := closedPort(t)
		start("ctrl-c", addr)
		waitFor("ctrl-c", "listening on http://"+addr)
		if code, out, errOut := runCmd(t, "send", "--seed", anchor.Seed, "--url", "http://"+addr+"/kyc", "--status", "NEEDS_INFO", "--id", "c-tmux"); code != exitOK {
			t.Fatalf("send exited %d\n%s%s", code, out, errOut)
		}
		s := waitFor("ctrl-c", "accepted  SEP-12 callback  POST /kyc  -> 200")
		for _, want := range []string{"customer  c-tmux", "status    NEEDS_INFO", "needs     mobile_number, photo_id_front"} {
			if !strings.Contains(s, want) {
				t.Errorf("the screen lacks %q:\n%s", want, s)
			}
		}
		if c := screen("ctrl-c", true); !strings.Contains(c, "\x1b[") || !strings.Contains(c, "32m") {
			t.Errorf("no colour on a terminal (want green for accepted):\n%q", c)
		}
		if out, err := tmux("send-keys", "-t", "ctrl-c", "C-c"); err != nil {
			t.Fatalf("tmux send-keys: %v\n%s", err, out)
		}
		s = waitFor("ctrl-c", "exit status")
		if !strings.Contains(s, "stopped\nexit status 0") {
			t.Errorf("Ctrl-C did not stop listen cleanly with status 0:\n%s", s)
		}
	})

	t.Run("SIGTERM", func(t *testing.T) {
		addr := closedPort(t)
		start("sigterm", addr)
		s := waitFor("sigterm", "listening on http://"+addr)
		m := regexp.MustCompile(`(?m)^pid (\d+)$`).FindStringSubmatch(s)
		if m == nil {
			t.Fatalf("no process id on the screen:\n%s", s)
		}
		pid, _ := strconv.Atoi(m[1])
		if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		s = waitFor("sigterm", "exit status")
		if !strings.Contains(s, "stopped\nexit status 0") {
			t.Errorf("SIGTERM did not stop listen cleanly with status 0:\n%s", s)
		}
	})
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
