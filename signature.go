package kyccb

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/kyccb/kyccb/internal/wire"
)

// Header names an anchor puts the SEP-12 signature in. Receivers accept
// either; when both are present, [SignatureHeader] decides.
const (
	SignatureHeader       = wire.SignatureHeader
	LegacySignatureHeader = wire.LegacySignatureHeader // deprecated by SEP-12, still sent by some anchors
)

// DefaultTolerance is how far a SEP-12 signature's timestamp may be from the
// receiver's clock, in either direction, before the callback is rejected.
// SEP-12 asks receivers to discard requests older than "1 or 2 minutes".
const DefaultTolerance = 120 * time.Second

// SignSEP12 returns the Signature header value an anchor holding seed (an
// "S..." secret seed) sends with body to a callback registered for host, at
// time t: "t=<unix seconds>, s=<base64 ed25519 signature of
// t.host.body>". host is a host or host:port, or the callback URL itself,
// whose host is used as the Anchor Platform does (host:port when the URL
// has an explicit port). The error matches [ErrConfig] and never repeats
// the seed. Package github.com/kyccb/kyccb/send signs and delivers.
func SignSEP12(seed, host string, body []byte, t time.Time) (string, error) {
	key, err := wire.ParseSeed(seed)
	if err != nil {
		return "", configError("seed %v", err)
	}
	h, err := wire.CallbackHost(host)
	if err != nil {
		return "", configError("%v", err)
	}
	return wire.Sign(key, h, body, t), nil
}

// errHostIsKey: a Stellar public key given for the host, most often the
// arguments swapped.
var errHostIsKey = errors.New("host looks like a Stellar public key (G...): are the key and the host swapped?")

// SEP12Verifier checks SEP-12 callback signatures for one configured host.
// It is safe for concurrent use. Build it with [NewSEP12Verifier].
type SEP12Verifier struct {
	keys KeySource
	host string // the host the wallet registered
	bare string // host without its port, or "" when host has none
	cfg  config
	// waiting limits the requests that wait for a key refresh at once.
	waiting chan struct{}
}

// How long, and how many requests at once, a verifier waits for its
// [KeyRefresher]: a forged request must not hold its body for as long as
// a slow anchor takes to answer.
const (
	refreshWait    = 2 * time.Second
	refreshWaiters = 8
)

// NewSEP12Verifier returns a verifier that trusts keys for callbacks
// registered at host (a host, host:port, or the callback URL itself); a
// host with a port also accepts signatures over the host without it, as
// the package documentation explains. It
// returns an error matching [ErrConfig] for a nil source, a [StaticKeys]
// that is empty or holds an unusable key, an unusable host, or an option
// that does not apply to SEP-12. A host is unusable when no callback URL
// can have it, since nothing would verify: a wildcard ("*.example.org"),
// an empty label, a character outside host names, a port outside 1 to
// 65535, an IPv6 address without brackets, or a Stellar public key (the
// arguments swapped). It is the non-panicking way to build what
// [SEP12] builds, for keys and hosts read from configuration.
func NewSEP12Verifier(keys KeySource, host string, opts ...Option) (*SEP12Verifier, error) {
	if keys == nil {
		return nil, configError("nil key source")
	}
	if k, ok := keys.(StaticKeys); ok {
		if err := checkStaticKeys(k); err != nil {
			return nil, err
		}
	}
	h, err := wire.CallbackHost(host)
	if err != nil {
		return nil, configError("%v", err)
	}
	if _, err := wire.ParsePublicKey(h); err == nil {
		return nil, configError("%v", errHostIsKey)
	}
	cfg, err := newConfig(modeSEP12, opts)
	if err != nil {
		return nil, err
	}
	return &SEP12Verifier{keys: keys, host: h, bare: wire.BareHost(h), cfg: cfg, waiting: make(chan struct{}, refreshWaiters)}, nil
}

// Verify reports whether header, the value of the Signature (or
// X-Stellar-Signature) header, is a valid signature of body for the
// configured host at time now, and returns the signing time. The checks run
// cheapest first: syntax, then freshness, then whether body starts as a
// JSON object, then ed25519, then whether body is exactly one JSON object
// (a SEP-12 body always is; anything else could be the tail of a signature
// made for a longer host). The error matches one of
// [ErrMissingSignature], [ErrMalformedSignature], [ErrExpired],
// [ErrFuture], [ErrBadSignature], [ErrKeysUnavailable] or
// [ErrMalformedBody].
func (v *SEP12Verifier) Verify(ctx context.Context, header string, body []byte, now time.Time) (time.Time, error) {
	sig, err := v.checkHeader(header, now)
	if err != nil {
		return time.Time{}, err
	}
	msg := v.signedPrefix(sig, len(body))
	return v.verifyMessage(ctx, sig, append(msg, body...), len(msg), true)
}

