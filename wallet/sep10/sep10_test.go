package sep10_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kyccb/kyccb"
	"github.com/kyccb/kyccb/wallet"
	"github.com/kyccb/kyccb/wallet/sep10"
	"github.com/stellar/go-stellar-sdk/keypair"
	"github.com/stellar/go-stellar-sdk/network"
	"github.com/stellar/go-stellar-sdk/txnbuild"
)

// The Anchor Platform's test key pair (PROTOCOLS.md) as the anchor's, and a
// fixed account.
const (
	serverSeed  = "SAX3AH622R2XT6DXWWSRIDCMMUCCMATBZ5U6XKJWDO7M2EJUBFC3AW5X"
	serverKey   = "GCHLHDBOKG2JWMJQBTLSL5XG6NO7ESXI2TAQKZXCXWXB5WI2X6W233PR"
	accountSeed = "SDEZUAPD76B7BQ3HVC4KXRJHVE7LWRK3ISINO7JN7FFDT77LXDYEKZNL"
	testToken   = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ0ZXN0In0.c2lnbmF0dXJl"
)

var passphrase = network.TestNetworkPassphrase

// challenge describes one challenge a fake anchor serves. The zero values
// of the mutable fields mean the valid challenge.
type challenge struct {
	signer        string // seed that signs; default serverSeed
	source        string // transaction source; default the signer's address
	homeDomain    string // default the anchor's
	webAuthDomain string // default the anchor's
	account       string // first operation's source; default the client's
	min, max      time.Time
	memo          *txnbuild.MemoID
	network       string // signed for; default passphrase
}

