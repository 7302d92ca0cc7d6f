package wallet_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kyccb/kyccb"
	"github.com/kyccb/kyccb/wallet"
)

// kycStub is an anchor's KYC server on loopback: it answers PUT
// {prefix}/customer/callback with a fixed status and body and records what
// it was sent.
type kycStub struct {
	url string

	mu       sync.Mutex
	status   int
	reply    string
	requests []registration
}

// registration is one request a kycStub got.
type registration struct {
	method, path, auth, contentType string
	body                            wallet.CallbackRegistration
}

func newKYCStub(t *testing.T, status int, reply string) *kycStub {
	t.Helper()
	s := &kycStub{status: status, reply: reply}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reg := registration{method: r.Method, path: r.URL.Path, auth: r.Header.Get("Authorization"), contentType: r.Header.Get("Content-Type")}
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &reg.body); err != nil {
			t.Errorf("registration body %q is not JSON: %v", b, err)
		}
		s.mu.Lock()
		s.requests = append(s.requests, reg)
		status, reply := s.status, s.reply
		s.mu.Unlock()
		if status >= 300 && status < 400 {
			w.Header().Set("Location", "http://wallet.test/elsewhere")
		}
		w.WriteHeader(status)
		io.WriteString(w, reply)
	}))
	t.Cleanup(srv.Close)
	s.url = srv.URL + "/sep12"
	return s
}

func (s *kycStub) got() []registration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]registration(nil), s.requests...)
}

const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJHQS4uLiJ9.c2lnbmF0dXJl"

var validRegistration = wallet.CallbackRegistration{
	URL:      "https://wallet.example.org/kyc?token=s3cret",
	ID:       "391fb415-c223-4608-b2f5-dd1e91e3a986",
	Memo:     "12345",
	MemoType: "id",
}

