// Command testsum runs go test and ends with what did not run: every
// skipped test with the reason it gave (which says how to make it run),
// then one line "N passed, N failed, N skipped". Plain `go test ./...`
// shows skips only with -v; this is the same run with them in view.
//
// Usage, from the module root:
//
//	go run ./internal/testsum [go test flags] [packages]
//
// With no packages it tests ./... . It exits with go test's status.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strings"
	"time"
)

// event is one line of go test -json (cmd/test2json).
type event struct {
	Action  string
	Package string
	Test    string
	Output  string
	Elapsed float64
}

func main() {
	args := os.Args[1:]
	hasPkg := false
	for _, a := range args {
		if !strings.HasPrefix(a, "-") {
			hasPkg = true
		}
	}
	if !hasPkg {
		args = append(args, "./...")
	}
	cmd := exec.Command("go", append([]string{"test", "-json"}, args...)...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		fmt.Fprintln(os.Stderr, "testsum:", err)
		os.Exit(2)
	}
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "testsum:", err)
		os.Exit(2)
	}
	s := summarise(out, os.Stdout)
	waitErr := cmd.Wait()
	s.report(os.Stdout)
	if waitErr != nil {
		if ee, ok := waitErr.(*exec.ExitError); ok {
			os.Exit(ee.ExitCode())
		}
		os.Exit(1)
	}
}

type summary struct {
	passed, failed int
	skipped        []string // "pkg TestName: reason"
}

// summarise prints what go test would print without -json, and counts.
func summarise(r io.Reader, w io.Writer) *summary {
	s := &summary{}
	output := map[string][]string{} // test key -> its output lines
	failedIn := map[string]bool{}   // packages with a failed test
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var e event
		if json.Unmarshal(sc.Bytes(), &e) != nil {
			fmt.Fprintln(w, sc.Text()) // build output and the like
			continue
		}
		key := e.Package + " " + e.Test
		switch e.Action {
		case "build-output":
			fmt.Fprint(w, e.Output) // a compile error: shown as go test shows it
		case "output":
			output[key] = append(output[key], e.Output)
		case "pass":
			if e.Test != "" {
				s.passed++
			} else {
				fmt.Fprintf(w, "ok  \t%s\t%s\n", e.Package, (time.Duration(e.Elapsed * float64(time.Second))).Round(time.Millisecond))
			}
			delete(output, key)
		case "fail":
			if e.Test != "" {
				s.failed++
				failedIn[e.Package] = true
				fmt.Fprint(w, strings.Join(output[key], ""))
			} else {
				if !failedIn[e.Package] {
					s.failed++ // the package failed without a failing test: a build error, a panic
				}
				saidFail := false
				for _, line := range output[key] {
					if !strings.HasPrefix(line, "=== ") {
						fmt.Fprint(w, line)
						saidFail = saidFail || strings.HasPrefix(line, "FAIL\t")
					}
				}
				if !saidFail {
					fmt.Fprintf(w, "FAIL\t%s\n", e.Package)
				}
			}
			delete(output, key)
		case "skip":
			if e.Test != "" {
				s.skipped = append(s.skipped, e.Package+" "+e.Test+": "+reason(output[key]))
			} else {
				fmt.Fprintf(w, "?   \t%s\t[no test files]\n", e.Package)
			}
			delete(output, key)
		}
	}
	return s
}

// reason is the message a skipped test gave: its output without the
// framing lines go test adds.
func reason(lines []string) string {
	var parts []string
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "=== ") || strings.HasPrefix(t, "--- SKIP") {
			continue
		}
		// "file_test.go:12: message" -> "message"
		if i := strings.Index(t, ".go:"); i >= 0 {
			if j := strings.Index(t[i+4:], ": "); j >= 0 {
				t = t[i+4+j+2:]
			}
		}
		parts = append(parts, t)
	}
	if len(parts) == 0 {
		return "(no reason given)"
	}
	return strings.Join(parts, " ")
}

func (s *summary) report(w io.Writer) {
	sort.Strings(s.skipped)
	for _, sk := range s.skipped {
		fmt.Fprintln(w, "skipped:", sk)
	}
	fmt.Fprintf(w, "%d passed, %d failed, %d skipped\n", s.passed, s.failed, len(s.skipped))
}
