package wallet_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kyccb/kyccb"
	"github.com/kyccb/kyccb/internal/wire"
	"github.com/kyccb/kyccb/kyccbtest"
	"github.com/kyccb/kyccb/wallet"
)

const passphrase = "Test SDF Network ; September 2015"

// validTOML is an anchor's stellar.toml with every field StellarTOML reads,
// all usable.
func validTOML(signingKey string) string {
	return fmt.Sprintf(`VERSION = "2.0.0"
NETWORK_PASSPHRASE = %q
SIGNING_KEY = %q
KYC_SERVER = "https://kyc.anchor.test/sep12?tenant=t1"
TRANSFER_SERVER = "https://anchor.test/sep6"
WEB_AUTH_ENDPOINT = "https://anchor.test/auth"

[DOCUMENTATION]
ORG_NAME = "Anchor"
`, passphrase, signingKey)
}

func TestStellarTOML(t *testing.T) {
	key := kyccbtest.NewKeyPair(t).Address
	anchor := newTOMLServer(t, validTOML(key))
	got, err := wallet.StellarTOML(t.Context(), anchorDomain, wallet.WithHTTPClient(anchor.client()))
	if err != nil {
		t.Fatal(err)
	}
	want := wallet.TOML{
		SigningKey:        key,
		KYCServer:         "https://kyc.anchor.test/sep12?tenant=t1",
		TransferServer:    "https://anchor.test/sep6",
		WebAuthEndpoint:   "https://anchor.test/auth",
		NetworkPassphrase: passphrase,
	}
	if got != want {
		t.Fatalf("StellarTOML = %+v, want %+v", got, want)
	}

	// Every field is optional here: a caller checks for what it needs.
	anchor.serve("VERSION = \"2.0.0\"\n", http.StatusOK)
	if got, err := wallet.StellarTOML(t.Context(), anchorDomain, wallet.WithHTTPClient(anchor.client())); err != nil || got != (wallet.TOML{}) {
		t.Fatalf("StellarTOML of a file without the fields = %+v, %v; want them empty", got, err)
	}
}

// TestStellarTOMLRefusals mutates one line of a valid stellar.toml at a
// time; each mutation must make StellarTOML fail with ErrTOML, naming the
// field and quoting nothing from the file.
func TestStellarTOMLRefusals(t *testing.T) {
	key := kyccbtest.NewKeyPair(t)
	valid := validTOML(key.Address)
	replace := func(field, value string) string {
		var out []string
		for line := range strings.Lines(valid) {
			if strings.HasPrefix(line, field+" = ") {
				line = field + " = " + value + "\n"
			}
			out = append(out, line)
		}
		return strings.Join(out, "")
	}
	for _, tc := range []struct {
		name, toml, says string
	}{
		{"the identity point as SIGNING_KEY is refused", replace("SIGNING_KEY", strconv.Quote(identityKey)), "SIGNING_KEY: is a key of small order"},
		{"the all-zero key as SIGNING_KEY is refused", replace("SIGNING_KEY", strconv.Quote(zeroKey)), "SIGNING_KEY: is a key of small order"},
		{"a seed as SIGNING_KEY is refused", replace("SIGNING_KEY", strconv.Quote(key.Seed)), "SIGNING_KEY: got a secret seed"},
		{"a SIGNING_KEY with a wrong checksum is refused", replace("SIGNING_KEY", strconv.Quote(otherLastChar(key.Address))), "SIGNING_KEY: not a Stellar public key"},
		{"a SIGNING_KEY with a trailing newline is refused", replace("SIGNING_KEY", strconv.Quote(key.Address+"\n")), "SIGNING_KEY: has leading or trailing white space"},
		{"a SIGNING_KEY that is a number is refused", replace("SIGNING_KEY", "5"), "not valid TOML, or a field read here is not a string"},
		{"an http KYC_SERVER on a public host is refused", replace("KYC_SERVER", `"http://kyc.anchor.test/sep12?tenant=t1"`), "KYC_SERVER must be https"},
		{"an http KYC_SERVER on loopback is refused in an https stellar.toml", replace("KYC_SERVER", `"http://127.0.0.1:8000/sep12?tenant=t1"`), "KYC_SERVER must be https: plain http on a loopback host is accepted only from a stellar.toml itself served on a loopback host"},
		{"an http KYC_SERVER on localhost is refused in an https stellar.toml", replace("KYC_SERVER", `"http://localhost:8000/sep12?tenant=t1"`), "KYC_SERVER must be https"},
		{"a relative KYC_SERVER is refused", replace("KYC_SERVER", `"/sep12?tenant=t1"`), "KYC_SERVER is not an absolute URL"},
		{"an ftp TRANSFER_SERVER is refused", replace("TRANSFER_SERVER", `"ftp://anchor.test/sep6?tenant=t1"`), "TRANSFER_SERVER must be https"},
		{"an http WEB_AUTH_ENDPOINT on loopback is refused in an https stellar.toml", replace("WEB_AUTH_ENDPOINT", `"http://[::1]:8000/auth?tenant=t1"`), "WEB_AUTH_ENDPOINT must be https"},
		{"a file that is not TOML is refused, with the line", replace("KYC_SERVER", `"https://kyc.anchor.test/sep12?tenant=t1`), "not valid TOML, or a field read here is not a string (line 4)"},
		{"a file over 100 KiB is refused", valid + "# " + strings.Repeat("x", 100<<10) + "\n", "larger than 100 KiB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			anchor := newTOMLServer(t, tc.toml)
			got, err := wallet.StellarTOML(t.Context(), anchorDomain, wallet.WithHTTPClient(anchor.client()))
			if !errors.Is(err, wallet.ErrTOML) || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("StellarTOML = %+v, %v; want ErrTOML saying %q", got, err, tc.says)
			}
			for _, quoted := range []string{"tenant", key.Seed, "xxxx"} {
				if strings.Contains(err.Error(), quoted) {
					t.Fatalf("error %q quotes the file", err)
				}
			}
		})
	}

	// The file at exactly 100 KiB is read.
	pad := 100<<10 - len(valid) - len("# \n")
	anchor := newTOMLServer(t, valid+"# "+strings.Repeat("x", pad)+"\n")
	if _, err := wallet.StellarTOML(t.Context(), anchorDomain, wallet.WithHTTPClient(anchor.client())); err != nil {
		t.Fatalf("a stellar.toml of exactly 100 KiB: %v", err)
	}
}

