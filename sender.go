package kyccb

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// The sender's default backoff: the first retry waits about a second, each
// next one twice as long, none more than half a minute.
const (
	defaultBackoff    = time.Second
	defaultMaxBackoff = 30 * time.Second
)

// WithAttempts sets how many times a sender tries to deliver one callback,
// the first attempt included. The default follows the real senders: 4 for
// SEP-12 (the Anchor Platform retries up to 3 times) and 11 for XGateway
// (up to 10 retries). It must be at least 1, and applies only to senders.
func WithAttempts(n int) Option {
	return func(c *config) {
		c.onlyFor("WithAttempts", modeSenders)
		if n < 1 {
			c.fail("WithAttempts: at least one attempt is needed")
			return
		}
		c.attempts = n
	}
}

// WithBackoff sets how long a sender waits before retrying: about first
// before the second attempt, twice as long before each next one, never
// more than longest. Each wait is drawn at random between half and all of
// that (jitter, so that many failed deliveries do not all come back at
// once), and is lengthened to a reply's Retry-After, up to longest. The
// default is 1 s up to 30 s. Both must be positive and first at most
// longest; it applies only to senders.
func WithBackoff(first, longest time.Duration) Option {
	return func(c *config) {
		c.onlyFor("WithBackoff", modeSenders)
		if first <= 0 || longest < first {
			c.fail("WithBackoff: want 0 < first <= longest")
			return
		}
		c.backoff, c.maxBackoff = first, longest
	}
}

// WithAttemptHook sets a function a sender calls after each attempt, on the
// goroutine that called Send, before waiting to retry. By default attempts
// are only recorded in the [Delivery]. It applies only to senders.
func WithAttemptHook(hook func(Attempt)) Option {
	return func(c *config) {
		c.onlyFor("WithAttemptHook", modeSenders)
		if hook == nil {
			c.fail("WithAttemptHook: nil hook")
			return
		}
		c.onAttempt = hook
	}
}

// WithLegacySignatureHeader makes a SEP-12 sender send the signature in
// X-Stellar-Signature too, for receivers that read only the header SEP-12
// has deprecated. By default only Signature is sent, as the Anchor Platform
// does. It applies only to SEP-12 senders.
func WithLegacySignatureHeader() Option {
	return func(c *config) {
		c.onlyFor("WithLegacySignatureHeader", modeSEP12Sender)
		c.legacy = true
	}
}

// Sender delivers callbacks to a callback URL as an anchor (or XGateway)
// does: a POST of a JSON body, authenticated, retried with exponential
// backoff and jitter after a network error, a timeout, a 5xx or a 429, and
// not after any other reply. A 2xx or 3xx reply is a delivery, as the
// Anchor Platform counts it; redirects are not followed. Build it with
// [NewSEP12Sender] or [NewXGatewaySender]. It is safe for concurrent use.
type Sender struct {
	signer *Signer // SEP-12; nil for XGateway
	secret string  // XGateway
	client *http.Client
	cfg    config
}

// NewSEP12Sender returns a sender of SEP-12 callbacks signed with seed, the
// anchor's "S..." secret seed whose public key is the SIGNING_KEY of its
// stellar.toml. Every attempt is signed anew, with the time it is sent and
// the host of the callback URL as the Anchor Platform takes it: host, or
// host:port when the URL has an explicit port. The body is sent as given,
// Content-Type: application/json; charset=utf-8.
//
// The options that apply are [WithAttempts] (default 4), [WithBackoff],
// [WithRequestTimeout] (per attempt), [WithAttemptHook],
// [WithLegacySignatureHeader], [WithHTTPClient] and [WithClock] (the time
// signed). The error matches [ErrConfig] and never repeats the seed.
func NewSEP12Sender(seed string, opts ...Option) (*Sender, error) {
	signer, err := NewSigner(seed)
	if err != nil {
		return nil, err
	}
	return newSender(modeSEP12Sender, signer, "", 4, opts)
}

// NewXGatewaySender returns a sender of XGateway callbacks hashed with
// secret, the merchant's secret key (refused when empty or with leading or
// trailing white space, as [NewXGatewayVerifier] refuses it), for
// simulations and tests of XGateway receivers. Send sets the body's "hash" field as XGateway computes it for
// the body's callbackType.
//
// The options that apply are [WithAttempts] (default 11), [WithBackoff],
// [WithRequestTimeout] (per attempt), [WithAttemptHook] and
// [WithHTTPClient]. The error matches [ErrConfig].
func NewXGatewaySender(secret string, opts ...Option) (*Sender, error) {
	if err := checkXGatewaySecret(secret); err != nil {
		return nil, err
	}
	return newSender(modeXGatewaySender, nil, secret, 11, opts)
}

func newSender(m mode, signer *Signer, secret string, attempts int, opts []Option) (*Sender, error) {
	cfg, err := newConfig(m, opts)
	if err != nil {
		return nil, err
	}
	if cfg.attempts == 0 {
		cfg.attempts = attempts
	}
	return &Sender{signer: signer, secret: secret, client: cfg.httpClient(noRedirect), cfg: cfg}, nil
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
// json.Marshal of a [Customer] gives the compact JSON the Anchor Platform
// sends. For XGateway, body is a JSON object with a callbackType; Send sets
// its hash field (and sends its keys in sorted order).
//
// The error is nil when the callback was delivered; otherwise it matches
// [ErrConfig] for an unusable URL (nothing was sent), [ErrMalformedBody] or
// [ErrUnknownCallbackType] for an XGateway body that cannot be hashed, and
// [ErrNotDelivered] when it was sent but not delivered. The [Delivery] tells
// what each attempt got in every case.
func (s *Sender) Send(ctx context.Context, callbackURL string, body []byte) (Delivery, error) {
	u, err := url.Parse(callbackURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Hostname() == "" {
		return Delivery{}, fmt.Errorf("%w: callback URL must be an absolute http or https URL", ErrConfig)
	}
	if s.signer == nil {
		if body, err = withXGatewayHash(s.secret, body); err != nil {
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
			return d, fmt.Errorf("%w: %d attempts, the last failed: %w", ErrNotDelivered, n, a.Err)
		case last:
			return d, fmt.Errorf("%w: %d attempts, the last got %d", ErrNotDelivered, n, a.StatusCode)
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
		a.Err = err
		return a, 0
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	if s.signer != nil {
		a.Signature = s.signer.sign(u.Host, body, s.cfg.now())
		req.Header.Set(SignatureHeader, a.Signature)
		if s.cfg.legacy {
			req.Header.Set(LegacySignatureHeader, a.Signature)
		}
	}
	resp, err := s.client.Do(req)
	if err != nil {
		a.Err = requestError(err)
		return a, 0
	}
	defer resp.Body.Close()
	a.StatusCode = resp.StatusCode
	d.StatusCode, d.Reply = resp.StatusCode, readReply(resp.Body)
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

// withXGatewayHash returns body with its hash field set as XGateway sets it
// for secret. It reads the hashed fields with the verifier's own code.
func withXGatewayHash(secret string, body []byte) ([]byte, error) {
	var w xgatewayWire
	if err := decodeObject(body, &w); err != nil {
		return nil, err
	}
	fields, err := w.hashedFields()
	if err != nil {
		return nil, err
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrMalformedBody, describeJSONError(err))
	}
	obj["hash"], _ = json.Marshal(XGatewayHash(secret, fields...))
	return json.Marshal(obj)
}
