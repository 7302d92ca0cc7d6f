package kyccb

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/kyccb/kyccb/internal/strkey"
	"github.com/kyccb/kyccb/internal/wire"
)

// Header names an anchor puts the SEP-12 signature in. Receivers accept
// either; when both are present, [SignatureHeader] decides.
const (
	SignatureHeader       = "Signature"
	LegacySignatureHeader = "X-Stellar-Signature" // deprecated by SEP-12, still sent by some anchors
)

// DefaultTolerance is how far a SEP-12 signature's timestamp may be from the
// receiver's clock, in either direction, before the callback is rejected.
// SEP-12 asks receivers to discard requests older than "1 or 2 minutes".
const DefaultTolerance = 120 * time.Second

// Signature is a parsed SEP-12 signature header value.
type Signature struct {
	// Timestamp is the t value exactly as sent: these digits, not a
	// reformatted number, are part of the signed bytes.
	Timestamp string
	// Time is Timestamp as a time.
	Time time.Time
	// Bytes is the 64-byte ed25519 signature.
	Bytes []byte
}

// ParseSignature parses a Signature (or X-Stellar-Signature) header value of
// the form "t=<unix seconds>, s=<base64 signature>". It accepts any
// whitespace around the pairs and around their parts, either order of the
// pairs, standard or URL-safe base64, padded or not; it ignores pairs with
// other names, and rejects a repeated t or s, a t that is not plain decimal
// digits, and a signature that does not decode to exactly 64 bytes. Every
// failure matches [ErrMalformedSignature].
func ParseSignature(value string) (Signature, error) {
	t, s, err := splitSignature(value)
	if err != nil {
		return Signature{}, err
	}
	sec, err := parseUnixDigits(t)
	if err != nil {
		return Signature{}, err
	}
	sig, err := decodeSignature(s)
	if err != nil {
		return Signature{}, err
	}
	return Signature{Timestamp: t, Time: time.Unix(sec, 0), Bytes: sig}, nil
}

// The details of ErrMalformedSignature, made once: rejecting a malformed
// header must cost next to nothing.
var (
	errNoEquals  = fmt.Errorf("%w: a pair has no '='", ErrMalformedSignature)
	errTwiceT    = fmt.Errorf("%w: t given twice", ErrMalformedSignature)
	errTwiceS    = fmt.Errorf("%w: s given twice", ErrMalformedSignature)
	errMissingTS = fmt.Errorf("%w: t and s are both required", ErrMalformedSignature)
	errBadT      = fmt.Errorf("%w: t is not a unix time", ErrMalformedSignature)
	errBadBase64 = fmt.Errorf("%w: s is not base64", ErrMalformedSignature)
	errSigLength = fmt.Errorf("%w: s does not decode to %d bytes", ErrMalformedSignature, ed25519.SignatureSize)
)

// splitSignature returns the raw t and s values of a header value.
func splitSignature(value string) (t, s string, err error) {
	var seenT, seenS bool
	for pair := range strings.SplitSeq(value, ",") {
		// Only the first '=' separates: base64 padding keeps the rest.
		name, val, ok := strings.Cut(pair, "=")
		if !ok {
			if strings.TrimSpace(pair) == "" {
				continue
			}
			return "", "", errNoEquals
		}
		switch strings.TrimSpace(name) {
		case "t":
			if seenT {
				return "", "", errTwiceT
			}
			t, seenT = strings.TrimSpace(val), true
		case "s":
			if seenS {
				return "", "", errTwiceS
			}
			s, seenS = strings.TrimSpace(val), true
		}
	}
	if !seenT || !seenS {
		return "", "", errMissingTS
	}
	return t, s, nil
}

// parseUnixDigits accepts only ASCII digits: strconv alone would take "+1",
// "-1" and "1_0", none of which a sender writes.
func parseUnixDigits(t string) (int64, error) {
	if t == "" || len(t) > 18 {
		return 0, errBadT
	}
	for i := 0; i < len(t); i++ {
		if t[i] < '0' || t[i] > '9' {
			return 0, errBadT
		}
	}
	return strconv.ParseInt(t, 10, 64) // cannot fail: at most 18 digits
}