// build makes a challenge as txnbuild.BuildChallengeTx does, with every
// part open to change.
func (c challenge) build(t *testing.T, homeDomain, webAuthDomain, account string) string {
	t.Helper()
	signer := keypair.MustParseFull(or(c.signer, serverSeed))
	nonce := make([]byte, 48)
	rand.Read(nonce)
	now := time.Now()
	min, max := now, now.Add(5*time.Minute)
	if !c.min.IsZero() {
		min, max = c.min, c.max
	}
	params := txnbuild.TransactionParams{
		SourceAccount: &txnbuild.SimpleAccount{AccountID: or(c.source, signer.Address()), Sequence: 0},
		Operations: []txnbuild.Operation{
			&txnbuild.ManageData{SourceAccount: or(c.account, account), Name: or(c.homeDomain, homeDomain) + " auth", Value: []byte(base64.StdEncoding.EncodeToString(nonce))},
			&txnbuild.ManageData{SourceAccount: or(c.source, signer.Address()), Name: "web_auth_domain", Value: []byte(or(c.webAuthDomain, webAuthDomain))},
		},
		BaseFee:       txnbuild.MinBaseFee,
		Preconditions: txnbuild.Preconditions{TimeBounds: txnbuild.NewTimebounds(min.Unix(), max.Unix())},
	}
	if c.memo != nil {
		params.Memo = *c.memo
	}
	tx, err := txnbuild.NewTransaction(params)
	if err != nil {
		t.Fatal(err)
	}
	if tx, err = tx.Sign(or(c.network, passphrase), signer); err != nil {
		t.Fatal(err)
	}
	x, err := tx.Base64()
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func or(s, def string) string {
	if s != "" {
		return s
	}
	return def
}

// fakeAnchor is a SEP-10 server on loopback whose GET serves what
// challenge returns and whose POST verifies the signed challenge with
// txnbuild, as a real anchor does.
type fakeAnchor struct {
	srv       *httptest.Server
	challenge func(t *testing.T, account string) string
	// reply, if set, replaces the POST's reply.
	reply    func(w http.ResponseWriter)
	netReply string // network_passphrase in the GET reply
	gets     atomic.Int32
	posts    atomic.Int32
	verified atomic.Int32
}

func newFakeAnchor(t *testing.T) *fakeAnchor {
	f := &fakeAnchor{netReply: passphrase}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.Method {
		case http.MethodGet:
			f.gets.Add(1)
			json.NewEncoder(w).Encode(map[string]string{
				"transaction":        f.challenge(t, r.URL.Query().Get("account")),
				"network_passphrase": f.netReply,
			})
		case http.MethodPost:
			f.posts.Add(1)
			var body struct{ Transaction string }
			if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			if f.reply != nil {
				f.reply(w)
				return
			}
			host := f.srv.Listener.Addr().String()
			_, account, _, _, err := txnbuild.ReadChallengeTx(body.Transaction, serverKey, passphrase, host, []string{host})
			if err == nil {
				_, err = txnbuild.VerifyChallengeTxSigners(body.Transaction, serverKey, passphrase, host, []string{host}, account)
			}
			if err != nil {
				w.WriteHeader(http.StatusBadRequest)
				json.NewEncoder(w).Encode(map[string]string{"error": "invalid challenge"})
				return
			}
			f.verified.Add(1)
			json.NewEncoder(w).Encode(map[string]string{"token": testToken})
		}
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// anchor returns the Anchor the fake anchor's stellar.toml would describe.
func (f *fakeAnchor) anchor() sep10.Anchor {
	host := f.srv.Listener.Addr().String()
	return sep10.Anchor{WebAuthEndpoint: f.srv.URL + "/auth", SigningKey: serverKey, HomeDomain: host, NetworkPassphrase: passphrase}
}

// TestAuthenticateRefusesLongLivedChallenge is finding 7 of the second
// red-team round: Authenticate signed a challenge valid for ten years,
// though a signed challenge is as good as a password until it expires.
// SEP-10 recommends 15 minutes; more than an hour is refused, and nothing
// signed reaches the anchor.
func TestAuthenticateRefusesLongLivedChallenge(t *testing.T) {
	now := time.Now()
	for _, tt := range []struct {
		name     string
		min, max time.Time
	}{
		{"ten years", now, now.AddDate(10, 0, 0)},
		{"two hours", now, now.Add(2 * time.Hour)},
		{"an hour and two minutes, started long ago", now.Add(-time.Hour), now.Add(62 * time.Minute)},
		{"until the largest unix time", now, time.Unix(1<<62, 0)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAnchor(t)
			f.challenge = func(t *testing.T, acc string) string {
				host := f.srv.Listener.Addr().String()
				return challenge{min: tt.min, max: tt.max}.build(t, host, host, acc)
			}
			jwt, err := sep10.Authenticate(context.Background(), f.anchor(), accountSeed)
			if !errors.Is(err, sep10.ErrChallenge) || jwt != "" {
				t.Fatalf("Authenticate = %q, %v; want ErrChallenge", jwt, err)
			}
			if !strings.Contains(err.Error(), "more than 1h0m0s from now") {
				t.Errorf("the error does not say why: %v", err)
			}
			if f.posts.Load() != 0 {
				t.Error("the long-lived challenge was signed and sent")
			}
		})
	}
}

func TestAuthenticate(t *testing.T) {
	other := keypair.MustRandom()
	memo := txnbuild.MemoID(42)
	past := time.Now().Add(-10 * time.Minute)
	future := time.Now().Add(time.Hour)

	tests := []struct {
		name      string
		challenge challenge
		opts      []sep10.Option
		netReply  string
		reply     func(http.ResponseWriter)
		want      error  // nil: the token
		wantText  string // in the error, if set
		posted    bool   // whether a signed challenge reached the anchor
	}{
		{name: "A valid challenge gives the anchor's token", posted: true},
		{name: "A challenge signed by another key", challenge: challenge{signer: other.Seed()}, want: sep10.ErrServerKey},
		{name: "A challenge from the anchor's account signed by another key", challenge: challenge{signer: other.Seed(), source: serverKey}, want: sep10.ErrServerKey},
		{name: "A challenge signed for another network", challenge: challenge{network: network.PublicNetworkPassphrase}, want: sep10.ErrServerKey},
		{name: "An expired challenge", challenge: challenge{min: past, max: past.Add(5 * time.Minute)}, want: sep10.ErrChallengeTimeBounds},
		{name: "A challenge valid only an hour from now", challenge: challenge{min: future, max: future.Add(5 * time.Minute)}, want: sep10.ErrChallengeTimeBounds},
		{name: "A challenge valid for 15 minutes, as SEP-10 recommends", challenge: challenge{min: time.Now(), max: time.Now().Add(15 * time.Minute)}, posted: true},
		{name: "A challenge valid for 55 minutes", challenge: challenge{min: time.Now(), max: time.Now().Add(55 * time.Minute)}, posted: true},
		{name: "A challenge for another home domain", challenge: challenge{homeDomain: "evil.example.com"}, want: sep10.ErrChallenge},
		{name: "A challenge for another web auth domain", challenge: challenge{webAuthDomain: "evil.example.com"}, want: sep10.ErrChallenge},
		{name: "A challenge for another account", challenge: challenge{account: other.Address()}, want: sep10.ErrChallenge},
		{name: "A challenge with a memo not asked for", challenge: challenge{memo: &memo}, want: sep10.ErrChallenge},
		{name: "A challenge without the memo asked for", opts: []sep10.Option{sep10.WithMemo(42)}, want: sep10.ErrChallenge},
		{name: "A challenge with the memo asked for", challenge: challenge{memo: &memo}, opts: []sep10.Option{sep10.WithMemo(42)}, posted: true},
		{name: "A reply naming another network", netReply: network.PublicNetworkPassphrase, want: sep10.ErrChallenge},
		{
			name: "The anchor refuses the signed challenge",
			reply: func(w http.ResponseWriter) {
				w.WriteHeader(http.StatusUnauthorized)
				w.Write([]byte(`{"error":"nope"}`))
			},
			want:     sep10.ErrRefused,
			wantText: `signed challenge: 401 Unauthorized: "nope"`,
			posted:   true,
		},
		{
			name:   "A reply without a token",
			reply:  func(w http.ResponseWriter) { w.Write([]byte(`{"jwt":"x"}`)) },
			want:   sep10.ErrBadReply,
			posted: true,
		},
		{
			name:   "A redirect instead of a token",
			reply:  func(w http.ResponseWriter) { w.Header().Set("Location", "/elsewhere"); w.WriteHeader(http.StatusFound) },
			want:   sep10.ErrRefused,
			posted: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAnchor(t)
			f.challenge = func(t *testing.T, acc string) string {
				host := f.srv.Listener.Addr().String()
				return tt.challenge.build(t, host, host, acc)
			}
			if tt.netReply != "" {
				f.netReply = tt.netReply
			}
			f.reply = tt.reply
			jwt, err := sep10.Authenticate(context.Background(), f.anchor(), accountSeed, tt.opts...)
			if tt.want == nil {
				if err != nil || jwt != testToken {
					t.Fatalf("Authenticate = %q, %v; want the token", jwt, err)
				}
				if f.verified.Load() != 1 {
					t.Error("the anchor did not verify the signed challenge")
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Authenticate error = %v, want %v", err, tt.want)
			}
			if jwt != "" {
				t.Errorf("Authenticate returned a token with its error")
			}
			if !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("Authenticate error = %q, want it to contain %q", err, tt.wantText)
			}
			if strings.Contains(err.Error(), accountSeed) || strings.Contains(err.Error(), testToken) {
				t.Errorf("the error repeats the seed or the token: %v", err)
			}
			if got := f.posts.Load() > 0; got != tt.posted {
				t.Errorf("signed challenge sent: %v, want %v", got, tt.posted)
			}
		})
	}
}

