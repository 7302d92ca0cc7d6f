package sep10

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/kyccb/kyccb"
	"github.com/kyccb/kyccb/internal/httpx"
	"github.com/kyccb/kyccb/wallet"
	"github.com/stellar/go-stellar-sdk/keypair"
	"github.com/stellar/go-stellar-sdk/strkey"
	"github.com/stellar/go-stellar-sdk/txnbuild"
)

// DefaultRequestTimeout is how long each of the two requests Authenticate
// makes may take, reply included, unless [WithRequestTimeout] says
// otherwise.
const DefaultRequestTimeout = 10 * time.Second

// The reasons Authenticate fails, to match with [errors.Is]. The error text
// is part of the API and will not change. An unusable Anchor, seed or
// option matches [kyccb.ErrConfig], as in packages wallet and send, and
// nothing was sent.
var (
	// ErrServerKey: the challenge is not signed by the anchor's
	// SIGNING_KEY, or not issued from its account. Whoever made it is not
	// the anchor the stellar.toml names.
	ErrServerKey = errors.New("sep10: challenge not signed by the anchor's signing key")

	// ErrChallengeTimeBounds: the challenge's time bounds do not include
	// now: it expired, or is not valid yet. ([kyccb.ErrExpired] is about a
	// callback's signature, not a challenge.)
	ErrChallengeTimeBounds = errors.New("sep10: challenge outside its time bounds")

	// ErrChallenge: the challenge is not a SEP-10 challenge for this
	// anchor's home domain, web auth domain and network, this account and
	// this memo, or it would stay valid for more than an hour once signed
	// (see [Authenticate]); it wraps the reason.
	ErrChallenge = errors.New("sep10: invalid challenge")

	// ErrRefused: the anchor answered a request with a status other than
	// 2xx (redirects included, since none is followed). The error text
	// gives the status and the anchor's "error" message, if any.
	ErrRefused = errors.New("sep10: anchor refused the request")

	// ErrBadReply: a 2xx reply that is not the JSON SEP-10 defines, or
	// lacks its transaction or token.
	ErrBadReply = errors.New("sep10: malformed reply from the anchor")
)

// maxReplyBytes bounds what is read of a reply: a challenge or a token is
// a few kilobytes at most.
const maxReplyBytes = 64 << 10

// Anchor is what a wallet needs to know of an anchor to authenticate with
// it, all of it from the anchor's stellar.toml (see [FromTOML]).
type Anchor struct {
	// WebAuthEndpoint is the WEB_AUTH_ENDPOINT URL. It must be https, or
	// http on a loopback host.
	WebAuthEndpoint string
	// SigningKey is the SIGNING_KEY, the "G..." public key that must have
	// signed the challenge.
	SigningKey string
	// HomeDomain is the domain whose stellar.toml gave these values, such
	// as "anchor.example.com" (with ":port" when it is served on one). The
	// challenge's first operation must be named after it.
	HomeDomain string
	// WebAuthDomain is the value the challenge's web_auth_domain operation
	// must have. Empty means the host of WebAuthEndpoint, with its port if
	// the URL has one, as SEP-10 says.
	WebAuthDomain string
	// NetworkPassphrase is the NETWORK_PASSPHRASE, such as
	// "Public Global Stellar Network ; September 2015". Signatures are made
	// and checked for that network.
	NetworkPassphrase string
}

// FromTOML returns the Anchor that toml, the stellar.toml served by
// homeDomain (as [wallet.StellarTOML] reads it), describes: its
// WEB_AUTH_ENDPOINT, SIGNING_KEY and NETWORK_PASSPHRASE, which must all be
// present, and the endpoint's host as WebAuthDomain. It fetches nothing;
// the error matches [kyccb.ErrConfig].
func FromTOML(homeDomain string, toml wallet.TOML) (Anchor, error) {
	a := Anchor{
		WebAuthEndpoint:   toml.WebAuthEndpoint,
		SigningKey:        toml.SigningKey,
		HomeDomain:        homeDomain,
		NetworkPassphrase: toml.NetworkPassphrase,
	}
	for _, f := range []struct{ name, v string }{
		{"WEB_AUTH_ENDPOINT", a.WebAuthEndpoint},
		{"SIGNING_KEY", a.SigningKey},
		{"NETWORK_PASSPHRASE", a.NetworkPassphrase},
	} {
		if f.v == "" {
			return Anchor{}, fmt.Errorf("%w: stellar.toml has no %s", kyccb.ErrConfig, f.name)
		}
	}
	if _, err := a.check(); err != nil {
		return Anchor{}, err
	}
	return a, nil
}

