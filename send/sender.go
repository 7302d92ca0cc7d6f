package send

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/kyccb/kyccb/internal/httpx"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/kyccb/kyccb"
	"github.com/kyccb/kyccb/internal/wire"
)

// ErrNotDelivered: a [Sender] gave up on a callback: the receiver refused
// it with a 4xx other than 429, every attempt failed, or the context ended.
// The error wraps the last request's failure or the context's error; the
// [Delivery] says what each attempt got.
var ErrNotDelivered = errors.New("kyccb: callback not delivered")

// Sender delivers callbacks to a callback URL as an anchor (or XGateway)
// does: a POST of a JSON body, authenticated, retried with exponential
// backoff and jitter after a network error, a timeout, a 5xx or a 429, and
// not after any other reply. A 2xx or 3xx reply is a delivery, as the
// Anchor Platform counts it; redirects are not followed, since following
// one would send the body, signed for one host, to another. Build it with
// [NewSEP12] or [NewXGateway]. It is safe for concurrent use.
//
// A Sender prints and logs without its seed or secret (see
// [Sender.String]).
type Sender struct {
	signer *Signer // SEP-12; nil for XGateway
	// hash sets an XGateway body's hash; nil for SEP-12. The secret lives
	// in its closure only, for the reason given in [Signer].
	hash   func(body []byte) ([]byte, error)
	client *http.Client
	cfg    config
}

// NewSEP12 returns a sender of SEP-12 callbacks signed with seed, the
// anchor's "S..." secret seed whose public key is the SIGNING_KEY of its
// stellar.toml. Every attempt is signed anew, with the time it is sent and
// the host of the callback URL as the Anchor Platform takes it: host, or
// host:port when the URL has an explicit port. The body is sent as given,
// with Content-Type: application/json; charset=utf-8.
//
// By default it makes 4 attempts. The error matches [kyccb.ErrConfig] and
// never repeats the seed.
func NewSEP12(seed string, opts ...Option) (*Sender, error) {
	signer, err := NewSigner(seed)
	if err != nil {
		return nil, err
	}
	cfg := newConfig(opts)
	return newSender(signer, nil, 4, cfg)
}

// NewXGateway returns a sender of XGateway callbacks hashed with secret,
// the merchant's secret key, for simulations and tests of XGateway
// receivers. Send sets the body's "hash" field as XGateway computes it for
// the body's callbackType.
//
// By default it makes 11 attempts. The error matches [kyccb.ErrConfig] for
// an empty secret, a secret with leading or trailing white space (as the
// XGateway verifier refuses it), an unusable option, and
// [WithLegacySignatureHeader]; it never repeats the secret.
//
// WithLegacySignatureHeader is refused here, at construction, rather than
// by the compiler: a second option type for one option would break the
// common case of one []Option built for both constructors.
func NewXGateway(secret string, opts ...Option) (*Sender, error) {
	switch {
	case secret == "":
		return nil, fmt.Errorf("%w: empty XGateway secret", kyccb.ErrConfig)
	case strings.TrimSpace(secret) != secret:
		return nil, fmt.Errorf("%w: XGateway secret has leading or trailing white space", kyccb.ErrConfig)
	}
	cfg := newConfig(opts)
	if cfg.legacy {
		cfg.fail("WithLegacySignatureHeader applies only to SEP-12 senders")
	}
	hash := func(body []byte) ([]byte, error) { return withHash(secret, body) }
	return newSender(nil, hash, 11, cfg)
}

func newSender(signer *Signer, hash func([]byte) ([]byte, error), attempts int, cfg config) (*Sender, error) {
	if err := errors.Join(cfg.errs...); err != nil {
		return nil, err
	}
	if cfg.attempts == 0 {
		cfg.attempts = attempts
	}
	var hc http.Client
	if cfg.client != nil {
		hc = *cfg.client
	}
	hc.CheckRedirect = httpx.NoRedirect
	return &Sender{signer: signer, hash: hash, client: &hc, cfg: cfg}, nil
}

// String describes the sender without its seed or secret:
// "send.Sender{SEP-12, signing key G...}" or
// "send.Sender{XGateway, secret redacted}". The %v, %+v and %s verbs print
// it.
func (s *Sender) String() string {
	switch {
	case s == nil:
		return "<nil>"
	case s.signer != nil:
		return "send.Sender{SEP-12, signing key " + s.signer.address + "}"
	default:
		return "send.Sender{XGateway, secret redacted}"
	}
}

// GoString returns what String does, for the %#v verb.
func (s *Sender) GoString() string { return s.String() }

// LogValue logs the sender as protocol=SEP-12 signing_key=G..., or
// protocol=XGateway secret=redacted.
func (s *Sender) LogValue() slog.Value {
	switch {
	case s == nil:
		return slog.StringValue("<nil>")
	case s.signer != nil:
		return slog.GroupValue(slog.String("protocol", "SEP-12"), slog.String("signing_key", s.signer.address))
	default:
		return slog.GroupValue(slog.String("protocol", "XGateway"), slog.String("secret", "redacted"))
	}
}

// Delivery is what happened to one callback given to [Sender.Send].
type Delivery struct {
	// Body is the body sent: the one given, or for XGateway that body with
	// its hash set.
	Body []byte
	// Attempts are the attempts made, in order.
	Attempts []Attempt
	// StatusCode is the status of the last reply, 0 when no attempt got one.
	StatusCode int
	// Reply is the start, at most 4 KiB, of the last reply's body.
	Reply []byte
}