// TestAuthenticateSDKChallenge checks that a challenge built by
// go-stellar-sdk's own BuildChallengeTx, not by the test's builder, passes.
func TestAuthenticateSDKChallenge(t *testing.T) {
	f := newFakeAnchor(t)
	f.challenge = func(t *testing.T, account string) string {
		host := f.srv.Listener.Addr().String()
		tx, err := txnbuild.BuildChallengeTx(serverSeed, account, host, host, passphrase, 5*time.Minute, nil)
		if err != nil {
			t.Error(err)
			return ""
		}
		x, err := tx.Base64()
		if err != nil {
			t.Error(err)
		}
		return x
	}
	jwt, err := sep10.Authenticate(context.Background(), f.anchor(), accountSeed)
	if err != nil || jwt != testToken {
		t.Fatalf("Authenticate = %q, %v; want the token", jwt, err)
	}
}

// TestAuthenticateConfig checks that unusable settings fail before any
// request, and that no error repeats the seed.
func TestAuthenticateConfig(t *testing.T) {
	f := newFakeAnchor(t)
	f.challenge = func(*testing.T, string) string { return "" }
	valid := f.anchor()
	tests := []struct {
		name   string
		mutate func(*sep10.Anchor)
		seed   string
		opts   []sep10.Option
	}{
		{name: "Plain http to a host that is not loopback", mutate: func(a *sep10.Anchor) { a.WebAuthEndpoint = "http://anchor.example.com/auth" }},
		{name: "An endpoint that is not a URL", mutate: func(a *sep10.Anchor) { a.WebAuthEndpoint = "anchor.example.com/auth" }},
		{name: "An ftp endpoint", mutate: func(a *sep10.Anchor) { a.WebAuthEndpoint = "ftp://127.0.0.1/auth" }},
		{name: "A seed as the signing key", mutate: func(a *sep10.Anchor) { a.SigningKey = serverSeed }},
		{name: "No home domain", mutate: func(a *sep10.Anchor) { a.HomeDomain = "" }},
		{name: "A home domain too long for a manage data name", mutate: func(a *sep10.Anchor) { a.HomeDomain = strings.Repeat("a", 60) }},
		{name: "No network passphrase", mutate: func(a *sep10.Anchor) { a.NetworkPassphrase = "" }},
		{name: "An address as the account seed", seed: keypair.MustParseFull(accountSeed).Address()},
		{name: "A seed with one character changed", seed: accountSeed[:10] + "A" + accountSeed[11:]},
		{name: "A nil HTTP client", opts: []sep10.Option{sep10.WithHTTPClient(nil)}},
		{name: "A zero request timeout", opts: []sep10.Option{sep10.WithRequestTimeout(0)}},
		{name: "A nil option", opts: []sep10.Option{nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := valid
			if tt.mutate != nil {
				tt.mutate(&a)
			}
			seed := or(tt.seed, accountSeed)
			_, err := sep10.Authenticate(context.Background(), a, seed, tt.opts...)
			if !errors.Is(err, kyccb.ErrConfig) {
				t.Fatalf("Authenticate error = %v, want ErrConfig", err)
			}
			if strings.Contains(err.Error(), seed) {
				t.Errorf("the error repeats the seed: %v", err)
			}
			if n := f.gets.Load(); n != 0 {
				t.Errorf("%d requests made", n)
			}
		})
	}
}

