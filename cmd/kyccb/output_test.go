package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kyccb/kyccb"
	"github.com/kyccb/kyccb/kyccbtest"
)

// TestListenStdoutStalled is finding 6 of the second red-team round: with
// a standard output that does not drain (a pager at its prompt, Ctrl-S, a
// stalled pipe), every reply waited for its line under one lock, so 200 of
// 200 requests went unanswered. Now replies do not wait on the output, the
// queue is bounded, and the lines left out are counted and reported.
func TestListenStdoutStalled(t *testing.T) {
	old := outputLimits
	outputLimits.maxQueuedBytes = 16 << 10 // about 20 lines: most of the 200 are dropped
	defer func() { outputLimits = old }()

	anchor := kyccbtest.NewKeyPair(t)
	pr, pw := io.Pipe() // a write blocks until someone reads, and nobody does yet
	defer pr.Close()
	stderr := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() {
		// No diagnoses: their cost is not what this test measures.
		done <- run(ctx, []string{"listen", "--addr", "127.0.0.1:0", "--json", "--diagnose", "off", "--signing-key", anchor.Address}, pw, stderr)
	}()
	var url string
	for deadline := time.Now().Add(10 * time.Second); url == ""; time.Sleep(10 * time.Millisecond) {
		if m := listeningOn.FindStringSubmatch(stderr.String()); m != nil {
			url = "http://" + m[1] + "/kyc"
		} else if time.Now().After(deadline) {
			t.Fatalf("listen did not start:\n%s", stderr.String())
		}
	}

	// 200 callbacks at once, half genuine, half forged, each given 20 s:
	// under a second is usual, the rest is for a loaded machine.
	const n = 200
	client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{}}
	codes := make([]int, n)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range n {
		wg.Go(func() {
			var req *http.Request
			if i%2 == 0 {
				req = kyccbtest.SEP12Request(t, anchor.Seed, url, kyccb.Customer{ID: "c-" + strconv.Itoa(i), Status: "ACCEPTED"})
			} else {
				req = kyccbtest.SEP12Request(t, kyccbtest.NewKeyPair(t).Seed, url, kyccb.Customer{ID: "c-" + strconv.Itoa(i), Status: "ACCEPTED"})
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Errorf("callback %d: %v", i, err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			codes[i] = resp.StatusCode
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	for i, code := range codes {
		if want := []int{200, 401}[i%2]; code != want {
			t.Fatalf("callback %d got %d, want %d (0: no reply)", i, code, want)
		}
	}
	t.Logf("200 callbacks answered in %s with standard output stalled", elapsed)

	// Now the output drains: what was queued is printed, with a line for
	// what was dropped before it; on stopping, the total.
	var lines []string
	read := make(chan struct{})
	go func() {
		defer close(read)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			lines = append(lines, sc.Text())
		}
	}()
	// Connections the client dialed and did not use would hold the
	// server's shutdown for 5 s (net/http counts them as new, not idle).
	client.CloseIdleConnections()
	stopping := time.Now()
	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Fatalf("listen exited with %d:\n%s", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("listen did not stop")
	}
	t.Logf("stopped in %s", time.Since(stopping))
	pw.Close()
	<-read
	m := regexp.MustCompile(`(\d+) callbacks not printed: standard output did not keep up`).FindStringSubmatch(stderr.String())
	if m == nil {
		t.Fatalf("stderr does not say how many lines were dropped:\n%s", stderr.String())
	}
	dropped, _ := strconv.Atoi(m[1])
	printed, noted := 0, 0
	for _, line := range lines {
		var v struct {
			Verdict    string `json:"verdict"`
			NotPrinted int    `json:"not_printed"`
		}
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatalf("a line is not JSON: %q", line)
		}
		switch {
		case v.NotPrinted > 0:
			noted += v.NotPrinted
		case v.Verdict != "":
			printed++
		default:
			t.Errorf("a line is neither a report nor a count: %q", line)
		}
	}
	if printed+dropped != n || dropped == 0 || noted == 0 || noted > dropped {
		t.Errorf("%d lines printed, %d dropped (%d noted in the output); want %d in all, some dropped and noted", printed, dropped, noted, n)
	}
	if strings.Count(stderr.String(), "not printed") != 1 {
		t.Errorf("stderr: %s", stderr.String())
	}
}