func decodeSignature(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	enc := base64.RawStdEncoding
	if strings.ContainsAny(s, "-_") {
		enc = base64.RawURLEncoding
	}
	if enc.DecodedLen(len(s)) != ed25519.SignatureSize {
		return nil, errSigLength
	}
	// The decoder skips CR and LF; a signature has none.
	if strings.ContainsAny(s, "\r\n") {
		return nil, errBadBase64
	}
	// Strict rejects non-zero trailing bits, so one signature has one
	// spelling per alphabet.
	sig, err := enc.Strict().DecodeString(s)
	if err != nil {
		return nil, errBadBase64
	}
	if len(sig) != ed25519.SignatureSize {
		return nil, errSigLength
	}
	return sig, nil
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

// SignatureValue returns the SEP-12 signature header value of h: Signature
// if present, X-Stellar-Signature otherwise, "" if neither is.
func SignatureValue(h http.Header) string {
	if v := h.Values(SignatureHeader); len(v) > 0 {
		return v[0]
	}
	return h.Get(LegacySignatureHeader)
}

// SignSEP12 returns the Signature header value an anchor holding seed (an
// "S..." secret seed) sends with body to a callback registered for host, at
// time t. host is a host or host:port, or a URL whose host is used. To sign
// many callbacks, parse the seed once with send.NewSigner.
func SignSEP12(seed, host string, body []byte, t time.Time) (string, error) {
	// TEMPORARY (h-sw): Signer moved to package send; this keeps SignSEP12
	// without go-stellar-sdk's keypair until the lead's version lands.
	key, err := wire.ParseSeed(seed)
	if err != nil {
		return "", fmt.Errorf("%w: seed: %w", ErrConfig, err)
	}
	h, err := callbackHost(host)
	if err != nil {
		return "", err
	}
	return wire.Sign(key, h, body, t), nil
}

// signedMessage appends "<t>.<host>.<body>" to dst.
func signedMessage(dst []byte, t, host string, body []byte) []byte {
	dst = append(dst, t...)
	dst = append(dst, '.')
	dst = append(dst, host...)
	dst = append(dst, '.')
	return append(dst, body...)
}

// callbackHost returns the host callbacks are signed for: host itself, or
// the host of a URL.
func callbackHost(host string) (string, error) {
	if strings.Contains(host, "://") {
		u, err := url.Parse(host)
		if err != nil {
			return "", fmt.Errorf("%w: host is not a valid URL", ErrConfig)
		}
		host = u.Host
	}
	if host == "" {
		return "", fmt.Errorf("%w: empty host", ErrConfig)
	}
	if strings.ContainsAny(host, "/?#@ \t\r\n") {
		return "", fmt.Errorf("%w: host must be a host or host:port, or a URL", ErrConfig)
	}
	return host, nil
}

// bareHost returns host without its port, or "" when it has none.
func bareHost(host string) string {
	h, port, err := net.SplitHostPort(host)
	if err != nil || port == "" {
		return ""
	}
	if strings.HasPrefix(host, "[") {
		return "[" + h + "]"
	}
	return h
}

// KeySource supplies the anchor signing keys a [SEP12Verifier] trusts.
// SigningKeys is called for every request: it must be fast and safe for
// concurrent use. A source that can look again for new keys, as after a key
// rotation, also implements [KeyRefresher].
type KeySource interface {
	SigningKeys(ctx context.Context) ([]ed25519.PublicKey, error)
}

// KeyRefresher is a [KeySource] that can fetch its keys again. A verifier
// calls RefreshSigningKeys when a signature fails under every current key
// and, if it reports a change, tries the new keys once. Implementations
// limit how often they really fetch, so that a flood of forged callbacks
// does not become a flood of fetches.
type KeyRefresher interface {
	KeySource
	RefreshSigningKeys(ctx context.Context) (changed bool, err error)
}

// StaticKeys is a fixed set of trusted signing keys, such as an anchor's old
// and new key during a rotation. Build it with [ParseKeys].
type StaticKeys []ed25519.PublicKey

// SigningKeys returns k.
func (k StaticKeys) SigningKeys(context.Context) ([]ed25519.PublicKey, error) { return k, nil }

// ParseKeys parses one or more Stellar public keys ("G..." strkeys, the
// SIGNING_KEY of an anchor's stellar.toml) into a [StaticKeys].
func ParseKeys(addresses ...string) (StaticKeys, error) {
	if len(addresses) == 0 {
		return nil, fmt.Errorf("%w: no signing key", ErrConfig)
	}
	keys := make(StaticKeys, 0, len(addresses))
	for i, a := range addresses {
		k, err := ParseKey(a)
		if err != nil && len(addresses) > 1 {
			return nil, fmt.Errorf("signing key %d: %w", i+1, err)
		}
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// ParseKey parses a Stellar public key ("G..." strkey) into an ed25519 key.
func ParseKey(address string) (ed25519.PublicKey, error) {
	if v, err := strkey.Version(address); err == nil && v == strkey.VersionByteSeed {
		// Someone pasted the seed: do not repeat it, and say what to use.
		return nil, fmt.Errorf("%w: got a secret seed, want the anchor's public key (G...)", ErrConfig)
	}
	raw, err := strkey.Decode(strkey.VersionByteAccountID, address)
	if err != nil || len(raw) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: signing key is not a Stellar public key (G...)", ErrConfig)
	}
	return ed25519.PublicKey(raw), nil
}

// SEP12Verifier checks SEP-12 callback signatures for one configured host.
// It is safe for concurrent use. Build it with [NewSEP12Verifier].
type SEP12Verifier struct {
	keys KeySource
	host string // the host the wallet registered
	bare string // host without its port, or "" when host has none
	cfg  config
}

// NewSEP12Verifier returns a verifier that trusts keys for callbacks
// registered at host (a host, host:port, or the callback URL itself). It
// returns an error matching [ErrConfig] for a nil source, an unusable host or
// an option that does not apply to SEP-12. It is the non-panicking way to
// build what [SEP12] builds, for keys and hosts read from configuration.
func NewSEP12Verifier(keys KeySource, host string, opts ...Option) (*SEP12Verifier, error) {
	if keys == nil {
		return nil, fmt.Errorf("%w: nil key source", ErrConfig)
	}
	if k, ok := keys.(StaticKeys); ok {
		if len(k) == 0 {
			return nil, fmt.Errorf("%w: no signing key", ErrConfig)
		}
		for _, pk := range k {
			if len(pk) != ed25519.PublicKeySize {
				return nil, fmt.Errorf("%w: a signing key is not %d bytes", ErrConfig, ed25519.PublicKeySize)
			}
		}
	}
	h, err := callbackHost(host)
	if err != nil {
		return nil, err
	}
	cfg, err := newConfig(modeSEP12, opts)
	if err != nil {
		return nil, err
	}
	return &SEP12Verifier{keys: keys, host: h, bare: bareHost(h), cfg: cfg}, nil
}

// Host returns the host signatures are checked against.
func (v *SEP12Verifier) Host() string { return v.host }

// Verify reports whether header, the value of the Signature (or
// X-Stellar-Signature) header, is a valid signature of body for the
// configured host at time now, and returns the signing time. The checks run
// cheapest first: syntax, then freshness, then ed25519. The error matches
// one of [ErrMissingSignature], [ErrMalformedSignature], [ErrExpired],
// [ErrFuture], [ErrBadSignature] or [ErrKeysUnavailable].
func (v *SEP12Verifier) Verify(ctx context.Context, header string, body []byte, now time.Time) (time.Time, error) {
	sig, err := v.checkHeader(header, now)
	if err != nil {
		return time.Time{}, err
	}
	msg := signedMessage(nil, sig.Timestamp, v.host, body)
	if err := v.checkSignature(ctx, sig, msg, len(msg)-len(body), ""); err != nil {
		return time.Time{}, err
	}
	return sig.Time, nil
}

// checkHeader does every check that needs no body: presence, syntax and
// freshness.
func (v *SEP12Verifier) checkHeader(header string, now time.Time) (Signature, error) {
	if header == "" {
		return Signature{}, ErrMissingSignature
	}
	t, s, err := splitSignature(header)
	if err != nil {
		return Signature{}, err
	}
	sec, err := parseUnixDigits(t)
	if err != nil {
		return Signature{}, err
	}
	// Freshness before decoding the signature: the cheapest way to turn
	// away a replay. An age equal to the tolerance is still fresh.
	at := time.Unix(sec, 0)
	// Not -now.Sub(at): Sub saturates for a t centuries ahead, and negating
	// the minimum Duration overflows back to a negative one.
	switch {
	case now.Sub(at) > v.cfg.tolerance:
		return Signature{}, &timeError{ErrExpired, now.Sub(at), v.cfg.tolerance}
	case at.After(now.Add(v.cfg.tolerance)):
		return Signature{}, &timeError{ErrFuture, at.Sub(now), v.cfg.tolerance}
	}
	sig, err := decodeSignature(s)
	if err != nil {
		return Signature{}, err
	}
	return Signature{Timestamp: t, Time: at, Bytes: sig}, nil
}

// checkSignature verifies msg, which is "<t>.<host>.<body>" with the body
// starting at msg[bodyAt:]. requestHost, when not "", is the request's Host
// header, tried only to explain a failure.
func (v *SEP12Verifier) checkSignature(ctx context.Context, sig Signature, msg []byte, bodyAt int, requestHost string) error {
	keys, err := v.keys.SigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrKeysUnavailable, err)
	}
	if len(keys) == 0 {
		return fmt.Errorf("%w: the key source has no key", ErrKeysUnavailable)
	}
	if verifyAny(keys, msg, sig.Bytes) {
		return nil
	}
	body := msg[bodyAt:]
	var bareMsg []byte
	if v.bare != "" {
		// Some senders (the Kotlin wallet SDK) sign the host without its
		// port. Both are the wallet's own name, so this opens nothing.
		bareMsg = signedMessage(nil, sig.Timestamp, v.bare, body)
		if verifyAny(keys, bareMsg, sig.Bytes) {
			return nil
		}
	}
	if r, ok := v.keys.(KeyRefresher); ok {
		changed, err := r.RefreshSigningKeys(ctx)
		if err == nil && changed {
			if keys, err = v.keys.SigningKeys(ctx); err == nil &&
				(verifyAny(keys, msg, sig.Bytes) || bareMsg != nil && verifyAny(keys, bareMsg, sig.Bytes)) {
				return nil
			}
		}
	}
	if !v.cfg.diagnose {
		return ErrBadSignature
	}
	return v.diagnose(keys, sig, body, requestHost)
}

