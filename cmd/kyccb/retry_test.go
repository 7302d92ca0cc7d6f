package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sync/atomic"
	"testing"

	"github.com/kyccb/kyccb"
	"github.com/kyccb/kyccb/kyccbtest"
)

// TestSendRetries checks that send goes through the library's sender: a
// receiver that fails once with 503 gets a second attempt, signed anew,
// and a 400 is not retried.
func TestSendRetries(t *testing.T) {
	anchor := kyccbtest.NewKeyPair(t)
	var calls atomic.Int32
	var verified atomic.Int32
	flaky := httptest.NewServer(nil)
	defer flaky.Close()
	h := kyccb.SEP12(anchor.Address, flaky.URL, func(ctx context.Context, c kyccb.Customer) error {
		verified.Add(1)
		return nil
	})
	flaky.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		h.ServeHTTP(w, r)
	})
	code, out, errOut := runCmd(t, "send", "--seed", anchor.Seed, "--url", flaky.URL+"/kyc", "--attempts", "2", "--json")
	if code != exitOK {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	var o sendOutcome
	if err := json.Unmarshal([]byte(out), &o); err != nil {
		t.Fatal(err)
	}
	if len(o.Attempts) != 2 || o.Attempts[0].HTTPStatus != 503 || o.Attempts[1].HTTPStatus != 200 || o.Attempts[0].DelayMS <= 0 || verified.Load() != 1 {
		t.Errorf("attempts %+v, verified %d; want a 503, a wait, then a verified 200", o.Attempts, verified.Load())
	}

	calls.Store(0)
	code, text, _ := runCmd(t, "send", "--seed", anchor.Seed, "--url", flaky.URL+"/kyc", "--attempts", "2")
	if code != exitOK || !regexp.MustCompile(`(?m)^attempt 1  503 Service Unavailable, retrying in \S+\nattempt 2  200 OK\ndelivered `).MatchString(text) {
		t.Errorf("exit %d, text output:\n%s", code, text)
	}

	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusBadRequest)
	}))
	defer bad.Close()
	code, out, _ = runCmd(t, "send", "--seed", anchor.Seed, "--url", bad.URL, "--json")
	if err := json.Unmarshal([]byte(out), &o); err != nil {
		t.Fatal(err)
	}
	if code != exitRejected || len(o.Attempts) != 1 || o.Delivered {
		t.Errorf("a 400: exit %d, %+v; want one attempt, not delivered", code, o)
	}
}
