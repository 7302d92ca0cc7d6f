package kyccb

import (
	"context"
	"crypto/ed25519"
	"errors"
	"strings"
	"unicode"

	"github.com/kyccb/kyccb/internal/wire"
)

// KeySource supplies the anchor signing keys a [SEP12Verifier] trusts.
// SigningKeys is called for every request: it must be fast and safe for
// concurrent use. A source that can look again for new keys, as after a key
// rotation, also implements [KeyRefresher]. Package
// github.com/kyccb/kyccb/wallet has one that reads the anchor's
// stellar.toml.
//
// Keys of the wrong length and keys of small order (under which signatures
// made without any secret verify) are never trusted, whatever the source
// returns.
type KeySource interface {
	SigningKeys(ctx context.Context) ([]ed25519.PublicKey, error)
}

// KeyRefresher is a [KeySource] that can fetch its keys again. A verifier
// calls RefreshSigningKeys when a signature fails under every current key
// and, if it reports a change, tries the new keys once. Implementations
// limit how often they really fetch, so that a flood of forged callbacks
// does not become a flood of fetches; the verifier waits for a refresh at
// most a few seconds, and only a few requests at a time, answering the
// others 503 so that their senders retry.
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
// SIGNING_KEY of an anchor's stellar.toml) into a [StaticKeys]. The error
// matches [ErrConfig], says which key is wrong and how (white space around
// it, a secret seed given instead, a key of small order, several keys in one
// string), and never repeats the key.
func ParseKeys(addresses ...string) (StaticKeys, error) {
	if len(addresses) == 0 {
		return nil, configError("no signing key")
	}
	keys := make(StaticKeys, 0, len(addresses))
	for i, a := range addresses {
		k, err := wire.ParsePublicKey(a)
		if err != nil && severalKeys(a) {
			err = errSeveralKeys
		}
		switch {
		case err != nil && len(addresses) > 1:
			return nil, configError("signing key %d %v", i+1, err)
		case err != nil:
			return nil, configError("signing key %v", err)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

var errSeveralKeys = errors.New("looks like several keys in one string: give each as an argument of its own")

// severalKeys reports whether s is public keys separated by commas or
// white space, as a configuration value may hold them.
func severalKeys(s string) bool {
	parts := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || unicode.IsSpace(r) })
	if len(parts) < 2 {
		return false
	}
	for _, p := range parts {
		if _, err := wire.ParsePublicKey(p); err != nil {
			return false
		}
	}
	return true
}

// checkStaticKeys refuses a StaticKeys built by hand with a key ParseKeys
// would have refused.
func checkStaticKeys(k StaticKeys) error {
	if len(k) == 0 {
		return configError("no signing key")
	}
	for i, pk := range k {
		switch {
		case len(pk) != ed25519.PublicKeySize:
			return configError("signing key %d is not %d bytes", i+1, ed25519.PublicKeySize)
		case wire.IsSmallOrder(pk):
			return configError("signing key %d %v", i+1, wire.ErrKeySmallOrder)
		}
	}
	return nil
}

// trusted reports whether k can be trusted at all.
func trusted(k ed25519.PublicKey) bool {
	return len(k) == ed25519.PublicKeySize && !wire.IsSmallOrder(k)
}

func verifyAny(keys []ed25519.PublicKey, msg, sig []byte) bool {
	for _, k := range keys {
		// A wrong-length key makes ed25519.Verify panic, and a small-order
		// one accepts forgeries; sources are outside this package, so check.
		if trusted(k) && ed25519.Verify(k, msg, sig) {
			return true
		}
	}
	return false
}