// check validates a and returns its endpoint, parsed, with WebAuthDomain
// filled in.
func (a *Anchor) check() (*url.URL, error) {
	u, err := url.Parse(a.WebAuthEndpoint)
	if err != nil || !u.IsAbs() || u.Hostname() == "" || u.User != nil {
		return nil, fmt.Errorf("%w: web auth endpoint is not an absolute URL", kyccb.ErrConfig)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && httpx.IsLoopback(u.Hostname()):
	default:
		return nil, fmt.Errorf("%w: web auth endpoint must be https (plain http only on a loopback host)", kyccb.ErrConfig)
	}
	if _, err := strkey.Decode(strkey.VersionByteAccountID, a.SigningKey); err != nil {
		return nil, fmt.Errorf("%w: signing key is not a G... public key", kyccb.ErrConfig)
	}
	// A manage data name holds 64 bytes; "<home domain> auth" must fit.
	if a.HomeDomain == "" || strings.ContainsAny(a.HomeDomain, " \t\r\n/") || len(a.HomeDomain) > 64-len(" auth") {
		return nil, fmt.Errorf("%w: home domain must be a host name of at most 59 bytes", kyccb.ErrConfig)
	}
	if a.NetworkPassphrase == "" {
		return nil, fmt.Errorf("%w: empty network passphrase", kyccb.ErrConfig)
	}
	if a.WebAuthDomain == "" {
		a.WebAuthDomain = u.Host
	}
	return u, nil
}

// Option changes how Authenticate works.
type Option func(*config)

type config struct {
	client  *http.Client
	timeout time.Duration
	memo    *txnbuild.MemoID
	err     error
}

// setup checks what [Authenticate] and [NewTokenSource] are given: the
// options, the anchor and the account seed, in that order. It returns the
// options applied, the anchor's endpoint and the account's key pair, and
// fills in a's WebAuthDomain as check does. Its errors match
// [kyccb.ErrConfig].
func setup(a *Anchor, accountSeed string, opts []Option) (config, *url.URL, *keypair.Full, error) {
	cfg := config{timeout: DefaultRequestTimeout}
	for _, o := range opts {
		if o == nil {
			return config{}, nil, nil, fmt.Errorf("%w: nil option", kyccb.ErrConfig)
		}
		o(&cfg)
	}
	if cfg.err != nil {
		return config{}, nil, nil, cfg.err
	}
	endpoint, err := a.check()
	if err != nil {
		return config{}, nil, nil, err
	}
	// keypair's errors are not wrapped: they are not worth the risk of
	// repeating part of a seed.
	kp, err := keypair.ParseFull(accountSeed)
	if err != nil {
		return config{}, nil, nil, fmt.Errorf("%w: account seed is not an S... secret seed", kyccb.ErrConfig)
	}
	return cfg, endpoint, kp, nil
}

// WithHTTPClient sets the client the requests are made with, for its
// transport, proxy or TLS settings. It is copied, and its redirect policy
// replaced: no redirect is followed. The default is a zero [http.Client].
func WithHTTPClient(c *http.Client) Option {
	return func(cfg *config) {
		if c == nil {
			cfg.err = fmt.Errorf("%w: WithHTTPClient: nil client", kyccb.ErrConfig)
			return
		}
		cfg.client = c
	}
}

// WithRequestTimeout sets how long each request may take, reply included.
// The default is [DefaultRequestTimeout]. It must be positive.
func WithRequestTimeout(d time.Duration) Option {
	return func(cfg *config) {
		if d <= 0 {
			cfg.err = fmt.Errorf("%w: WithRequestTimeout: timeout must be positive", kyccb.ErrConfig)
			return
		}
		cfg.timeout = d
	}
}

// WithMemo authenticates one of the users who share the account, told apart
// by an ID memo, as SEP-10 allows: the challenge must carry that memo, and
// the JWT's subject is "account:memo". By default there is no memo, and a
// challenge that carries one is refused.
func WithMemo(id uint64) Option {
	return func(cfg *config) {
		m := txnbuild.MemoID(id)
		cfg.memo = &m
	}
}

