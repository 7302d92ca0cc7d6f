// Package wire holds the byte-level rules of the two callback protocols:
// what SEP-12 signs and how its header and keys are spelled, and what
// XGateway hashes. The kyccb library and its command share it, so that the
// verifier, the senders and the diagnosis cannot drift apart.
//
// Errors here carry no sentinel of package kyccb: the library maps them to
// its own. Their texts never quote the input.
package wire

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/kyccb/kyccb/internal/strkey"
)

// Header names an anchor puts the SEP-12 signature in.
const (
	SignatureHeader       = "Signature"
	LegacySignatureHeader = "X-Stellar-Signature"
)

// SignatureValue returns the SEP-12 signature header value of h: Signature
// if present, X-Stellar-Signature otherwise, "" if neither is.
func SignatureValue(h http.Header) string {
	if v := h.Values(SignatureHeader); len(v) > 0 {
		return v[0]
	}
	return h.Get(LegacySignatureHeader)
}

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

// Why a signature header is malformed.
var (
	ErrNoEquals  = errors.New("a pair has no '='")
	ErrTwiceT    = errors.New("t given twice")
	ErrTwiceS    = errors.New("s given twice")
	ErrMissingTS = errors.New("t and s are both required")
	ErrBadT      = errors.New("t is not a unix time")
	ErrBadBase64 = errors.New("s is not base64")
	ErrSigLength = errors.New("s does not decode to 64 bytes")
)

// ParseSignature parses a Signature (or X-Stellar-Signature) header value of
// the form "t=<unix seconds>, s=<base64 signature>". It accepts any
// whitespace around the pairs and their parts, either order of the pairs,
// standard or URL-safe base64, padded or not; it ignores pairs with other
// names, and rejects a repeated t or s, a t that is not plain decimal
// digits, and a signature that does not decode to exactly 64 bytes.
func ParseSignature(value string) (Signature, error) {
	t, s, err := SplitSignature(value)
	if err != nil {
		return Signature{}, err
	}
	sec, err := ParseUnix(t)
	if err != nil {
		return Signature{}, err
	}
	sig, err := DecodeSignature(s)
	if err != nil {
		return Signature{}, err
	}
	return Signature{Timestamp: t, Time: time.Unix(sec, 0), Bytes: sig}, nil
}

// SplitSignature returns the raw t and s values of a header value.
func SplitSignature(value string) (t, s string, err error) {
	var seenT, seenS bool
	for pair := range strings.SplitSeq(value, ",") {
		// Only the first '=' separates: base64 padding keeps the rest.
		name, val, ok := strings.Cut(pair, "=")
		if !ok {
			if strings.TrimSpace(pair) == "" {
				continue
			}
			return "", "", ErrNoEquals
		}
		switch strings.TrimSpace(name) {
		case "t":
			if seenT {
				return "", "", ErrTwiceT
			}
			t, seenT = strings.TrimSpace(val), true
		case "s":
			if seenS {
				return "", "", ErrTwiceS
			}
			s, seenS = strings.TrimSpace(val), true
		}
	}
	if !seenT || !seenS {
		return "", "", ErrMissingTS
	}
	return t, s, nil
}

// ParseUnix accepts only ASCII digits: strconv alone would take "+1", "-1"
// and "1_0", none of which a sender writes.
func ParseUnix(t string) (int64, error) {
	if t == "" || len(t) > 18 {
		return 0, ErrBadT
	}
	for i := 0; i < len(t); i++ {
		if t[i] < '0' || t[i] > '9' {
			return 0, ErrBadT
		}
	}
	return strconv.ParseInt(t, 10, 64) // cannot fail: at most 18 digits
}

// DecodeSignature decodes s, standard or URL-safe base64, padded or not,
// into the 64 bytes of an ed25519 signature.
func DecodeSignature(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	enc := base64.RawStdEncoding
	if strings.ContainsAny(s, "-_") {
		enc = base64.RawURLEncoding
	}
	if enc.DecodedLen(len(s)) != ed25519.SignatureSize {
		return nil, ErrSigLength
	}
	// The decoder skips CR and LF; a signature has none.
	if strings.ContainsAny(s, "\r\n") {
		return nil, ErrBadBase64
	}
	// Strict rejects non-zero trailing bits, so one signature has one
	// spelling per alphabet.
	sig, err := enc.Strict().DecodeString(s)
	if err != nil {
		return nil, ErrBadBase64
	}
	if len(sig) != ed25519.SignatureSize {
		return nil, ErrSigLength
	}
	return sig, nil
}

