package wallet

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"sync"
	"time"

	"github.com/kyccb/kyccb"
	"github.com/kyccb/kyccb/internal/wire"
)

var _ kyccb.KeyRefresher = (*TOMLKeys)(nil)

// TOMLKeys is a [kyccb.KeyRefresher] that trusts the SIGNING_KEY of an
// anchor's stellar.toml and follows the anchor when it rotates the key.
// Build it with [NewTOMLKeys] and pass it to kyccb.NewSEP12Verifier. It is
// safe for concurrent use.
//
// The key is fetched on first use, not by NewTOMLKeys, so that a wallet
// starts even while the anchor's server is down; until a fetch succeeds,
// SigningKeys returns an error and the handler answers 503, so the anchor
// retries. To fail at start-up instead, call SigningKeys once and check
// its error. A SIGNING_KEY that is not a Stellar public key, or is one of
// the small-order keys under which signatures made without any secret
// verify, is an error too: it is never trusted.
//
// Afterwards SigningKeys answers from memory. The stellar.toml is fetched
// again when a signature fails under the current key (a rotation) and when
// the key is older than the maximum age ([WithMaxKeyAge]; meanwhile the
// old key stays in use, and it stays in use if that fetch fails). Fetches
// never start less than the refresh interval apart ([WithRefreshInterval]),
// and concurrent callers share the fetch in progress: a burst of 1,000
// forged callbacks costs the anchor at most one fetch per interval.
type TOMLKeys struct {
	home home
	cfg  config

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
// such as "anchor.example.com" or a loopback host:port (see [StellarTOML]).
// It does not fetch anything (see [TOMLKeys]). The options that apply are
// all of them: [WithHTTPClient], [WithRequestTimeout] (per fetch),
// [WithRefreshInterval], [WithMaxKeyAge] and [WithClock]. The error matches
// [kyccb.ErrConfig].
func NewTOMLKeys(domain string, opts ...Option) (*TOMLKeys, error) {
	h, err := parseDomain(domain)
	if err != nil {
		return nil, err
	}
	cfg, err := newConfig(true, opts)
	if err != nil {
		return nil, err
	}
	return &TOMLKeys{home: h, cfg: cfg}, nil
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

// fetch reads SIGNING_KEY alone: the other fields, checked by StellarTOML,
// do not concern callbacks, and a mistake in them must not stop them.
func (k *TOMLKeys) fetch(ctx context.Context) ([]ed25519.PublicKey, error) {
	f, _, err := fetchTOML(ctx, &k.cfg, k.home)
	if err != nil {
		return nil, err
	}
	if f.SigningKey == "" {
		return nil, k.home.errorf("no SIGNING_KEY")
	}
	key, err := wire.ParsePublicKey(f.SigningKey)
	if err != nil {
		return nil, k.home.errorf("SIGNING_KEY: %w", err)
	}
	return []ed25519.PublicKey{key}, nil
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
