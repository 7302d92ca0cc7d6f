package localanchor

import (
	"errors"
	"testing"
)

// TestLoopbackClient checks the default delivery client's dialer: it refuses
// every address that is not loopback after resolution, before connecting.
func TestLoopbackClient(t *testing.T) {
	c := loopbackClient()
	for _, u := range []string{
		"http://192.0.2.1/kyc",     // TEST-NET-1: would hang if dialed
		"http://[2001:db8::1]/kyc", // documentation range
		"http://0.0.0.0:9/kyc",
	} {
		resp, err := c.Post(u, "application/json", nil)
		if err == nil {
			resp.Body.Close()
		}
		if !errors.Is(err, errNotLoopback) {
			t.Errorf("POST %s: %v, want errNotLoopback", u, err)
		}
	}
	if _, err := c.Get("http://127.0.0.1:1/"); errors.Is(err, errNotLoopback) {
		t.Errorf("GET 127.0.0.1: %v: loopback refused", err)
	}
}