// Authenticate signs the account whose secret seed is accountSeed ("S...")
// into a, as described in the package documentation, and returns the JWT
// the anchor issued. It makes two requests: GET WebAuthEndpoint?account=...
// (with memo and home_domain) and POST WebAuthEndpoint with
// {"transaction": ...}, the challenge signed. It is safe for concurrent use.
//
// A signed challenge is as good as a password until it expires: whoever
// holds it (a log, a proxy, the anchor's own storage) can exchange it for a
// token. SEP-10 recommends challenges valid for 15 minutes; Authenticate
// refuses to sign one that stays valid more than an hour from now, which
// leaves room for a slow clock and anchors that choose a longer window,
// with an error matching [ErrChallenge].
func Authenticate(ctx context.Context, a Anchor, accountSeed string, opts ...Option) (string, error) {
	cfg, endpoint, kp, err := setup(&a, accountSeed, opts)
	if err != nil {
		return "", err
	}
	var client http.Client
	if cfg.client != nil {
		client = *cfg.client
	}
	// Not even to the same host: a challenge is signed for one endpoint,
	// and the signed one is as good as a password until it expires.
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	challenge, err := getChallenge(ctx, &client, cfg, endpoint, a, kp.Address())
	if err != nil {
		return "", err
	}
	tx, err := checkChallenge(challenge, a, kp.Address(), cfg.memo)
	if err != nil {
		return "", err
	}
	if tx, err = tx.Sign(a.NetworkPassphrase, kp); err != nil {
		return "", fmt.Errorf("sep10: signing the challenge: %w", err)
	}
	signed, err := tx.Base64()
	if err != nil {
		return "", fmt.Errorf("sep10: encoding the challenge: %w", err)
	}
	return postChallenge(ctx, &client, cfg, endpoint, signed)
}

// challengeReply is the reply to GET WEB_AUTH_ENDPOINT.
type challengeReply struct {
	Transaction       string `json:"transaction"`
	NetworkPassphrase string `json:"network_passphrase"`
}

// tokenReply is the reply to POST WEB_AUTH_ENDPOINT.
type tokenReply struct {
	Token string `json:"token"`
}

func getChallenge(ctx context.Context, client *http.Client, cfg config, endpoint *url.URL, a Anchor, account string) (string, error) {
	u := *endpoint
	q := u.Query()
	q.Set("account", account)
	if cfg.memo != nil {
		q.Set("memo", strconv.FormatUint(uint64(*cfg.memo), 10))
	}
	q.Set("home_domain", a.HomeDomain)
	u.RawQuery = q.Encode()

	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", fmt.Errorf("sep10: requesting a challenge: %w", err)
	}
	var reply challengeReply
	if err := do(client, req, "challenge request", &reply); err != nil {
		return "", err
	}
	if reply.Transaction == "" {
		return "", fmt.Errorf("%w: the challenge reply has no transaction", ErrBadReply)
	}
	// Optional in SEP-10; when given, it must be the network the
	// stellar.toml named, or the signature would be for another network.
	if reply.NetworkPassphrase != "" && reply.NetworkPassphrase != a.NetworkPassphrase {
		return "", fmt.Errorf("%w: the challenge is for another network passphrase than the stellar.toml's", ErrChallenge)
	}
	return reply.Transaction, nil
}