// TestTOMLURLsFromLoopback checks the rule on plain-http URLs: a local
// anchor's stellar.toml, itself fetched over plain http from a loopback
// host, may name plain-http loopback URLs, and nothing else may; the JWT
// never reaches a plain-http URL named by an https stellar.toml.
func TestTOMLURLsFromLoopback(t *testing.T) {
	// What listens on the wallet's loopback interface: it must never see
	// the JWT unless a local anchor's stellar.toml sent the wallet there.
	var stolen atomic.Int64
	local := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			stolen.Add(1)
		}
	}))
	t.Cleanup(local.Close)
	const jwt = "wallet.jwt.token"
	reg := wallet.CallbackRegistration{URL: "https://wallet.example.org/kyc"}

	t.Run("an https stellar.toml cannot send the JWT to plain http on loopback", func(t *testing.T) {
		anchor := newTOMLServer(t, signingTOML(kyccbtest.NewKeyPair(t).Address)+fmt.Sprintf("KYC_SERVER = %q\n", local.URL))
		server, err := wallet.KYCServer(t.Context(), anchorDomain, wallet.WithHTTPClient(anchor.client()))
		if err == nil {
			// What a wallet does next with the URL it was given.
			wallet.RegisterCallback(t.Context(), server, jwt, reg)
		}
		if n := stolen.Load(); n != 0 {
			t.Errorf("%d requests with the JWT reached the loopback server", n)
		}
		if !errors.Is(err, wallet.ErrTOML) || server != "" {
			t.Fatalf("KYCServer = %q, %v; want ErrTOML", server, err)
		}
	})

	// A local anchor: its stellar.toml on a loopback host:port, over http.
	var toml atomic.Value
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, toml.Load().(string))
	}))
	t.Cleanup(web.Close)
	domain := web.Listener.Addr().String()
	for _, tc := range []struct {
		name, toml string
		ok         bool
	}{
		{"a local stellar.toml may name a plain-http loopback KYC_SERVER", fmt.Sprintf("KYC_SERVER = %q\nWEB_AUTH_ENDPOINT = %q\n", local.URL, local.URL+"/auth"), true},
		{"a local stellar.toml may name an https KYC_SERVER", "KYC_SERVER = \"https://anchor.test/sep12\"\n", true},
		{"a local stellar.toml may not name a plain-http public KYC_SERVER", "KYC_SERVER = \"http://anchor.test/sep12\"\n", false},
		{"a local stellar.toml may not name a plain-http public WEB_AUTH_ENDPOINT", "WEB_AUTH_ENDPOINT = \"http://anchor.test/auth\"\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			toml.Store(tc.toml)
			_, err := wallet.StellarTOML(t.Context(), domain)
			if tc.ok && err != nil || !tc.ok && !errors.Is(err, wallet.ErrTOML) {
				t.Fatalf("StellarTOML: %v, want ok %t", err, tc.ok)
			}
		})
	}

	toml.Store(fmt.Sprintf("KYC_SERVER = %q\n", local.URL))
	server, err := wallet.KYCServer(t.Context(), domain)
	if err != nil || server != local.URL {
		t.Fatalf("KYCServer of the local anchor = %q, %v; want %q", server, err, local.URL)
	}
	if err := wallet.RegisterCallback(t.Context(), server, jwt, reg); err != nil {
		t.Fatalf("RegisterCallback with the local anchor: %v", err)
	}
	if n := stolen.Load(); n != 1 {
		t.Fatalf("the local anchor got %d registrations, want 1", n)
	}
}