// signedPrefix returns "<t>.<host>.", with room for a body of n bytes
// after it.
func (v *SEP12Verifier) signedPrefix(sig wire.Signature, n int) []byte {
	return wire.SignedMessage(make([]byte, 0, len(sig.Timestamp)+len(v.host)+2+n), sig.Timestamp, v.host, nil)
}

// verifyMessage is the second half of Verify, for a header checkHeader
// accepted: msg is "<t>.<host>.<body>", with the body from msg[bodyAt:].
// With full false it checks only that the body starts as a JSON object,
// for callers that decode it next, which checks the rest.
func (v *SEP12Verifier) verifyMessage(ctx context.Context, sig wire.Signature, msg []byte, bodyAt int, full bool) (time.Time, error) {
	body := msg[bodyAt:]
	// A SEP-12 body is a JSON object: anything else could be the tail of a
	// message signed for a longer host. Its first byte costs nothing to
	// check; the full check reads every byte, so it waits for a signature
	// that verified.
	if !wire.StartsObject(body) {
		return time.Time{}, errNotObject
	}
	if err := v.checkSignature(ctx, sig, msg, body); err != nil {
		return time.Time{}, err
	}
	if full && !wire.IsObject(body) {
		return time.Time{}, errNotObject
	}
	return sig.Time, nil
}

var errNotObject = fmt.Errorf("%w: not a JSON object", ErrMalformedBody)

// checkHeader does every check that needs no body: presence, syntax and
// freshness.
func (v *SEP12Verifier) checkHeader(header string, now time.Time) (wire.Signature, error) {
	if header == "" {
		return wire.Signature{}, ErrMissingSignature
	}
	t, s, err := wire.SplitSignature(header)
	if err != nil {
		return wire.Signature{}, malformedSignature(err)
	}
	sec, err := wire.ParseUnix(t)
	if err != nil {
		return wire.Signature{}, malformedSignature(err)
	}
	// Freshness before decoding the signature: the cheapest way to turn
	// away a replay. An age equal to the tolerance is still fresh.
	at := time.Unix(sec, 0)
	// Not -now.Sub(at): Sub saturates for a t centuries ahead, and negating
	// the minimum Duration overflows back to a negative one.
	switch {
	case now.Sub(at) > v.cfg.tolerance:
		return wire.Signature{}, &timeError{ErrExpired, now.Sub(at), v.cfg.tolerance}
	case at.After(now.Add(v.cfg.tolerance)):
		return wire.Signature{}, &timeError{ErrFuture, at.Sub(now), v.cfg.tolerance}
	}
	sig, err := wire.DecodeSignature(s)
	if err != nil {
		return wire.Signature{}, malformedSignature(err)
	}
	return wire.Signature{Timestamp: t, Time: at, Bytes: sig}, nil
}

// timeError is ErrExpired or ErrFuture with the offset; its text is built
// only if someone reads it, so a flood of stale requests stays cheap.
type timeError struct {
	reason   error
	off, tol time.Duration
}

func (e *timeError) Error() string {
	if e.reason == ErrFuture {
		return fmt.Sprintf("%v: signed %s ahead of this clock, tolerance %s", e.reason, e.off.Round(time.Second), e.tol)
	}
	return fmt.Sprintf("%v: signed %s ago, tolerance %s", e.reason, e.off.Round(time.Second), e.tol)
}

func (e *timeError) Unwrap() error { return e.reason }

// checkSignature verifies msg, which is "<t>.<host>.<body>".
func (v *SEP12Verifier) checkSignature(ctx context.Context, sig wire.Signature, msg, body []byte) error {
	keys, err := v.keys.SigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrKeysUnavailable, err)
	}
	if len(keys) == 0 {
		return fmt.Errorf("%w: the key source has no key", ErrKeysUnavailable)
	}
	if v.verifies(keys, sig, msg, body) {
		return nil
	}
	if r, ok := v.keys.(KeyRefresher); ok {
		changed, err := v.refresh(ctx, r)
		if err != nil {
			return err
		}
		if changed {
			if keys, err = v.keys.SigningKeys(ctx); err == nil && v.verifies(keys, sig, msg, body) {
				return nil
			}
		}
	}
	return &signatureError{v: v, keys: keys, sig: sig, body: body}
}

// verifies reports whether sig is valid for msg, or for the same body
// signed for the configured host without its port: some senders (the
// Kotlin wallet SDK) sign that, and both are the wallet's own name, so
// this opens nothing.
func (v *SEP12Verifier) verifies(keys []ed25519.PublicKey, sig wire.Signature, msg, body []byte) bool {
	if verifyAny(keys, msg, sig.Bytes) {
		return true
	}
	return v.bare != "" && verifyAny(keys, wire.SignedMessage(nil, sig.Timestamp, v.bare, body), sig.Bytes)
}