func postChallenge(ctx context.Context, client *http.Client, cfg config, endpoint *url.URL, signed string) (string, error) {
	body, err := json.Marshal(map[string]string{"transaction": signed})
	if err != nil {
		return "", err // cannot happen: a string
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint.String(), bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("sep10: sending the signed challenge: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	var reply tokenReply
	if err := do(client, req, "signed challenge", &reply); err != nil {
		return "", err
	}
	// Three base64url parts: anything else is not a JWT, and white space
	// or control characters in it would corrupt an Authorization header.
	parts := strings.Split(reply.Token, ".")
	if len(parts) != 3 || strings.ContainsFunc(reply.Token, func(r rune) bool {
		return !(r == '.' || r == '-' || r == '_' || r == '=' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9')
	}) {
		return "", fmt.Errorf("%w: the reply to the signed challenge has no JWT", ErrBadReply)
	}
	return reply.Token, nil
}

// do sends req and decodes a 2xx reply's JSON into v. what names the
// request in errors.
func do(client *http.Client, req *http.Request, what string, v any) error {
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		// net/http's *url.Error repeats the URL; the error it wraps is
		// enough to tell what went wrong.
		return fmt.Errorf("sep10: %s: %w", what, httpx.RequestError(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxReplyBytes))
	if err != nil {
		return fmt.Errorf("sep10: %s: reading the reply: %w", what, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("%w: %s: %d %s%s", ErrRefused, what, resp.StatusCode, http.StatusText(resp.StatusCode), anchorMessage(body))
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("%w: %s: the reply is not the JSON SEP-10 defines", ErrBadReply, what)
	}
	return nil
}

// anchorMessage returns `: "<message>"` for a SEP error reply,
// {"error": "<message>"}, quoted and cut to 200 bytes, or "".
func anchorMessage(body []byte) string {
	var r struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &r) != nil || r.Error == "" {
		return ""
	}
	msg := r.Error
	if len(msg) > 200 {
		msg = strings.ToValidUTF8(msg[:200], "") + "..."
	}
	return fmt.Sprintf(": %q", msg)
}

// gracePeriod is how far in the future a challenge's time bounds may start:
// txnbuild.ReadChallengeTx allows for that much clock drift.
const gracePeriod = 5 * time.Minute

// maxValidity is how long after now a challenge may stay valid for
// Authenticate to sign it: four times the 15 minutes SEP-10 recommends,
// for a clock running behind and anchors with longer windows, and far
// below the years some servers set.
const maxValidity = time.Hour

// checkChallenge verifies the challenge as SEP-10 asks of a client and
// returns it decoded. The first checks give their own sentinel;
// txnbuild.ReadChallengeTx then makes all of them, and the rest.
func checkChallenge(challenge string, a Anchor, account string, memo *txnbuild.MemoID) (*txnbuild.Transaction, error) {
	generic, err := txnbuild.TransactionFromXDR(challenge)
	if err != nil {
		return nil, fmt.Errorf("%w: not a transaction envelope in base64 XDR", ErrChallenge)
	}
	tx, ok := generic.Transaction()
	if !ok {
		return nil, fmt.Errorf("%w: a fee bump transaction", ErrChallenge)
	}

	if tx.SourceAccount().AccountID != a.SigningKey || !signedBy(tx, a.NetworkPassphrase, a.SigningKey) {
		return nil, ErrServerKey
	}

	tb := tx.Timebounds()
	if tb.MaxTime == txnbuild.TimeoutInfinite {
		return nil, fmt.Errorf("%w: no upper time bound", ErrChallenge)
	}
	now := time.Now().Unix()
	if now > tb.MaxTime {
		return nil, fmt.Errorf("%w: it expired %s ago", ErrChallengeTimeBounds, time.Duration(now-tb.MaxTime)*time.Second)
	}
	if now+int64(gracePeriod/time.Second) < tb.MinTime {
		return nil, fmt.Errorf("%w: it is valid only from %s on", ErrChallengeTimeBounds, time.Unix(tb.MinTime, 0).UTC().Format(time.RFC3339))
	}
	// In seconds: MaxTime may be near the largest int64, which a Duration
	// cannot hold.
	if tb.MaxTime-now > int64(maxValidity/time.Second) {
		return nil, fmt.Errorf("%w: it stays valid until %s, more than %s from now, and once signed it is as good as a password until then (SEP-10 recommends 15 minutes)",
			ErrChallenge, validUntil(tb.MaxTime), maxValidity)
	}

	ops := tx.Operations()
	if len(ops) == 0 {
		return nil, fmt.Errorf("%w: no operation", ErrChallenge)
	}
	first, ok := ops[0].(*txnbuild.ManageData)
	if !ok {
		return nil, fmt.Errorf("%w: the first operation is not manage data", ErrChallenge)
	}
	if first.Name != a.HomeDomain+" auth" {
		return nil, fmt.Errorf("%w: the challenge is for another home domain", ErrChallenge)
	}
	if first.SourceAccount != account {
		return nil, fmt.Errorf("%w: the challenge is for another account", ErrChallenge)
	}

	_, client, _, gotMemo, err := txnbuild.ReadChallengeTx(challenge, a.SigningKey, a.NetworkPassphrase, a.WebAuthDomain, []string{a.HomeDomain})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrChallenge, err)
	}
	if client != account {
		return nil, fmt.Errorf("%w: the challenge is for another account", ErrChallenge)
	}
	switch {
	case memo == nil && gotMemo != nil:
		return nil, fmt.Errorf("%w: the challenge carries a memo that was not asked for", ErrChallenge)
	case memo != nil && (gotMemo == nil || *gotMemo != *memo):
		return nil, fmt.Errorf("%w: the challenge does not carry the memo asked for", ErrChallenge)
	}
	return tx, nil
}

// validUntil formats a challenge's upper time bound, which may be beyond
// the years time formats.
func validUntil(max int64) string {
	if max > time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC).Unix() {
		return "after the year 9999"
	}
	return time.Unix(max, 0).UTC().Format(time.RFC3339)
}

// signedBy reports whether one of tx's signatures is signer's, for network.
func signedBy(tx *txnbuild.Transaction, network, signer string) bool {
	kp, err := keypair.ParseAddress(signer)
	if err != nil {
		return false
	}
	hash, err := tx.Hash(network)
	if err != nil {
		return false
	}
	hint := kp.Hint()
	for _, sig := range tx.Signatures() {
		if sig.Hint == hint && kp.Verify(hash[:], sig.Signature) == nil {
			return true
		}
	}
	return false
}
