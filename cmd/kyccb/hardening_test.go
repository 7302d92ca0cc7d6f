package main

// Tests for what anyone who can reach listen's port can make it do: work
// (the diagnosis), hold a connection (a trickled body), print (terminal
// escapes) and pass on to the app (headers).

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/kyccb/kyccb"
	"github.com/kyccb/kyccb/kyccbtest"
)

// forgedSignature is a well-formed, fresh Signature header that no key
// made: it passes the library's cheap checks, so the body is read and
// verified, and fails.
func forgedSignature(t *testing.T) string {
	t.Helper()
	sig := make([]byte, 64)
	rand.Read(sig)
	return "t=" + strconv.FormatInt(time.Now().Unix(), 10) + ", s=" + base64.StdEncoding.EncodeToString(sig)
}

// postForged posts body to url with a forged signature and returns the
// reply's status.
func postForged(t *testing.T, client *http.Client, url string, body []byte) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Signature", forgedSignature(t))
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// TestListenForgedLargeRequestIsCheap sends listen a forged callback with
// a 1 MiB body: before the fix, listen read it whole before the library
// did, then ran the exhaustive diagnosis over it (600 timestamps, a dozen
// body variants), taking seconds and hundreds of MiB. Now it costs about
// what the library's own check costs.
func TestListenForgedLargeRequestIsCheap(t *testing.T) {
	anchor := kyccbtest.NewKeyPair(t)
	l := startListen(t, "--signing-key", anchor.Address, "--json")
	prefix, suffix := `{"id":"c-1","status":"ACCEPTED","message":"`, `"}`
	body := []byte(prefix + strings.Repeat("a", kyccb.DefaultMaxBodyBytes-len(prefix)-len(suffix)) + suffix)
	client := &http.Client{}
	if code := postForged(t, client, l.url+"/kyc", []byte(`{}`)); code != http.StatusUnauthorized { // warms the connection
		t.Fatalf("a small forged callback got %d, want 401", code)
	}

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	code := postForged(t, client, l.url+"/kyc", body)
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	allocated := after.TotalAlloc - before.TotalAlloc

	if code != http.StatusUnauthorized {
		t.Errorf("the forged 1 MiB callback got %d, want 401", code)
	}
	t.Logf("one forged 1 MiB callback: %s, %.1f MiB allocated (both ends of the connection)", elapsed, float64(allocated)/(1<<20))
	if allocated > 8<<20 {
		t.Errorf("answering one forged 1 MiB callback allocated %.1f MiB, want under 8 MiB", float64(allocated)/(1<<20))
	}
	if elapsed > time.Second {
		t.Errorf("answering one forged 1 MiB callback took %s, want well under a second", elapsed)
	}
	reps := l.reports(t)
	r := reps[len(reps)-1]
	if r.Verdict != "rejected" || !strings.HasPrefix(r.Reason, kyccb.ErrBadSignature.Error()) || !slices.Equal(r.Diagnosis, []string{skippedLargeBody}) {
		t.Errorf("listen reported %s %q, diagnosis %q; want a bad signature, diagnosis skipped for the body's size", r.Verdict, r.Reason, r.Diagnosis)
	}
}