// Attempt is one try at delivering a callback.
type Attempt struct {
	// N counts attempts from 1.
	N int
	// Signature is the Signature header sent, "" for XGateway. Its t is
	// the time of this attempt.
	Signature string
	// StatusCode is the reply's status, 0 when the request failed.
	StatusCode int
	// Err says why the request failed (network error, timeout), nil when a
	// reply came.
	Err error
	// Delay is how long the sender waits before the next attempt, 0 when
	// there is none.
	Delay time.Duration
}

// Send delivers body to callbackURL, an absolute http or https URL, retrying
// as described at [Sender] until an attempt is delivered, the attempts run
// out or ctx ends. For SEP-12, body is sent and signed byte for byte:
// json.Marshal of a [kyccb.Customer] gives the compact JSON the Anchor
// Platform sends. For XGateway, body is a JSON object with a callbackType;
// Send sets its hash field (and sends its keys in sorted order).
//
// The error is nil when the callback was delivered; otherwise it matches
// [kyccb.ErrConfig] for an unusable URL (nothing was sent),
// [kyccb.ErrMalformedBody] or [kyccb.ErrUnknownCallbackType] for an
// XGateway body that cannot be hashed, and [ErrNotDelivered] when it was
// sent but not delivered. The error never repeats the URL, whose query
// often holds a token. The [Delivery] tells what each attempt got in every
// case.
func (s *Sender) Send(ctx context.Context, callbackURL string, body []byte) (Delivery, error) {
	u, err := url.Parse(callbackURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Hostname() == "" {
		return Delivery{}, fmt.Errorf("%w: callback URL must be an absolute http or https URL", kyccb.ErrConfig)
	}
	if s.hash != nil {
		if body, err = s.hash(body); err != nil {
			return Delivery{}, err
		}
	}
	d := Delivery{Body: body}
	for n := 1; ; n++ {
		a, retryAfter := s.attempt(ctx, u, body, &d)
		a.N = n
		retry := a.Err != nil || a.StatusCode == http.StatusTooManyRequests || a.StatusCode >= 500
		last := n >= s.cfg.attempts || ctx.Err() != nil
		if retry && !last {
			a.Delay = s.delay(n, retryAfter)
		}
		d.Attempts = append(d.Attempts, a)
		if s.cfg.onAttempt != nil {
			s.cfg.onAttempt(a)
		}
		switch {
		case a.Err == nil && a.StatusCode >= 200 && a.StatusCode < 400:
			return d, nil
		case ctx.Err() != nil:
			return d, fmt.Errorf("%w: %w", ErrNotDelivered, ctx.Err())
		case !retry:
			return d, fmt.Errorf("%w: the receiver replied %d", ErrNotDelivered, a.StatusCode)
		case last && a.Err != nil:
			return d, fmt.Errorf("%w: %s, the last failed: %w", ErrNotDelivered, attempts(n), a.Err)
		case last:
			return d, fmt.Errorf("%w: %s, the last got %d", ErrNotDelivered, attempts(n), a.StatusCode)
		}
		t := time.NewTimer(a.Delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return d, fmt.Errorf("%w: %w", ErrNotDelivered, ctx.Err())
		}
	}
}

// attempt makes one request, signed now for SEP-12, and records the reply
// in d. It returns the reply's Retry-After, 0 if none.
func (s *Sender) attempt(ctx context.Context, u *url.URL, body []byte, d *Delivery) (Attempt, time.Duration) {
	var a Attempt
	ctx, cancel := context.WithTimeout(ctx, s.cfg.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		a.Err = httpx.RequestError(err)
		return a, 0
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	if s.signer != nil {
		a.Signature = s.signer.sign(u.Host, body, s.cfg.now())
		req.Header.Set(wire.SignatureHeader, a.Signature)
		if s.cfg.legacy {
			req.Header.Set(wire.LegacySignatureHeader, a.Signature)
		}
	}
	resp, err := s.client.Do(req)
	if err != nil {
		a.Err = httpx.RequestError(err)
		return a, 0
	}
	defer resp.Body.Close()
	a.StatusCode = resp.StatusCode
	d.StatusCode, d.Reply = resp.StatusCode, httpx.ReadReply(resp.Body, maxReplyBytes)
	return a, retryAfter(resp.Header.Get("Retry-After"), s.cfg.now())
}

// delay returns the wait after attempt n: exponential, with jitter, at
// least what the receiver asked for, at most the maximum.
func (s *Sender) delay(n int, retryAfter time.Duration) time.Duration {
	d, limit := s.cfg.backoff, s.cfg.maxBackoff
	for i := 1; i < n && d < limit; i++ {
		if d > limit/2 { // doubling would pass the limit, or overflow
			d = limit
		} else {
			d *= 2
		}
	}
	d = d/2 + rand.N(d/2+1)
	if retryAfter > d {
		d = min(retryAfter, limit)
	}
	return d
}

// retryAfter parses a Retry-After value, seconds or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if sec, err := strconv.ParseUint(v, 10, 32); err == nil {
		return time.Duration(sec) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// attempts says "1 attempt" or "n attempts".
func attempts(n int) string {
	if n == 1 {
		return "1 attempt"
	}
	return fmt.Sprintf("%d attempts", n)
}
