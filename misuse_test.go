package kyccb_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kyccb/kyccb"
	"github.com/kyccb/kyccb/kyccbtest"
)

// TestOptionOfAnotherRoleDoesNotCompile builds small programs that give
// kyccb.SEP12 an option of the sending or the wallet package: each must
// fail to compile, on that option, while the same program with a receiver
// option builds.
func TestOptionOfAnotherRoleDoesNotCompile(t *testing.T) {
	if testing.Short() {
		t.Skip("builds programs with the go command: run without -short")
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is not on PATH: %v", err)
	}
	// Inside the module, so that the programs import this checkout; the
	// leading underscore keeps ./... patterns away from it.
	dir, err := os.MkdirTemp(".", "_misuse")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)

	const program = `package main

import (
	"context"
	"time"

	"github.com/kyccb/kyccb"
	"github.com/kyccb/kyccb/send"
	"github.com/kyccb/kyccb/wallet"
)

var _, _, _ = send.WithAttempts, wallet.WithRefreshInterval, time.Second

func main() {
	kyccb.SEP12("GCHLHDBOKG2JWMJQBTLSL5XG6NO7ESXI2TAQKZXCXWXB5WI2X6W233PR", "wallet.example.org",
		func(context.Context, kyccb.Customer) error { return nil }, OPTION)
}
`
	for _, c := range []struct {
		option  string
		compile bool
	}{
		{"kyccb.WithTolerance(time.Minute)", true},
		{"send.WithAttempts(3)", false},
		{"send.WithHTTPClient(nil)", false},
		{"wallet.WithRefreshInterval(time.Minute)", false},
		{"wallet.WithRequestTimeout(time.Second)", false},
	} {
		t.Run(c.option, func(t *testing.T) {
			pkg := filepath.Join(dir, strings.NewReplacer(".", "_", "(", "_", ")", "_", " ", "_").Replace(c.option))
			if err := os.MkdirAll(pkg, 0o755); err != nil {
				t.Fatal(err)
			}
			src := strings.Replace(program, "OPTION", c.option, 1)
			if err := os.WriteFile(filepath.Join(pkg, "main.go"), []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(goCmd, "build", "-o", os.DevNull, "./"+filepath.ToSlash(pkg)).CombinedOutput()
			switch {
			case c.compile && err != nil:
				t.Fatalf("the program with a receiver option does not build: %v\n%s", err, out)
			case !c.compile && err == nil:
				t.Fatalf("SEP12 accepted %s: it compiled", c.option)
			case !c.compile && !strings.Contains(string(out), "cannot use "+c.option):
				t.Fatalf("the build failed, but not on the option:\n%s", out)
			}
		})
	}
}

// Constructors that cannot return an error panic with one that matches
// ErrConfig.
func TestConstructorPanicsMatchErrConfig(t *testing.T) {
	fn := func(context.Context, kyccb.Customer) error { return nil }
	for name, build := range map[string]func(){
		"SEP12 with a seed for a key": func() { kyccb.SEP12(testSeed, testHost, fn) },
		"SEP12 with an empty host":    func() { kyccb.SEP12(testAddress, "", fn) },
		"SEP12 with an XGateway option": func() {
			kyccb.SEP12(testAddress, testHost, fn, kyccb.WithXGatewayBankAccount(func(context.Context, kyccb.XGatewayBankAccount) error { return nil }))
		},
		"SEP12 with a nil option":       func() { kyccb.SEP12(testAddress, testHost, fn, nil) },
		"XGateway with an empty secret": func() { kyccb.XGateway("", func(context.Context, kyccb.XGatewayKYC) error { return nil }) },
		"XGateway with a tolerance": func() {
			kyccb.XGateway(testSecret, func(context.Context, kyccb.XGatewayKYC) error { return nil }, kyccb.WithTolerance(time.Minute))
		},
		"a verifier's Handler with nil":      func() { sep12Verifier(t).Handler(nil) },
		"NewMemoryStore with a zero option":  func() { kyccb.NewMemoryStore(kyccb.MemoryOption{}) },
		"NewMemoryStore with a bad capacity": func() { kyccb.NewMemoryStore(kyccb.WithMaxEntries(0)) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				err, ok := recover().(error)
				if !ok || !errors.Is(err, kyccb.ErrConfig) {
					t.Fatalf("panicked with %v, want an error matching ErrConfig", err)
				}
				if strings.Contains(err.Error(), testSeed) {
					t.Errorf("the panic repeats the seed: %v", err)
				}
			}()
			build()
		})
	}
}