// SignedMessage appends "<t>.<host>.<body>", the bytes a SEP-12 signature
// covers, to dst.
func SignedMessage(dst []byte, t, host string, body []byte) []byte {
	dst = append(dst, t...)
	dst = append(dst, '.')
	dst = append(dst, host...)
	dst = append(dst, '.')
	return append(dst, body...)
}

// Sign returns the Signature header value for body sent at time t to a
// callback registered for host, signed with key. It writes one space after
// the comma, as the Anchor Platform does.
func Sign(key ed25519.PrivateKey, host string, body []byte, t time.Time) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	sig := ed25519.Sign(key, SignedMessage(nil, ts, host, body))
	return "t=" + ts + ", s=" + base64.StdEncoding.EncodeToString(sig)
}

// Why a host is unusable.
var (
	ErrHostURL   = errors.New("host is not a valid URL")
	ErrHostEmpty = errors.New("empty host")
	ErrHostForm  = errors.New("host must be a host or host:port, or a URL")
)

// CallbackHost returns the host callbacks are signed for: host itself (a
// host or host:port), or the host of a URL, as the Anchor Platform takes it
// (host:port when the URL has an explicit port).
func CallbackHost(host string) (string, error) {
	if strings.Contains(host, "://") {
		u, err := url.Parse(host)
		if err != nil {
			return "", ErrHostURL
		}
		host = u.Host
	}
	if host == "" {
		return "", ErrHostEmpty
	}
	if strings.ContainsAny(host, "/?#@ \t\r\n{}") {
		return "", ErrHostForm
	}
	if err := checkHost(host); err != nil {
		return "", err
	}
	return host, nil
}

// Why a host can never be a callback URL's: the signature covers the
// host exactly, so a configured host no URL can have rejects every
// callback. None of the texts repeats the host.
var (
	ErrHostWildcard = errors.New("host has a wildcard (*): a callback is signed for the one host of the URL registered, configure that host")
	ErrHostLabel    = errors.New("host has an empty label (.. or a leading dot): no callback URL has such a host")
	ErrHostChar     = errors.New("host has a character no host name has: give the host of the callback URL, such as wallet.example.org")
	ErrHostPort     = errors.New("host's port must be a number from 1 to 65535")
	ErrHostIPv6     = errors.New("host is an IPv6 address: put it in brackets, as in a URL ([::1]:8080)")
)

// checkHost refuses a host (host or host:port) that no URL can have: a
// wildcard, an empty label, a character outside host names (letters,
// digits, '-', '_', and non-ASCII for internationalized names), a port
// that is not 1 to 65535, an IPv6 address without brackets or one in
// brackets that does not parse. One trailing dot is accepted: a URL may
// name a fully qualified host.
func checkHost(host string) error {
	name, port := host, ""
	if strings.HasPrefix(host, "[") {
		end := strings.IndexByte(host, ']')
		if end < 0 {
			return ErrHostIPv6
		}
		if inner := host[1:end]; !strings.Contains(inner, ":") || net.ParseIP(inner) == nil {
			return ErrHostIPv6
		}
		switch rest := host[end+1:]; {
		case rest == "":
			return nil
		case rest[0] != ':':
			return ErrHostChar
		default:
			return checkPort(rest[1:])
		}
	}
	switch strings.Count(host, ":") {
	case 0:
	case 1:
		name, port, _ = strings.Cut(host, ":")
		if err := checkPort(port); err != nil {
			return err
		}
	default:
		return ErrHostIPv6
	}
	name = strings.TrimSuffix(name, ".")
	for label := range strings.SplitSeq(name, ".") {
		if label == "" {
			return ErrHostLabel
		}
		for i := 0; i < len(label); i++ {
			switch c := label[i]; {
			case c == '*':
				return ErrHostWildcard
			case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_', c >= 0x80:
			default:
				return ErrHostChar
			}
		}
	}
	return nil
}

// checkPort accepts the decimal ports 1 to 65535.
func checkPort(port string) error {
	if port == "" || len(port) > 5 || strings.Trim(port, "0123456789") != "" {
		return ErrHostPort
	}
	if n, _ := strconv.Atoi(port); n < 1 || n > 65535 {
		return ErrHostPort
	}
	return nil
}