// TestListenDiagnosisBudget floods listen with small forged callbacks,
// which would each be diagnosed: no more than the budget are.
func TestListenDiagnosisBudget(t *testing.T) {
	anchor := kyccbtest.NewKeyPair(t)
	l := startListen(t, "--signing-key", anchor.Address, "--json")
	body := []byte(`{"id":"c-1","status":"ACCEPTED"}`)
	const flood = 200
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	start := time.Now()
	var wg sync.WaitGroup
	jobs := make(chan int)
	for range 8 {
		wg.Go(func() {
			for range jobs {
				if code := postForged(t, client, l.url+"/kyc", body); code != http.StatusUnauthorized {
					t.Errorf("a forged callback got %d, want 401", code)
				}
			}
		})
	}
	for i := range flood {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	elapsed := time.Since(start)

	reps := l.reports(t)
	if len(reps) != flood {
		t.Fatalf("%d reports for %d callbacks", len(reps), flood)
	}
	diagnosed, skipped := 0, 0
	for _, r := range reps {
		switch {
		case slices.Equal(r.Diagnosis, []string{skippedRateLimit}):
			skipped++
		case len(r.Diagnosis) > 0 && strings.HasPrefix(r.Diagnosis[0], "signed by another key"):
			diagnosed++
		default:
			t.Errorf("diagnosis %q, want a real one or %q", r.Diagnosis, skippedRateLimit)
		}
	}
	// The budget: the burst, then the rate over the time the flood took.
	budget := diagnosisBurst + int(elapsed.Seconds()*diagnosesPerSecond) + 1
	t.Logf("%d forged callbacks in %s: %d diagnosed, %d skipped; budget %d", flood, elapsed, diagnosed, skipped, budget)
	if diagnosed > budget || diagnosed < diagnosisBurst {
		t.Errorf("%d of %d forged callbacks were diagnosed in %s, want between %d and the budget of %d", diagnosed, flood, elapsed, diagnosisBurst, budget)
	}

	t.Run("--diagnose=off diagnoses none, --diagnose=all a large body too", func(t *testing.T) {
		off := startListen(t, "--signing-key", anchor.Address, "--json", "--diagnose", "off")
		postForged(t, client, off.url+"/kyc", body)
		if r := off.reports(t)[0]; len(r.Diagnosis) != 0 || r.Reason == "" {
			t.Errorf("--diagnose=off: reason %q, diagnosis %q; want the reason only", r.Reason, r.Diagnosis)
		}
		all := startListen(t, "--signing-key", anchor.Address, "--json", "--diagnose", "all")
		large := []byte(`{"id":"c-1","status":"ACCEPTED","message":"` + strings.Repeat("a", 100<<10) + `"}`)
		postForged(t, client, all.url+"/kyc", large)
		if r := all.reports(t)[0]; len(r.Diagnosis) == 0 || !strings.HasPrefix(r.Diagnosis[0], "signed by another key") {
			t.Errorf("--diagnose=all: diagnosis %q of a 100 KiB body, want it diagnosed", r.Diagnosis)
		}
		if code, _, errOut := runCmd(t, "listen", "--signing-key", anchor.Address, "--diagnose", "some"); code != exitUsage || !strings.Contains(errOut, "--diagnose must be cheap, all or off") {
			t.Errorf("--diagnose some: exit %d\n%s", code, errOut)
		}
	})
}

func TestBudget(t *testing.T) {
	b := newBudget(5, 10)
	at := time.Unix(1700000000, 0)
	took := 0
	for range 100 {
		if b.take(at) {
			took++
		}
	}
	if took != 10 {
		t.Errorf("at one instant the budget allowed %d, want the burst of 10", took)
	}
	if b.take(at.Add(100 * time.Millisecond)) {
		t.Error("0.1 s later the budget allowed one more, want half a token only")
	}
	if !b.take(at.Add(200*time.Millisecond)) || b.take(at.Add(200*time.Millisecond)) {
		t.Error("0.2 s later the budget did not allow exactly one more")
	}
	if b.take(at) {
		t.Error("a clock that went back refilled the budget")
	}
	took = 0
	for range 100 {
		if b.take(at.Add(time.Hour)) {
			took++
		}
	}
	if took != 10 {
		t.Errorf("after an hour the budget allowed %d, want no more than the burst", took)
	}
}

// TestListenTrickledBody sends a body at a few bytes a second: the server
// closes the connection within its ReadTimeout, where before only the
// headers had a time limit.
func TestListenTrickledBody(t *testing.T) {
	old := serverLimits
	t.Cleanup(func() { serverLimits = old })
	serverLimits.readHeader, serverLimits.read, serverLimits.write, serverLimits.idle = 500*time.Millisecond, time.Second, 3*time.Second, 2*time.Second
	anchor := kyccbtest.NewKeyPair(t)
	l := startListen(t, "--signing-key", anchor.Address, "--json")

	conn, err := net.Dial("tcp", l.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	fmt.Fprintf(conn, "POST /kyc HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nSignature: %s\r\nContent-Length: 1000\r\n\r\n", l.addr, forgedSignature(t))
	closed := make(chan time.Duration, 1)
	go func() {
		io.Copy(io.Discard, conn) // the reply, if any, then EOF
		closed <- time.Since(start)
	}()
	// 2 bytes every 100 ms: 1000 bytes would take 50 s.
	trickle := time.NewTicker(100 * time.Millisecond)
	defer trickle.Stop()
	giveUp := time.After(6 * time.Second)
	for {
		select {
		case d := <-closed:
			if limit := serverLimits.read + time.Second; d > limit {
				t.Errorf("the connection was closed after %s, want within ReadTimeout %s and some slack", d, serverLimits.read)
			}
			reps := l.reports(t)
			if len(reps) != 1 || reps[0].Verdict != "rejected" || !slices.Equal(reps[0].Diagnosis, []string{bodyCutShort}) {
				t.Errorf("listen reported %+v, want one rejection for a body cut short", reps)
			}
			return
		case <-trickle.C:
			conn.Write([]byte("{ "))
		case <-giveUp:
			t.Fatalf("the trickled body was still being read after 6 s (ReadTimeout %s)", serverLimits.read)
		}
	}
}

// TestListenServerLimits checks the settings README.md recommends
// ("Recommended server settings") are the ones listen serves with.
func TestListenServerLimits(t *testing.T) {
	srv := newServer(http.NotFoundHandler())
	if srv.ReadHeaderTimeout != 5*time.Second || srv.ReadTimeout != 10*time.Second || srv.WriteTimeout != 30*time.Second ||
		srv.IdleTimeout != 60*time.Second || srv.MaxHeaderBytes != 16<<10 {
		t.Errorf("server settings %s %s %s %s %d, want README.md's 5s 10s 30s 1m0s 16384",
			srv.ReadHeaderTimeout, srv.ReadTimeout, srv.WriteTimeout, srv.IdleTimeout, srv.MaxHeaderBytes)
	}
	if forwardTimeout+srv.ReadTimeout >= srv.WriteTimeout {
		t.Errorf("a forward may take %s after a body read in up to %s: past the WriteTimeout of %s", forwardTimeout, srv.ReadTimeout, srv.WriteTimeout)
	}
	anchor := kyccbtest.NewKeyPair(t)
	l := startListen(t, "--signing-key", anchor.Address, "--json")
	req, err := http.NewRequest(http.MethodPost, l.url+"/kyc", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Padding", strings.Repeat("a", 32<<10))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("32 KiB of headers got %d, want 431", resp.StatusCode)
	}
}

// TestListenForwardHeaders sends verified callbacks with every kind of
// header a sender should not be able to pass to the app, and checks the
// app gets exactly the documented set.
func TestListenForwardHeaders(t *testing.T) {
	anchor := kyccbtest.NewKeyPair(t)
	got := make(chan http.Header, 1)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		got <- r.Header.Clone()
	}))
	defer app.Close()
	l := startListen(t, "--signing-key", anchor.Address, "--forward", app.URL+"/kyc", "--json")
	body := []byte(`{"id":"c-1","status":"ACCEPTED"}`)
	// Each test's request signed anew, as the anchor signs each delivery:
	// the same request again would be a replay, never forwarded.
	var sigs [3]string
	for i := range sigs {
		var err error
		if sigs[i], err = kyccb.SignSEP12(anchor.Seed, l.addr, body, time.Now().Add(-time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	sig := sigs[0]

	hostile := "X-Forwarded-For: 203.0.113.7\r\nX-Forwarded-Host: evil.example\r\nX-Forwarded-Proto: https\r\nX-Real-Ip: 203.0.113.7\r\n" +
		"Forwarded: for=203.0.113.7\r\nKeep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\nTE: trailers\r\nUpgrade: websocket\r\n" +
		"Proxy-Authorization: Basic Zm9vOmJhcg==\r\nProxy-Authenticate: Basic\r\nTrailer: X-Checksum\r\nX-Hop: 1\r\n" +
		"Cookie: session=1\r\nAuthorization: Bearer x\r\nX-Request-Id: abc\r\n"
	chunked := fmt.Sprintf("Transfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n", len(body), body)
	plain := fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(body), body)
	tests := []struct {
		name    string
		headers string // after the request line and Host
		want    map[string]string
	}{
		{"hop-by-hop, proxy and other headers are dropped",
			"Content-Type: application/json\r\nSignature: " + sig + "\r\nX-Stellar-Signature: " + sig + "\r\nUser-Agent: anchor-platform/2.0\r\n" +
				"Connection: keep-alive, X-Hop\r\n" + hostile + plain,
			map[string]string{"Content-Type": "application/json", "Signature": sig, "X-Stellar-Signature": sig, "User-Agent": "anchor-platform/2.0",
				"X-Forwarded-For": "127.0.0.1", "X-Forwarded-Host": l.addr, "Content-Length": strconv.Itoa(len(body))}},
		{"a chunked body arrives with its length, and a header named in Connection is dropped even if allowed",
			"Content-Type: application/json\r\nSignature: " + sigs[1] + "\r\nX-Stellar-Signature: " + sigs[1] + "\r\nUser-Agent: anchor-platform/2.0\r\n" +
				"Connection: X-Stellar-Signature\r\n" + chunked,
			map[string]string{"Content-Type": "application/json", "Signature": sigs[1], "User-Agent": "anchor-platform/2.0",
				"X-Forwarded-For": "127.0.0.1", "X-Forwarded-Host": l.addr, "Content-Length": strconv.Itoa(len(body))}},
		{"a sender without User-Agent gets the app none, not Go's",
			"Signature: " + sigs[2] + "\r\n" + plain,
			map[string]string{"Signature": sigs[2], "X-Forwarded-For": "127.0.0.1", "X-Forwarded-Host": l.addr, "Content-Length": strconv.Itoa(len(body))}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", l.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			fmt.Fprintf(conn, "POST /kyc HTTP/1.1\r\nHost: %s\r\n%s", l.addr, tt.headers)
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("the callback got %d, want 200 from the app", resp.StatusCode)
			}
			h := <-got
			gotFlat := map[string]string{}
			for name, values := range h {
				gotFlat[name] = strings.Join(values, ", ")
			}
			if !mapsEqual(gotFlat, tt.want) {
				t.Errorf("the app got the headers\n%v\nwant exactly\n%v", gotFlat, tt.want)
			}
		})
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// Text from the sender that tries to steer a terminal: clear the line,
// go back to its start, paint "accepted" in green, reverse what follows.
const hostileText = "\x1b[2K\r\x1b[32maccepted\x1b[0m\u202e\u009b\x7f"

// hostileEscaped is hostileText as text output must print it.
const hostileEscaped = `\x1b[2K\x0d\x1b[32maccepted\x1b[0m\u202e\u009b\x7f`

// rawControl matches what must never reach a terminal from the sender:
// C0 controls but the new line, DEL, C1 controls and direction controls.
// (Bytes that are not UTF-8 are checked apart: see hasRawControl.)
var rawControl = regexp.MustCompile(`[\x00-\x09\x0b-\x1f\x7f\x{80}-\x{9f}\x{61c}\x{200e}\x{200f}\x{202a}-\x{202e}\x{2066}-\x{2069}]`)

func hasRawControl(s string) bool { return rawControl.MatchString(s) || !utf8.ValidString(s) }

// TestTerminalEscapes sends listen, send and register text that would
// steer a terminal, and checks every text output prints it escaped, and
// JSON output too where encoding/json leaves it raw.
func TestTerminalEscapes(t *testing.T) {
	anchor := kyccbtest.NewKeyPair(t)
	// A JSON body whose claims hold the escapes.
	claim, err := json.Marshal(map[string]string{"id": "c-1" + hostileText, "status": "ACCEPTED" + hostileText})
	if err != nil {
		t.Fatal(err)
	}
	const path = "/kyc%1B%5B2K%0D%1B%5B32maccepted%1B%5B0m%E2%80%AE%C2%9B%7F"

	t.Run("listen prints the path and a rejected callback's claims escaped", func(t *testing.T) {
		l := startListen(t, "--signing-key", anchor.Address)
		resp, err := http.Post(l.url+path, "application/json", bytes.NewReader(claim))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		out := l.stdout.String()
		for _, want := range []string{
			`(?m)^\d\d:\d\d:\d\d  rejected  SEP-12 callback  POST /kyc` + regexp.QuoteMeta(hostileEscaped) + `  -> 401$`,
			`(?m)^  customer   c-1` + regexp.QuoteMeta(hostileEscaped) + ` \(unverified\)$`,
			`(?m)^  status     ACCEPTED` + regexp.QuoteMeta(hostileEscaped) + ` \(unverified\)$`,
		} {
			if !regexp.MustCompile(want).MatchString(out) {
				t.Errorf("listen's output does not match %s:\n%s", want, out)
			}
		}
		if hasRawControl(out) {
			t.Errorf("listen printed raw control characters:\n%q", out)
		}
	})

	t.Run("listen --json escapes what encoding/json leaves raw", func(t *testing.T) {
		l := startListen(t, "--signing-key", anchor.Address, "--json")
		resp, err := http.Post(l.url+path, "application/json", bytes.NewReader(claim))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		out := l.stdout.String()
		if hasRawControl(out) {
			t.Errorf("listen --json printed raw control characters:\n%q", out)
		}
		r := l.reports(t)[0]
		if r.Path != "/kyc"+hostileText {
			t.Errorf("the JSON decodes to the path %q, want the one received", r.Path)
		}
		if r.Unverified == nil || r.Unverified.CustomerID != "c-1"+hostileText || r.Unverified.Status != "ACCEPTED"+hostileText {
			t.Errorf("the JSON decodes to the claims %+v, want the ones sent", r.Unverified)
		}
	})

	t.Run("send prints the receiver's reply escaped", func(t *testing.T) {
		rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, hostileText)
		}))
		defer rcv.Close()
		code, out, errOut := runCmd(t, "send", "--seed", anchor.Seed, "--url", rcv.URL+"/kyc", "--attempts", "1")
		if code != exitOK {
			t.Fatalf("exit %d\n%s%s", code, out, errOut)
		}
		if !regexp.MustCompile(`(?m)^  reply body  ` + regexp.QuoteMeta(hostileEscaped) + `$`).MatchString(out) {
			t.Errorf("send's output lacks the escaped reply:\n%s", out)
		}
		if hasRawControl(out) {
			t.Errorf("send printed raw control characters:\n%q", out)
		}
	})

	t.Run("register prints the anchor's message escaped", func(t *testing.T) {
		a := newStubAnchor(t)
		msg, _ := json.Marshal(map[string]string{"error": hostileText})
		a.reply = func(registration) (int, string) { return http.StatusBadRequest, string(msg) }
		code, out, errOut := runCmd(t, "register", "--kyc-server", "https://anchor.example.com/kyc", "--jwt", "a.b.c", "--url", "https://wallet.example.org/kyc")
		if code != exitRejected {
			t.Fatalf("exit %d\n%s%s", code, out, errOut)
		}
		if !regexp.MustCompile(`(?m)^  message  ` + regexp.QuoteMeta(hostileEscaped) + `$`).MatchString(out) {
			t.Errorf("register's output lacks the escaped message:\n%s", out)
		}
		if hasRawControl(out) {
			t.Errorf("register printed raw control characters:\n%q", out)
		}
	})
}

