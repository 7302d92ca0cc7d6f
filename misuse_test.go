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
	onTx := func(context.Context, kyccb.Transaction) error { return nil }
	for _, c := range []struct {
		name, panicPrefix string
		build             func()
	}{
		{"SEP12 with a seed for a key", "kyccb.SEP12: invalid configuration: signing key got a secret seed", func() { kyccb.SEP12(testSeed, testHost, fn) }},
		{"SEP12 with an empty host", "kyccb.SEP12: invalid configuration: empty host", func() { kyccb.SEP12(testAddress, "", fn) }},
		{"SEP12 with an XGateway option", "kyccb.SEP12: invalid configuration: ", func() {
			kyccb.SEP12(testAddress, testHost, fn, kyccb.WithXGatewayBankAccount(func(context.Context, kyccb.XGatewayBankAccount) error { return nil }))
		}},
		{"SEP12 with a nil option", "kyccb.SEP12: invalid configuration: ", func() { kyccb.SEP12(testAddress, testHost, fn, nil) }},
		{"SEP12 with a nil function", "kyccb.SEP12: invalid configuration: nil callback function", func() { kyccb.SEP12(testAddress, testHost, nil) }},
		{"XGateway with an empty secret", "kyccb.XGateway: invalid configuration: ", func() { kyccb.XGateway("", func(context.Context, kyccb.XGatewayKYC) error { return nil }) }},
		{"XGateway with a tolerance", "kyccb.XGateway: invalid configuration: ", func() {
			kyccb.XGateway(testSecret, func(context.Context, kyccb.XGatewayKYC) error { return nil }, kyccb.WithTolerance(time.Minute))
		}},
		{"XGateway with a nil function", "kyccb.XGateway: invalid configuration: nil callback function", func() { kyccb.XGateway(testSecret, nil) }},
		{"a verifier's Handler with nil", "kyccb.SEP12Verifier.Handler: invalid configuration: nil callback function", func() { sep12Verifier(t).Handler(nil) }},
		{"Transactions with a seed for a key", "kyccb.Transactions: invalid configuration: signing key got a secret seed", func() { kyccb.Transactions(testSeed, testHost, onTx) }},
		{"Transactions with a nil function", "kyccb.Transactions: invalid configuration: nil callback function", func() { kyccb.Transactions(testAddress, testHost, nil) }},
		{"Transactions with the key and host swapped", "kyccb.Transactions: invalid configuration: the host is a Stellar public key and the signing key is not: are they swapped? Transactions(signingKey, host, fn)", func() { kyccb.Transactions(testHost, testAddress, onTx) }},
		{"a verifier's TransactionHandler with nil", "kyccb.SEP12Verifier.TransactionHandler: invalid configuration: nil callback function", func() { sep12Verifier(t).TransactionHandler(nil) }},
		{"a verifier's CombinedHandler with nil", "kyccb.SEP12Verifier.CombinedHandler: invalid configuration: nil callback function", func() { sep12Verifier(t).CombinedHandler(fn, nil) }},
		{"NewMemoryStore with a zero option", "kyccb.NewMemoryStore: invalid configuration: ", func() { kyccb.NewMemoryStore(kyccb.MemoryOption{}) }},
		{"NewMemoryStore with a bad capacity", "kyccb.NewMemoryStore: invalid configuration: ", func() { kyccb.NewMemoryStore(kyccb.WithMaxEntries(0)) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				err, ok := recover().(error)
				if !ok || !errors.Is(err, kyccb.ErrConfig) {
					t.Fatalf("panicked with %v, want an error matching ErrConfig", err)
				}
				// The constructor called, once, then the reason.
				if !strings.HasPrefix(err.Error(), c.panicPrefix) || strings.Contains(err.Error(), "kyccb: ") {
					t.Errorf("panic %q, want it to start %q and not repeat the package", err, c.panicPrefix)
				}
				if strings.Contains(err.Error(), testSeed) {
					t.Errorf("the panic repeats the seed: %v", err)
				}
			}()
			c.build()
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

// Hosts no callback URL can have would reject every callback: they are
// refused at construction, with the reason, and hosts URLs do have are
// accepted.
func TestHostsThatCanNeverMatch(t *testing.T) {
	keys, err := kyccb.ParseKeys(testAddress)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ host, says string }{
		{"*", "wildcard"},
		{"*.example.org", "wildcard"},
		{"wallet.*.org", "wildcard"},
		{"https://*.example.org/kyc", "wildcard"},
		{"wallet..example.org", "empty label"},
		{".example.org", "empty label"},
		{"wallet.example.org..", "empty label"},
		{":8080", "empty label"},
		{"wallet.example.org:", "port"},
		{"wallet.example.org:http", "port"},
		{"wallet.example.org:0", "port"},
		{"wallet.example.org:65536", "port"},
		{"::1", "brackets"},
		{"[::1", "brackets"},
		{"[wallet.example.org]:80", "brackets"},
		{"wallet!.example.org", "character"},
		{"wallet,example.org", "character"},
		{"[::1]x", "character"},
	} {
		t.Run(c.host, func(t *testing.T) {
			_, err := kyccb.NewSEP12Verifier(keys, c.host)
			if !errors.Is(err, kyccb.ErrConfig) || !strings.Contains(err.Error(), c.says) {
				t.Errorf("NewSEP12Verifier: %v, want ErrConfig saying %q", err, c.says)
			}
			if _, err := kyccb.SignSEP12(testSeed, c.host, []byte(customerJSON), signedAt); !errors.Is(err, kyccb.ErrConfig) {
				t.Errorf("SignSEP12: %v, want ErrConfig", err)
			}
		})
	}
	for _, host := range []string{
		"wallet.example.org", "wallet.example.org:8443", "WALLET.Example.org.", "my_host.internal",
		"127.0.0.1:8080", "[::1]:8080", "[2001:db8::1]", "localhost", "bücher.example", "xn--bcher-kva.example",
		"https://wallet.example.org/kyc", "http://127.0.0.1:8080/kyc",
	} {
		if _, err := kyccb.NewSEP12Verifier(keys, host); err != nil {
			t.Errorf("NewSEP12Verifier(%q): %v", host, err)
		}
	}
}

// The usual slips with keys and hosts get a "looks like" hint: several
// keys in one string, the key and the host swapped.
func TestKeyAndHostSlipsGetHints(t *testing.T) {
	other := kyccbtest.NewKeyPair(t).Address
	for _, sep := range []string{",", ", ", " "} {
		_, err := kyccb.ParseKeys(testAddress + sep + other)
		if !errors.Is(err, kyccb.ErrConfig) || !strings.Contains(err.Error(), "looks like several keys in one string: give each as an argument of its own") {
			t.Errorf("ParseKeys of two keys joined by %q: %v", sep, err)
		}
		if strings.Contains(err.Error(), other) {
			t.Errorf("the error repeats a key: %v", err)
		}
	}
	if _, err := kyccb.ParseKeys(testAddress + ",GNOTAKEY"); err == nil || strings.Contains(err.Error(), "several keys") {
		t.Errorf("a key and something else joined by a comma: %v, want no several-keys hint", err)
	}

	keys, err := kyccb.ParseKeys(testAddress)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kyccb.NewSEP12Verifier(keys, other); !errors.Is(err, kyccb.ErrConfig) || !strings.Contains(err.Error(), "are the key and the host swapped?") {
		t.Errorf("NewSEP12Verifier with a key for the host: %v", err)
	}
	func() {
		defer func() {
			err, _ := recover().(error)
			if !errors.Is(err, kyccb.ErrConfig) || !strings.Contains(err.Error(), "are they swapped?") {
				t.Errorf("SEP12(host, key, fn) panicked with %v, want ErrConfig asking whether they are swapped", err)
			}
		}()
		kyccb.SEP12(testHost, testAddress, func(context.Context, kyccb.Customer) error { return nil })
	}()
}