func TestRegisterCallbackReplies(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		reply  string
		want   *wallet.AnchorError // nil: registered
	}{
		{"a 200 reply registers", 200, `{}`, nil},
		{"a 204 reply registers", 204, ``, nil},
		{"a 401 reply is an AnchorError with the anchor's message", 401, `{"error": "JWT expired"}`, &wallet.AnchorError{StatusCode: 401, Message: "JWT expired"}},
		{"a 404 reply is an AnchorError with the anchor's message", 404, `{"error":"customer not found"}`, &wallet.AnchorError{StatusCode: 404, Message: "customer not found"}},
		{"a reply that is not JSON has no message", 502, `<html>Bad Gateway</html>`, &wallet.AnchorError{StatusCode: 502}},
		{"an error that is not a string has no message", 400, `{"error": {"code": 7}}`, &wallet.AnchorError{StatusCode: 400}},
		{"a long message is cut to 256 bytes", 400, `{"error":"` + strings.Repeat("é", 200) + `"}`, &wallet.AnchorError{StatusCode: 400, Message: strings.Repeat("é", 128)}},
		{"a redirect is not followed", 307, `{}`, &wallet.AnchorError{StatusCode: 307}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			anchor := newKYCStub(t, tc.status, tc.reply)
			err := wallet.RegisterCallback(t.Context(), anchor.url, jwt, validRegistration)
			var got *wallet.AnchorError
			if tc.want == nil && err != nil || tc.want != nil && !errors.As(err, &got) {
				t.Fatalf("RegisterCallback: %v, want %v", err, tc.want)
			}
			if diff := cmp.Diff(tc.want, got); tc.want != nil && diff != "" {
				t.Fatalf("AnchorError (-want +got):\n%s", diff)
			}
			want := []registration{{
				method: http.MethodPut, path: "/sep12/customer/callback", auth: "Bearer " + jwt,
				contentType: "application/json", body: validRegistration,
			}}
			if diff := cmp.Diff(want, anchor.got(), cmp.AllowUnexported(registration{})); diff != "" {
				t.Fatalf("requests the anchor got (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAnchorErrorText(t *testing.T) {
	for _, tc := range []struct {
		err  *wallet.AnchorError
		want string
	}{
		{&wallet.AnchorError{StatusCode: 401, Message: "JWT expired"}, `kyccb: anchor replied 401 Unauthorized: "JWT expired"`},
		{&wallet.AnchorError{StatusCode: 404}, `kyccb: anchor replied 404 Not Found`},
		{&wallet.AnchorError{StatusCode: 599, Message: "line\nbreak"}, `kyccb: anchor replied 599: "line\nbreak"`},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %s, want %s", got, tc.want)
		}
	}
}

func TestRegisterCallbackRefusals(t *testing.T) {
	anchor := newKYCStub(t, 200, `{}`)
	type call struct {
		server, jwt string
		reg         wallet.CallbackRegistration
		opts        []wallet.Option
	}
	valid := func() call { return call{anchor.url, jwt, validRegistration, nil} }
	for _, tc := range []struct {
		name   string
		mutate func(*call)
	}{
		{"an http callback URL on a public host is refused", func(c *call) { c.reg.URL = "http://wallet.example.org/kyc?token=s3cret" }},
		{"an http callback URL on a name that resolves to loopback is refused", func(c *call) { c.reg.URL = "http://127.0.0.1.nip.io/kyc" }},
		{"an ftp callback URL is refused", func(c *call) { c.reg.URL = "ftp://wallet.example.org/kyc" }},
		{"a relative callback URL is refused", func(c *call) { c.reg.URL = "/kyc" }},
		{"an empty callback URL is refused", func(c *call) { c.reg.URL = "" }},
		{"an http KYC server on a public host is refused", func(c *call) { c.server = "http://anchor.test/sep12" }},
		{"a KYC server that is not a URL is refused", func(c *call) { c.server = "anchor.test" }},
		{"an empty JWT is refused", func(c *call) { c.jwt = "" }},
		{"a JWT with Bearer is refused", func(c *call) { c.jwt = "Bearer " + jwt }},
		{"a JWT with a newline is refused", func(c *call) { c.jwt = jwt + "\r\nX-Injected: 1" }},
		{"an unknown memo type is refused", func(c *call) { c.reg.MemoType = "number" }},
		// A handler's or a sender's option, refused here at run time while
		// package kyccb had one Option for everything, no longer compiles.
		{"a key source option is refused", func(c *call) { c.opts = []wallet.Option{wallet.WithRefreshInterval(time.Minute)} }},
		{"a clock is refused", func(c *call) { c.opts = []wallet.Option{wallet.WithClock(time.Now)} }},
		{"a nil HTTP client is refused", func(c *call) { c.opts = []wallet.Option{wallet.WithHTTPClient(nil)} }},
		{"a zero timeout is refused", func(c *call) { c.opts = []wallet.Option{wallet.WithRequestTimeout(0)} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := valid()
			tc.mutate(&c)
			err := wallet.RegisterCallback(t.Context(), c.server, c.jwt, c.reg, c.opts...)
			if !errors.Is(err, kyccb.ErrConfig) {
				t.Fatalf("RegisterCallback: %v, want ErrConfig", err)
			}
			for _, secret := range []string{jwt, "s3cret"} {
				if strings.Contains(err.Error(), secret) {
					t.Fatalf("error %q repeats the JWT or the callback URL", err)
				}
			}
			if n := len(anchor.got()); n != 0 {
				t.Fatalf("%d requests reached the anchor, want none", n)
			}
		})
	}

	// The same valid call goes through, so the refusals above are the
	// mutations' doing, and so do loopback callback URLs for tests.
	for _, u := range []string{
		validRegistration.URL, "http://127.0.0.1:8000/kyc", "http://127.9.9.9/kyc",
		"http://localhost:8000/kyc", "http://LOCALHOST/kyc", "http://[::1]:8000/kyc",
	} {
		c := valid()
		c.reg.URL = u
		if err := wallet.RegisterCallback(t.Context(), c.server, c.jwt, c.reg, wallet.WithRequestTimeout(5*time.Second)); err != nil {
			t.Errorf("RegisterCallback with callback URL %s: %v", u, err)
		}
	}
	if n := len(anchor.got()); n != 6 {
		t.Fatalf("%d registrations reached the anchor, want 6", n)
	}
}

func TestKYCServer(t *testing.T) {
	for _, tc := range []struct {
		name, toml, want string
	}{
		{"KYC_SERVER is used", "KYC_SERVER = \"https://kyc.anchor.test/sep12\"\nTRANSFER_SERVER = \"https://anchor.test/sep6\"\n", "https://kyc.anchor.test/sep12"},
		{"TRANSFER_SERVER is the fallback", "TRANSFER_SERVER = \"https://anchor.test/sep6\"\n", "https://anchor.test/sep6"},
		{"neither is an error", "SIGNING_KEY = \"GCHLHDBOKG2JWMJQBTLSL5XG6NO7ESXI2TAQKZXCXWXB5WI2X6W233PR\"\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			anchor := newTOMLServer(t, tc.toml)
			got, err := wallet.KYCServer(t.Context(), anchorDomain, wallet.WithHTTPClient(anchor.client()))
			if tc.want == "" {
				if !errors.Is(err, wallet.ErrTOML) || !strings.Contains(err.Error(), "neither KYC_SERVER nor TRANSFER_SERVER") {
					t.Fatalf("KYCServer = %q, %v; want an error naming both", got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("KYCServer = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
	// https://anchor.test is read as anchor.test (TestAnchorDomainAsURL);
	// a URL with a path is not a domain.
	if _, err := wallet.KYCServer(t.Context(), "https://anchor.test/sep12"); !errors.Is(err, kyccb.ErrConfig) {
		t.Fatalf("KYCServer with a URL for a domain: %v, want ErrConfig", err)
	}
}