func TestTermSafe(t *testing.T) {
	tests := []struct{ in, want string }{
		{"c-1", "c-1"},
		{"Nom illisible — 名前 ✓ <b>", "Nom illisible — 名前 ✓ <b>"},
		{"a\x00b\tc\nd\re\x1bf\x7f", `a\x00b\x09c\x0ad\x0de\x1bf\x7f`},
		{"csi \u009b and a lone \x9b byte", `csi \u009b and a lone \x9b byte`},
		{"\u202ageh\u202e \u2066x\u2069 \u200e\u200f\u061c", `\u202ageh\u202e \u2066x\u2069 \u200e\u200f\u061c`},
		{"\u00a0 and \u3000 stay", "\u00a0 and \u3000 stay"},
		// Separators and invisible format characters (issue 18).
		{"line\u2028para\u2029end", `line\u2028para\u2029end`},
		{"c\u200b-1 c\u200c-1 c\u200d-1 c\u2060-1 \ufeffc-1 c\u00ad-1", `c\u200b-1 c\u200c-1 c\u200d-1 c\u2060-1 \ufeffc-1 c\u00ad-1`},
		{"tag\U000e0041\U000e007f", `tag\U000e0041\U000e007f`},
		{"\u180e\u2061\ufff9", `\u180e\u2061\ufff9`},
	}
	for _, tt := range tests {
		if got := termSafe(tt.in); got != tt.want {
			t.Errorf("termSafe(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	js := jsonSafe([]byte("{\"a\":\"x\u202e\u009b\x7f\xff\"}"))
	if hasRawControl(string(js)) || string(js) != `{"a":"x\u202e\u009b\u007f\ufffd"}` {
		t.Errorf("jsonSafe: %s", js)
	}
	in := "x\u200b\ufeff\U000e0041y"
	raw, err := json.Marshal(map[string]string{"a": in})
	if err != nil {
		t.Fatal(err)
	}
	js = jsonSafe(raw)
	var back map[string]string
	if string(js) != `{"a":"x\u200b\ufeff\udb40\udc41y"}` || json.Unmarshal(js, &back) != nil || back["a"] != in {
		t.Errorf("jsonSafe of invisible characters: %s, decoding to %q", js, back["a"])
	}
}

// TestListenReplay: the same signed request sent twice (a command re-run,
// a proxy resending it) is processed and forwarded once; the second is
// answered 200, so that its sender stops, and listen says it was a replay
// rather than diagnosing a signature that verifies.
func TestListenReplay(t *testing.T) {
	anchor := kyccbtest.NewKeyPair(t)
	var forwarded atomic.Int32
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		forwarded.Add(1)
	}))
	defer app.Close()
	for _, asJSON := range []bool{true, false} {
		args := []string{"--signing-key", anchor.Address, "--forward", app.URL + "/kyc"}
		if asJSON {
			args = append(args, "--json")
		}
		l := startListen(t, args...)
		forwarded.Store(0)
		body := []byte(`{"id":"c-1","status":"ACCEPTED"}`)
		sig, err := kyccb.SignSEP12(anchor.Seed, l.addr, body, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		for i := range 2 {
			req, err := http.NewRequest(http.MethodPost, l.url+"/kyc", bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set(kyccb.SignatureHeader, sig)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("request %d: %d, want 200", i+1, resp.StatusCode)
			}
		}
		if n := forwarded.Load(); n != 1 {
			t.Errorf("forwarded %d times, want once", n)
		}
		if !asJSON {
			if out := l.stdout.String(); strings.Count(out, "replay: this signed request was processed before") != 1 {
				t.Errorf("listen printed:\n%s\nwant the second request named a replay", out)
			}
			continue
		}
		reps := l.reports(t)
		if len(reps) != 2 {
			t.Fatalf("%d reports, want 2: %+v", len(reps), reps)
		}
		if r := reps[0]; r.Verdict != "accepted" || r.Forward == nil || r.Forward.HTTPStatus != http.StatusOK {
			t.Errorf("first request: %+v, want accepted and forwarded", r)
		}
		r := reps[1]
		if r.Verdict != "rejected" || r.HTTPStatus != http.StatusOK || r.Forward != nil || r.Reason != kyccb.ErrReplay.Error() ||
			len(r.Diagnosis) != 1 || !strings.HasPrefix(r.Diagnosis[0], "replay: this signed request was processed before") {
			t.Errorf("second request: %+v, want a replay answered 200, not forwarded, diagnosed as such", r)
		}
	}
}

