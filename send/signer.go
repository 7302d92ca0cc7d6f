package send

import (
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"time"

	"github.com/kyccb/kyccb"
	"github.com/kyccb/kyccb/internal/wire"
)

// Signer signs SEP-12 callbacks as an anchor does, with the secret seed
// whose public key is the SIGNING_KEY of the anchor's stellar.toml. [NewSEP12]
// signs and delivers; a Signer is for anchors that deliver callbacks
// through their own HTTP code. Build it with [NewSigner]. It is safe for
// concurrent use.
//
// A Signer prints and logs as its public key only (see [Signer.String]).
type Signer struct {
	// sign holds the key in its closure and nowhere else: fmt prints a func
	// as an address with every verb, and reflection cannot reach what it
	// captured. So even a Signer in a struct field that fmt prints field by
	// field, without calling String (an unexported one), shows no key; a
	// pointer to the key would not do, since a wrong verb makes fmt print
	// what a pointer to a slice or struct points to.
	sign    func(host string, body []byte, t time.Time) string
	address string
}

// NewSigner returns a Signer for seed, an "S..." Stellar secret seed. The
// error matches [kyccb.ErrConfig] and never repeats the seed: it says when
// seed is a public key ("G...") instead, or has white space around it.
func NewSigner(seed string) (*Signer, error) {
	if seed == "" {
		return nil, fmt.Errorf("%w: empty seed", kyccb.ErrConfig)
	}
	key, err := wire.ParseSeed(seed)
	if err != nil {
		return nil, fmt.Errorf("%w: seed: %w", kyccb.ErrConfig, err)
	}
	sign := func(host string, body []byte, t time.Time) string { return wire.Sign(key, host, body, t) }
	return &Signer{sign: sign, address: wire.Address(key.Public().(ed25519.PublicKey))}, nil
}

// Address returns the signer's public key, "G...": the SIGNING_KEY
// receivers trust.
func (s *Signer) Address() string { return s.address }

// Sign returns the Signature header value for body sent at time t to a
// callback registered for host (a host, host:port, or the callback URL
// itself, whose host is used as the Anchor Platform uses it: host:port
// when the URL has an explicit port). The error matches [kyccb.ErrConfig]
// when host is unusable.
func (s *Signer) Sign(host string, body []byte, t time.Time) (string, error) {
	h, err := wire.CallbackHost(host)
	if err != nil {
		return "", fmt.Errorf("%w: %w", kyccb.ErrConfig, err)
	}
	return s.sign(h, body, t), nil
}

// String returns "send.Signer{G...}": the public key, never the seed. The
// %v, %+v and %s verbs print it.
func (s *Signer) String() string {
	if s == nil {
		return "<nil>"
	}
	return "send.Signer{" + s.address + "}"
}

// GoString returns what String does, for the %#v verb.
func (s *Signer) GoString() string { return s.String() }

// LogValue logs the signer as its public key, signing_key=G..., never the
// seed.
func (s *Signer) LogValue() slog.Value {
	if s == nil {
		return slog.StringValue("<nil>")
	}
	return slog.GroupValue(slog.String("signing_key", s.address))
}
