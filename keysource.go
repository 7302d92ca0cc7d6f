package kyccb

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/stellar/go-stellar-sdk/clients/stellartoml"
	"github.com/stellar/go-stellar-sdk/strkey"
)

// DefaultRefreshInterval is the least time between two fetches of an
// anchor's stellar.toml by a [TOMLKeys], unless [WithRefreshInterval] says
// otherwise. It bounds what a flood of forged callbacks costs the anchor,
// and how long a rotated key can go unnoticed while such a flood lasts.
const DefaultRefreshInterval = 10 * time.Second

// DefaultMaxKeyAge is how long a [TOMLKeys] trusts a fetched key without
// looking again, unless [WithMaxKeyAge] says otherwise. Without it, a key
// the anchor has withdrawn (because it leaked) would be trusted for as long
// as callbacks signed with it keep verifying.
const DefaultMaxKeyAge = time.Hour

// WithRefreshInterval sets the least time between two fetches of the
// stellar.toml by a [TOMLKeys], successful or not. The default is
// [DefaultRefreshInterval]. It must be positive, and applies only to the
// stellar.toml key source.
func WithRefreshInterval(d time.Duration) Option {
	return func(c *config) {
		c.onlyFor("WithRefreshInterval", modeKeySource)
		if d <= 0 {
			c.fail("WithRefreshInterval: interval must be positive")
			return
		}
		c.refresh = d
	}
}

// WithMaxKeyAge sets how long a [TOMLKeys] uses a fetched key before it
// fetches the stellar.toml again. The default is [DefaultMaxKeyAge]. It must
// be positive, and applies only to the stellar.toml key source.
func WithMaxKeyAge(d time.Duration) Option {
	return func(c *config) {
		c.onlyFor("WithMaxKeyAge", modeKeySource)
		if d <= 0 {
			c.fail("WithMaxKeyAge: age must be positive")
			return
		}
		c.maxAge = d
	}
}

// TOMLKeys is a [KeyRefresher] that trusts the SIGNING_KEY of an anchor's
// stellar.toml, fetched from https://{domain}/.well-known/stellar.toml with
// go-stellar-sdk's stellartoml client, and follows the anchor when it
// rotates the key. Build it with [NewTOMLKeys] and pass it to
// [NewSEP12Verifier]. It is safe for concurrent use.
//
// The key is fetched on first use, not by NewTOMLKeys, so that a wallet
// starts even while the anchor's server is down; until a fetch succeeds,
// SigningKeys returns an error and the handler answers 503, so the anchor
// retries. To fail at start-up instead, call SigningKeys once and check
// its error.
//
// Afterwards SigningKeys answers from memory. The stellar.toml is fetched
// again when a signature fails under the current key (a rotation) and when
// the key is older than the maximum age ([WithMaxKeyAge]; meanwhile the
// old key stays in use, and it stays in use if that fetch fails). Fetches
// never start less than the refresh interval apart ([WithRefreshInterval]),
// and concurrent callers share the fetch in progress: a burst of 1,000
// forged callbacks costs the anchor at most one fetch per interval.
type TOMLKeys struct {
	domain string
	client *http.Client
	cfg    config

	mu        sync.Mutex
	keys      []ed25519.PublicKey // nil until a fetch succeeds
	err       error               // why the last fetch failed
	fetchedAt time.Time           // end of the last successful fetch
	startedAt time.Time           // start of the last fetch, successful or not
	changedAt time.Time           // when a fetch last replaced keys by others
	fetching  *tomlFetch          // the fetch in progress, if any
}

// tomlFetch is one fetch of the stellar.toml; done closes when changed and
// err are set.
type tomlFetch struct {
	done    chan struct{}
	changed bool
	err     error
}

// NewTOMLKeys returns a key source for the anchor at domain, a host name
// such as "anchor.example.com". It does not fetch anything (see
// [TOMLKeys]). The options that apply are [WithHTTPClient],
// [WithRequestTimeout] (per fetch), [WithRefreshInterval], [WithMaxKeyAge]
// and [WithClock]. The error matches [ErrConfig].
func NewTOMLKeys(domain string, opts ...Option) (*TOMLKeys, error) {
	if err := checkDomain(domain); err != nil {
		return nil, err
	}
	cfg, err := newConfig(modeKeySource, opts)
	if err != nil {
		return nil, err
	}
	return &TOMLKeys{domain: domain, client: cfg.httpClient(httpsRedirectsOnly), cfg: cfg}, nil
}