// Key errors say what is wrong with the key (white space around it, the
// other kind of key) and never repeat it.
func TestKeyErrorsSayWhatIsWrong(t *testing.T) {
	for _, c := range []struct {
		name, key, want string
	}{
		{"a public key with a trailing newline", testAddress + "\n", "has leading or trailing white space"},
		{"a public key with a leading space", " " + testAddress, "has leading or trailing white space"},
		{"a secret seed for a public key", testSeed, "got a secret seed (S...), want the public key (G...)"},
		{"not a key", "GNOTAKEY", "not a Stellar public key (G...)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := kyccb.ParseKeys(c.key)
			if !errors.Is(err, kyccb.ErrConfig) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("ParseKeys: %v, want ErrConfig saying %q", err, c.want)
			}
			if strings.Contains(err.Error(), strings.TrimSpace(c.key)) {
				t.Errorf("the error repeats the key: %v", err)
			}
		})
	}
	for _, c := range []struct {
		name, seed, want string
	}{
		{"a public key for a seed", testAddress, "got a public key (G...), want the secret seed, which starts with S"},
		{"a seed with a trailing newline", testSeed + "\n", "has leading or trailing white space"},
	} {
		t.Run("SignSEP12 with "+c.name, func(t *testing.T) {
			_, err := kyccb.SignSEP12(c.seed, testHost, []byte(customerJSON), signedAt)
			if !errors.Is(err, kyccb.ErrConfig) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("SignSEP12: %v, want ErrConfig saying %q", err, c.want)
			}
			if strings.Contains(err.Error(), strings.TrimSpace(c.seed)) {
				t.Errorf("the error repeats the key: %v", err)
			}
		})
	}
}

// A middleware before kyccb that reads the body and does not restore it
// leaves kyccb an empty body: the logged error says so, the sentinel stays
// ErrMalformedBody and the reply does not.
func TestBodyReadBeforeKyccb(t *testing.T) {
	readFirst := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body) // a logger that forgets to restore it
			h.ServeHTTP(w, r)
		})
	}
	const want = "empty body: did something read it before kyccb?"
	var reason error
	hook := kyccb.WithErrorHook(func(_ *http.Request, err error) { reason = err })
	called := false
	sep12 := kyccb.SEP12(testAddress, testHost, func(context.Context, kyccb.Customer) error { called = true; return nil },
		hook, kyccb.WithClock(func() time.Time { return signedAt }))
	xgw := kyccb.XGateway(testSecret, func(context.Context, kyccb.XGatewayKYC) error { called = true; return nil }, hook)
	for _, c := range []struct {
		name string
		h    http.Handler
		req  func() *http.Request
	}{
		{"SEP-12", sep12, func() *http.Request {
			return kyccbtest.SignedRequest(t, testSeed, "https://"+testHost+"/kyc", []byte(customerJSON), signedAt)
		}},
		{"XGateway", xgw, func() *http.Request {
			body := kyccbtest.XGatewayBody(t, testSecret, kyccb.XGatewayKYC{CustomerID: "c-1", Status: kyccb.XGatewayFullUser})
			return httptest.NewRequest(http.MethodPost, "/xgw", bytes.NewReader(body))
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			// The same request reaches the handler whole first: only the
			// earlier read makes it fail.
			rec := httptest.NewRecorder()
			c.h.ServeHTTP(rec, c.req())
			if rec.Code != http.StatusOK || !called {
				t.Fatalf("the request unread: %d, called %v", rec.Code, called)
			}
			called, reason = false, nil
			rec = httptest.NewRecorder()
			readFirst(c.h).ServeHTTP(rec, c.req())
			if rec.Code != http.StatusBadRequest || called {
				t.Errorf("status %d, called %v; want 400, not called", rec.Code, called)
			}
			if !errors.Is(reason, kyccb.ErrMalformedBody) || !strings.Contains(reason.Error(), want) {
				t.Errorf("reason %v, want ErrMalformedBody saying %q", reason, want)
			}
			if strings.Contains(rec.Body.String(), "did something") {
				t.Errorf("the reply carries the diagnosis: %q", rec.Body.String())
			}
		})
	}
}