// refresh asks r to look for new keys, waiting at most refreshWait, with
// at most refreshWaiters requests waiting at once. When it cannot tell, it
// returns ErrKeysUnavailable: the keys may have rotated, and the sender's
// retry will know.
func (v *SEP12Verifier) refresh(ctx context.Context, r KeyRefresher) (bool, error) {
	select {
	case v.waiting <- struct{}{}:
		defer func() { <-v.waiting }()
	default:
		return false, errRefreshBusy
	}
	ctx, cancel := context.WithTimeout(ctx, refreshWait)
	defer cancel()
	changed, err := r.RefreshSigningKeys(ctx)
	if err != nil && ctx.Err() != nil {
		return false, errRefreshSlow
	}
	// A failed fetch leaves the keys as they were: the signature is
	// judged by them.
	return err == nil && changed, nil
}

var (
	errRefreshBusy = fmt.Errorf("%w: other requests are waiting for the key source to look for new keys", ErrKeysUnavailable)
	errRefreshSlow = fmt.Errorf("%w: the key source did not finish looking for new keys in time", ErrKeysUnavailable)
)

// signatureError is ErrBadSignature with a diagnosis, worked out when its
// text is first read: a flood of forgeries costs nothing more unless
// someone reads why each failed.
type signatureError struct {
	v    *SEP12Verifier
	keys []ed25519.PublicKey
	sig  wire.Signature
	body []byte
	// requestHost, when not "", is the request's Host header, and
	// forwardedHost its X-Forwarded-Host header: tried only to explain the
	// failure.
	requestHost, forwardedHost string

	once sync.Once
	text string
}

func (e *signatureError) Unwrap() error { return ErrBadSignature }

func (e *signatureError) Error() string {
	e.once.Do(func() { e.text = ErrBadSignature.Error() + ": " + e.diagnose() })
	return e.text
}

// diagnose tries the hosts a sender may have signed for instead
// ([wire.HostVariants], as kyccb's command does), then those of the
// request's X-Forwarded-Host, so the person reading the log learns what to
// fix. It costs at most about a dozen ed25519 verifications per key, and
// runs only when someone reads the error. The request's Host header is
// never repeated, unless it is the configured name with another port,
// which is digits; X-Forwarded-Host never is.
func (e *signatureError) diagnose() string {
	v := e.v
	for _, c := range wire.HostVariants(v.host, e.requestHost)[1:] {
		if !verifyAny(e.keys, wire.SignedMessage(nil, e.sig.Timestamp, c.Host, e.body), e.sig.Bytes) {
			continue
		}
		switch {
		case c.FromRequest && samePortDigits(c.Host, v.host):
			return fmt.Sprintf("valid for host %q, not for the configured %q: configure the host with the port the callback URL was registered with", c.Host, v.host)
		case c.FromRequest:
			return fmt.Sprintf("valid for the request's Host header, not for the configured host %q: configure the host the callback URL was registered with", v.host)
		case v.bare == "" && c.Host == v.host+":443":
			return fmt.Sprintf("valid for host %q, not for the configured %q: register the callback URL without the port, or configure the host with it", c.Host, v.host)
		default:
			return fmt.Sprintf("valid for host %q (%s), not for the configured %q: configure the host exactly as in the callback URL registered with the anchor", c.Host, c.What, v.host)
		}
	}
	// Behind a proxy (such as kyccb listen --forward), the callback was
	// signed for the host of the URL registered, the proxy's, which a
	// proxy passes as X-Forwarded-Host: the usual mistake there is to
	// configure the app's own host.
	if e.forwardedHost != "" && e.forwardedHost != e.requestHost {
		for _, c := range wire.HostVariants(v.host, e.forwardedHost)[1:] {
			if c.FromRequest && verifyAny(e.keys, wire.SignedMessage(nil, e.sig.Timestamp, c.Host, e.body), e.sig.Bytes) {
				return fmt.Sprintf("valid for the request's X-Forwarded-Host header, not for the configured host %q: behind a proxy, configure the host of the callback URL registered with the anchor (the proxy's), not this server's own", v.host)
			}
		}
	}
	return fmt.Sprintf("not signed by a trusted key for host %q, or the body was changed", v.host)
}

// samePortDigits reports whether requestHost is the configured host's name
// with a port of plain digits.
func samePortDigits(requestHost, configured string) bool {
	name, port, err := net.SplitHostPort(requestHost)
	if err != nil || port == "" || strings.Trim(port, "0123456789") != "" {
		return false
	}
	if h, _, err := net.SplitHostPort(configured); err == nil {
		configured = h
	}
	return name == configured
}

// withRequestHost lets the diagnosis of err, if it is a bad signature, try
// the request's Host header and the first host of its X-Forwarded-Host.
func withRequestHost(err error, host string, forwarded string) error {
	var se *signatureError
	if errors.As(err, &se) {
		se.requestHost = host
		first, _, _ := strings.Cut(forwarded, ",")
		se.forwardedHost = strings.TrimSpace(first)
	}
	return err
}