func TestFromTOML(t *testing.T) {
	toml := wallet.TOML{
		NetworkPassphrase: passphrase,
		SigningKey:        serverKey,
		WebAuthEndpoint:   "https://anchor.example.com/auth",
	}
	a, err := sep10.FromTOML("anchor.example.com", toml)
	if err != nil {
		t.Fatal(err)
	}
	want := sep10.Anchor{
		WebAuthEndpoint:   toml.WebAuthEndpoint,
		SigningKey:        serverKey,
		HomeDomain:        "anchor.example.com",
		WebAuthDomain:     "anchor.example.com",
		NetworkPassphrase: passphrase,
	}
	if a != want {
		t.Errorf("FromTOML = %+v, want %+v", a, want)
	}
	for _, missing := range []func(*wallet.TOML){
		func(r *wallet.TOML) { r.WebAuthEndpoint = "" },
		func(r *wallet.TOML) { r.SigningKey = "" },
		func(r *wallet.TOML) { r.NetworkPassphrase = "" },
		func(r *wallet.TOML) { r.WebAuthEndpoint = "http://anchor.example.com/auth" },
	} {
		r := toml
		missing(&r)
		if _, err := sep10.FromTOML("anchor.example.com", r); !errors.Is(err, kyccb.ErrConfig) {
			t.Errorf("FromTOML(%+v) error = %v, want ErrConfig", r, err)
		}
	}
}