// The two small-order keys of the finding "small-order signing keys are
// trusted": the identity point (y = 1) and the all-zero encoding (y = 0, a
// point of order 4).
var (
	identityKey = wire.Address(append([]byte{1}, make([]byte, 31)...))
	zeroKey     = wire.Address(make([]byte, 32))
)

// TestTOMLKeysRefusesSmallOrderKeys publishes each small-order key as the
// anchor's SIGNING_KEY and sends a callback "signed" without any secret
// (R the identity, S zero), which ed25519 verifies under that key: the key
// source must refuse the key, and the verifier the callback.
func TestTOMLKeysRefusesSmallOrderKeys(t *testing.T) {
	if identityKey != "GAAQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAHV4" || zeroKey != "GAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAWHF" {
		t.Fatalf("the small-order keys are %s and %s", identityKey, zeroKey)
	}
	forged := make([]byte, ed25519.SignatureSize)
	forged[0] = 1 // R: the identity point; S: zero
	for _, address := range []string{identityKey, zeroKey} {
		t.Run(address, func(t *testing.T) {
			anchor := newTOMLServer(t, signingTOML(address))
			keys, err := wallet.NewTOMLKeys(anchorDomain, wallet.WithHTTPClient(anchor.client()))
			if err != nil {
				t.Fatal(err)
			}
			if got, err := keys.SigningKeys(t.Context()); !errors.Is(err, wallet.ErrTOML) || !strings.Contains(err.Error(), "small order") {
				t.Fatalf("SigningKeys = %d keys, %v; want ErrTOML for a key of small order", len(got), err)
			}

			var mu sync.Mutex
			var ran int
			mux := http.NewServeMux()
			srv := httptest.NewServer(mux)
			t.Cleanup(srv.Close)
			v, err := kyccb.NewSEP12Verifier(keys, srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			mux.Handle("/", v.Handler(func(context.Context, kyccb.Customer) error {
				mu.Lock()
				defer mu.Unlock()
				ran++
				return nil
			}))

			// A body under which the forged signature verifies with the
			// raw key: every body for the identity, one in four for the
			// all-zero key.
			raw := ed25519.PublicKey(make([]byte, 32))
			if address == identityKey {
				raw[0] = 1
			}
			now := strconv.FormatInt(time.Now().Unix(), 10)
			var body []byte
			for i := 0; body == nil; i++ {
				b := fmt.Appendf(nil, `{"id":"c-%d","status":"ACCEPTED"}`, i)
				if ed25519.Verify(raw, wire.SignedMessage(nil, now, srv.Listener.Addr().String(), b), forged) {
					body = b
				}
			}
			req, err := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(string(body)))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set(kyccb.SignatureHeader, "t="+now+", s="+base64.StdEncoding.EncodeToString(forged))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			mu.Lock()
			defer mu.Unlock()
			if resp.StatusCode != http.StatusServiceUnavailable || ran != 0 {
				t.Fatalf("a callback signed without any secret: status %d, function ran %d times; want 503 (no usable key) and none", resp.StatusCode, ran)
			}
		})
	}
}