// TestReceiverDedup: with a dedup store (demo's receiver), a redelivery
// of the body last applied for a customer and a transaction status older
// than the one applied are answered 200 and reported as not processed,
// each with its sentinel; the older status is explained with its
// updated_at.
func TestReceiverDedup(t *testing.T) {
	anchor := kyccbtest.NewKeyPair(t)
	keys, err := kyccb.ParseKeys(anchor.Address)
	if err != nil {
		t.Fatal(err)
	}
	var got []*report
	var mu sync.Mutex
	srv := httptest.NewUnstartedServer(nil)
	rc, err := newReceiver(receiverConfig{mode: "sep12", keys: keys, host: srv.Listener.Addr().String(), dedup: kyccb.NewMemoryStore(),
		onReport: func(r *report) { mu.Lock(); got = append(got, r); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = rc
	srv.Start()
	defer srv.Close()

	now := time.Now().Truncate(time.Second)
	older := now.Add(-4 * time.Minute)
	tx := func(status string, updated time.Time) []byte {
		return []byte(`{"transaction":{"id":"tx-1","kind":"deposit","status":"` + status + `","updated_at":"` + updated.UTC().Format(time.RFC3339) + `"}}`)
	}
	customer := []byte(`{"id":"c-1","status":"ACCEPTED"}`)
	steps := []struct {
		name   string
		body   []byte
		at     time.Time
		want   outcome
		reason error
	}{
		{"a customer callback", customer, now, processed, nil},
		{"the same body signed anew", customer, now.Add(time.Second), unprocessed, kyccb.ErrDuplicate},
		{"a completed transaction", tx("completed", now), now, processed, nil},
		{"an older status of it", tx("pending_anchor", older), now.Add(time.Second), unprocessed, kyccb.ErrStale},
	}
	for i, s := range steps {
		sig, err := kyccb.SignSEP12(anchor.Seed, srv.Listener.Addr().String(), s.body, s.at)
		if err != nil {
			t.Fatal(err)
		}
		req, err := http.NewRequest(http.MethodPost, srv.URL+"/kyc", bytes.NewReader(s.body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(kyccb.SignatureHeader, sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		mu.Lock()
		if len(got) != i+1 {
			mu.Unlock()
			t.Fatalf("%s: %d reports, want %d", s.name, len(got), i+1)
		}
		r := got[i]
		mu.Unlock()
		reason := ""
		if s.reason != nil {
			reason = s.reason.Error()
		}
		if resp.StatusCode != http.StatusOK || r.HTTPStatus != http.StatusOK || outcomeOf(r) != s.want || r.Reason != reason {
			t.Errorf("%s: reply %d, report %+v; want 200, outcome %d, reason %q", s.name, resp.StatusCode, r, s.want, reason)
		}
	}
	want := "stale: its updated_at, " + older.UTC().Format(time.RFC3339) + ", is older than that of the status applied for this transaction: "
	if d := got[3].Diagnosis; len(d) != 1 || !strings.HasPrefix(d[0], want) {
		t.Errorf("the older status is diagnosed %q, want one line starting %q", d, want)
	}
}
