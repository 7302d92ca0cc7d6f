package sep10

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// RefreshMargin is how long before its JWT expires a [TokenSource] signs
// in again: requests made with a token a moment before its exp may reach
// the anchor after it. For a JWT valid less than twice as long, the margin
// is half its lifetime.
const RefreshMargin = time.Minute

// TokenSource signs an account into an anchor once and hands out the JWT
// until shortly before it expires, then signs in again: a wallet's calls
// to the anchor share one sign-in per token lifetime instead of making one
// each. Build it with [NewTokenSource]: the zero value is not usable. It
// is safe for concurrent use.
//
// # Expiry
//
// The JWT's lifetime is read from its own claims, exp less iat (SEP-10
// requires both), and counted from when the sign-in started on the
// wallet's clock: a difference between the anchor's clock and the
// wallet's does not shorten or lengthen it. Without iat, exp is compared
// with the wallet's clock. A JWT without a readable exp is refused with
// [ErrBadReply]: it could be neither reused safely nor renewed in time.
//
// # Concurrency and failures
//
// Callers that need a token while none is valid share one sign-in: the
// first starts it, and all of them wait for it, each until its own context
// ends. The sign-in itself runs until it completes, bounded by the request
// timeout, so a caller that gives up does not fail the others, and its
// token is kept for the next caller. A failed sign-in is returned to the
// callers that waited for it and not kept: the next call tries again.
// When a renewal fails while the previous JWT has not yet expired, callers
// get that JWT instead of the error.
type TokenSource struct {
	anchor Anchor
	seed   string
	opts   []Option
	now    func() time.Time

	mu      sync.Mutex
	token   string
	renewAt time.Time // when the token should be replaced, on s.now's clock
	expires time.Time // when the anchor will refuse it, on s.now's clock
	flight  *signIn   // the sign-in under way, nil when none
}

// signIn is one sign-in, shared by every caller that waits for it.
type signIn struct {
	done  chan struct{} // closed once token or err is set
	token string
	err   error
}

// NewTokenSource returns a TokenSource that signs the account whose secret
// seed is accountSeed ("S...") into a, with [Authenticate] and opts, when a
// token is first asked for. It checks a, the seed and opts at once, and
// sends nothing; the error matches [kyccb.ErrConfig].
func NewTokenSource(a Anchor, accountSeed string, opts ...Option) (*TokenSource, error) {
	if _, _, _, err := setup(&a, accountSeed, opts); err != nil {
		return nil, err
	}
	return &TokenSource{anchor: a, seed: accountSeed, opts: slices.Clone(opts), now: time.Now}, nil
}

// Token returns a JWT for the account that will be valid for at least
// [RefreshMargin] more (or half its lifetime, if shorter), signing in
// first if the one it holds is not. The error is [Authenticate]'s, one
// matching [ErrBadReply] for a JWT without a readable exp, or ctx's.
func (s *TokenSource) Token(ctx context.Context) (string, error) {
	s.mu.Lock()
	if s.token != "" && s.now().Before(s.renewAt) {
		tok := s.token
		s.mu.Unlock()
		return tok, nil
	}
	f := s.flight
	if f == nil {
		f = &signIn{done: make(chan struct{})}
		s.flight = f
		// Detached from ctx: the callers that wait for it each have
		// their own, and Authenticate bounds each request anyway.
		go s.signIn(context.WithoutCancel(ctx), f)
	}
	s.mu.Unlock()

	select {
	case <-f.done:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	if f.err != nil {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.token != "" && s.now().Before(s.expires) {
			return s.token, nil
		}
		return "", f.err
	}
	return f.token, nil
}

// signIn authenticates, keeps the token if it succeeded, and reports to
// the callers waiting for f.
func (s *TokenSource) signIn(ctx context.Context, f *signIn) {
	started := s.now()
	tok, err := Authenticate(ctx, s.anchor, s.seed, s.opts...)
	var lifetime time.Duration
	if err == nil {
		lifetime, err = validity(tok, started)
	}
	s.mu.Lock()
	if err == nil {
		s.token = tok
		s.expires = started.Add(lifetime)
		s.renewAt = s.expires.Add(-min(RefreshMargin, lifetime/2))
	}
	s.flight = nil
	f.token, f.err = tok, err
	s.mu.Unlock()
	close(f.done)
}

// Expire makes the source sign in again on the next call to
// [TokenSource.Token], if jwt is the token it holds: call it when the
// anchor refuses jwt (a 401) before its exp, as it does after a restart
// or a change of its JWT secret. Another jwt is ignored, so that a late
// report about an old token does not throw away a new one.
func (s *TokenSource) Expire(jwt string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.token != "" && subtle.ConstantTimeCompare([]byte(s.token), []byte(jwt)) == 1 {
		s.token = ""
	}
}

// validity returns how long the JWT tok, received for a sign-in that
// started at started, stays valid: exp less iat, or exp less started when
// tok has no iat. The errors match ErrBadReply and never repeat tok.
func validity(tok string, started time.Time) (time.Duration, error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return 0, fmt.Errorf("%w: the token is not a JWT", ErrBadReply)
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return 0, fmt.Errorf("%w: the JWT's claims are not base64url", ErrBadReply)
	}
	// NumericDate: seconds, which RFC 7519 allows to be fractional.
	var claims struct {
		Exp *float64 `json:"exp"`
		Iat *float64 `json:"iat"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil || claims.Exp == nil {
		return 0, fmt.Errorf("%w: the JWT has no exp", ErrBadReply)
	}
	var d time.Duration
	if claims.Iat != nil {
		d = seconds(*claims.Exp - *claims.Iat)
	} else {
		d = seconds(*claims.Exp - float64(started.UnixNano())/1e9)
	}
	if d <= 0 {
		return 0, fmt.Errorf("%w: the JWT has expired on arrival", ErrBadReply)
	}
	return d, nil
}

// seconds converts a number of seconds to a Duration, 0 when it is not
// positive and at most a year: an exp far in the future must not overflow
// into the past.
func seconds(s float64) time.Duration {
	const year = 365 * 24 * time.Hour
	switch {
	case !(s > 0):
		return 0
	case s >= year.Seconds():
		return year
	}
	return time.Duration(s * float64(time.Second))
}