// SigningKeys returns the anchor's current signing key. It fetches the
// stellar.toml only when no key has been fetched yet, waiting for that
// fetch (or ctx), and when the key is older than the maximum age, in the
// background.
func (k *TOMLKeys) SigningKeys(ctx context.Context) ([]ed25519.PublicKey, error) {
	k.mu.Lock()
	keys := k.keys
	if keys != nil && k.cfg.now().Sub(k.fetchedAt) < k.cfg.maxAge {
		k.mu.Unlock()
		return keys, nil
	}
	f := k.startLocked()
	k.mu.Unlock()
	if keys != nil {
		// Too old, but the anchor's key all the same: better than refusing
		// callbacks while the fetch runs, or if it fails.
		return keys, nil
	}
	if f != nil {
		select {
		case <-f.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.keys != nil {
		return k.keys, nil
	}
	if k.err == nil {
		return nil, errors.New("kyccb: no signing key fetched yet")
	}
	return nil, k.err
}

// RefreshSigningKeys fetches the stellar.toml again, unless a fetch started
// less than the refresh interval ago, in which case it waits for that one
// if it is still running. It reports whether the keys changed: by this
// fetch, or within the last interval (a caller may have read the keys just
// before). A verifier calls it when a signature fails under every key.
func (k *TOMLKeys) RefreshSigningKeys(ctx context.Context) (changed bool, err error) {
	k.mu.Lock()
	f := k.startLocked()
	recent := !k.changedAt.IsZero() && k.cfg.now().Sub(k.changedAt) < k.cfg.refresh
	k.mu.Unlock()
	if f == nil {
		return recent, nil
	}
	select {
	case <-f.done:
		return f.changed, f.err
	case <-ctx.Done():
		return false, ctx.Err()
	}
}

// startLocked returns the fetch in progress, or starts one unless the last
// started less than an interval ago, in which case it returns nil. k.mu must
// be held.
func (k *TOMLKeys) startLocked() *tomlFetch {
	if k.fetching != nil {
		return k.fetching
	}
	now := k.cfg.now()
	if !k.startedAt.IsZero() && now.Sub(k.startedAt) < k.cfg.refresh {
		return nil
	}
	f := &tomlFetch{done: make(chan struct{})}
	k.fetching, k.startedAt = f, now
	// In its own goroutine, bounded by the request timeout: a caller whose
	// context ends stops waiting, but the fetch others wait for goes on.
	go k.run(f)
	return f
}

func (k *TOMLKeys) run(f *tomlFetch) {
	ctx, cancel := context.WithTimeout(context.Background(), k.cfg.timeout)
	defer cancel()
	keys, err := k.fetch(ctx)

	k.mu.Lock()
	now := k.cfg.now()
	if err == nil {
		f.changed = !sameKeys(k.keys, keys)
		if f.changed && k.keys != nil {
			k.changedAt = now
		}
		k.keys, k.fetchedAt = keys, now
	}
	f.err, k.err = err, err
	k.fetching = nil
	k.mu.Unlock()
	close(f.done)
}

func (k *TOMLKeys) fetch(ctx context.Context) ([]ed25519.PublicKey, error) {
	toml, err := fetchTOML(ctx, k.client, k.domain)
	if err != nil {
		return nil, err
	}
	if toml.SigningKey == "" {
		return nil, fmt.Errorf("kyccb: stellar.toml of %s has no SIGNING_KEY", k.domain)
	}
	raw, err := strkey.Decode(strkey.VersionByteAccountID, toml.SigningKey)
	if err != nil || len(raw) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("kyccb: SIGNING_KEY in stellar.toml of %s is not a Stellar public key", k.domain)
	}
	return []ed25519.PublicKey{raw}, nil
}

func sameKeys(a, b []ed25519.PublicKey) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

// fetchTOML fetches and parses https://{domain}/.well-known/stellar.toml.
func fetchTOML(ctx context.Context, client *http.Client, domain string) (*stellartoml.Response, error) {
	c := stellartoml.Client{HTTP: ctxGetter{ctx, client}}
	toml, err := c.GetStellarToml(domain)
	if err != nil {
		return nil, fmt.Errorf("kyccb: fetching stellar.toml of %s: %w", domain, err)
	}
	return toml, nil
}

// ctxGetter gives the stellartoml client, whose Get takes no context, one.
type ctxGetter struct {
	ctx    context.Context
	client *http.Client
}

func (g ctxGetter) Get(url string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(g.ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := g.client.Do(req)
	return resp, requestError(err)
}

// checkDomain accepts a DNS host name: no scheme, port, path or IP address,
// which go-stellar-sdk would refuse at the first fetch.
func checkDomain(domain string) error {
	bad := func() error {
		return fmt.Errorf("%w: anchor domain must be a host name such as anchor.example.com, without scheme, port or path", ErrConfig)
	}
	if domain == "" || len(domain) > 253 || net.ParseIP(domain) != nil {
		return bad()
	}
	for label := range strings.SplitSeq(domain, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return bad()
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return bad()
			}
		}
	}
	return nil
}