// diagnose tries a few hosts the sender may have signed for instead, so the
// person reading the log learns what to fix. It costs at most two ed25519
// verifications per key and runs only when someone reads the result.
func (v *SEP12Verifier) diagnose(keys []ed25519.PublicKey, sig Signature, body []byte, requestHost string) error {
	type candidate struct{ host, says string }
	var cands []candidate
	if v.bare == "" {
		h := v.host + ":443"
		cands = append(cands, candidate{h, fmt.Sprintf("valid for host %q, not for the configured %q: register the callback URL without the port, or configure the host with it", h, v.host)})
	}
	if requestHost != "" && requestHost != v.host && requestHost != v.bare && len(requestHost) <= 255 {
		says := fmt.Sprintf("valid for the request's Host header, not for the configured host %q: configure the host the callback URL was registered with", v.host)
		if samePortDigits(requestHost, v.host) {
			// Only the port differs, and a port is digits: safe to show.
			says = fmt.Sprintf("valid for host %q, not for the configured %q: configure the host with the port the callback URL was registered with", requestHost, v.host)
		}
		// Otherwise the request's Host is not repeated: it is the sender's text.
		cands = append(cands, candidate{requestHost, says})
	}
	for _, c := range cands {
		if verifyAny(keys, signedMessage(nil, sig.Timestamp, c.host, body), sig.Bytes) {
			return fmt.Errorf("%w: %s", ErrBadSignature, c.says)
		}
	}
	return fmt.Errorf("%w: not signed by a trusted key for host %q, or the body was changed", ErrBadSignature, v.host)
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

func verifyAny(keys []ed25519.PublicKey, msg, sig []byte) bool {
	for _, k := range keys {
		// A wrong-length key makes ed25519.Verify panic; sources are
		// outside this package, so check.
		if len(k) == ed25519.PublicKeySize && ed25519.Verify(k, msg, sig) {
			return true
		}
	}
	return false
}