// BareHost returns host without its port, or "" when it has none. Some
// senders (the Kotlin wallet SDK) sign the host without its port.
func BareHost(host string) string {
	h, port, err := net.SplitHostPort(host)
	if err != nil || port == "" {
		return ""
	}
	if strings.HasPrefix(host, "[") {
		return "[" + h + "]"
	}
	return h
}

// Why a key is unusable. None of the texts repeats the key.
var (
	ErrKeySpace      = errors.New("has leading or trailing white space")
	ErrKeyIsSeed     = errors.New("got a secret seed (S...), want the public key (G...); do not share the seed")
	ErrKeyNotAccount = errors.New("not a Stellar public key (G...)")
	ErrKeySmallOrder = errors.New("is a key of small order, under which signatures made without any secret verify")
	ErrSeedIsAccount = errors.New("got a public key (G...), want the secret seed, which starts with S")
	ErrSeedNotSeed   = errors.New("not a Stellar secret seed (S...)")
)

// ParsePublicKey parses a Stellar public key ("G..." strkey) into an ed25519
// key. It refuses keys of small order (see [IsSmallOrder]).
func ParsePublicKey(address string) (ed25519.PublicKey, error) {
	if strings.TrimSpace(address) != address {
		return nil, ErrKeySpace
	}
	if v, err := strkey.Version(address); err == nil && v == strkey.VersionByteSeed {
		return nil, ErrKeyIsSeed
	}
	raw, err := strkey.Decode(strkey.VersionByteAccountID, address)
	if err != nil || len(raw) != ed25519.PublicKeySize {
		return nil, ErrKeyNotAccount
	}
	if IsSmallOrder(raw) {
		return nil, ErrKeySmallOrder
	}
	return ed25519.PublicKey(raw), nil
}

// ParseSeed parses a Stellar secret seed ("S..." strkey) into the ed25519
// private key it stands for.
func ParseSeed(seed string) (ed25519.PrivateKey, error) {
	if strings.TrimSpace(seed) != seed {
		return nil, ErrKeySpace
	}
	if v, err := strkey.Version(seed); err == nil && v == strkey.VersionByteAccountID {
		return nil, ErrSeedIsAccount
	}
	raw, err := strkey.Decode(strkey.VersionByteSeed, seed)
	if err != nil || len(raw) != ed25519.SeedSize {
		return nil, ErrSeedNotSeed
	}
	return ed25519.NewKeyFromSeed(raw), nil
}

// Address returns the "G..." strkey of an ed25519 public key.
func Address(pub ed25519.PublicKey) string {
	a, err := strkey.Encode(strkey.VersionByteAccountID, pub)
	if err != nil {
		return ""
	}
	return a
}

// smallOrderY are the y coordinates, with the sign bit cleared, whose
// points have order 1, 2, 4 or 8, in every encoding an ed25519 decoder
// accepts (non-canonical ones included): the list libsodium's
// ge25519_has_small_order checks.
var smallOrderY = [][32]byte{
	{},     // 0 (order 4)
	{0x01}, // 1 (order 1)
	{0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98, 0xf0, 0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05}, // order 8
	{0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67, 0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0x7a}, // order 8
	{0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, // p-1 (order 2)
	{0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, // p, i.e. 0 (order 4)
	{0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, // p+1, i.e. 1 (order 1)
}

// IsSmallOrder reports whether pub, an encoded ed25519 public key, is a
// point of small order. Under such a key a signature made without any
// secret (R the identity, S zero) verifies for every message, or for one in
// a few: crypto/ed25519 follows RFC 8032 and does not refuse them, so keys
// are checked where they enter.
func IsSmallOrder(pub []byte) bool {
	if len(pub) != ed25519.PublicKeySize {
		return false
	}
	var y [32]byte
	copy(y[:], pub)
	y[31] &= 0x7f
	for _, s := range smallOrderY {
		if y == s {
			return true
		}
	}
	return false
}

// StartsObject reports whether body, after leading JSON white space, starts
// with '{'.
func StartsObject(body []byte) bool {
	b := bytes.TrimLeft(body, " \t\r\n")
	return len(b) > 0 && b[0] == '{'
}

// IsObject reports whether body is exactly one JSON object.
func IsObject(body []byte) bool {
	return StartsObject(body) && json.Valid(body)
}
