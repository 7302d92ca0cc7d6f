package kyccb

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultRequestTimeout is how long one HTTP request kyccb makes (a
// delivery attempt, a registration, a stellar.toml fetch) may take, reply
// included, unless [WithRequestTimeout] says otherwise.
const DefaultRequestTimeout = 10 * time.Second

// maxReplyBytes is how much of a reply kyccb reads: enough for an error
// message, not enough for a hostile server to fill memory.
const maxReplyBytes = 4 << 10

// WithHTTPClient sets the client that senders, the stellar.toml key source
// and registration make their requests with, for its transport, proxy or
// TLS settings. The client is copied, not modified: its redirect policy is
// replaced (senders and registration follow no redirect; stellar.toml
// fetches follow only redirects to https) and [WithRequestTimeout] bounds
// each request. The default is a zero [http.Client], which uses
// [http.DefaultTransport].
func WithHTTPClient(c *http.Client) Option {
	return func(cfg *config) {
		cfg.onlyFor("WithHTTPClient", modeClients)
		if c == nil {
			cfg.fail("WithHTTPClient: nil client")
			return
		}
		cfg.client = c
	}
}

// WithRequestTimeout sets how long one HTTP request made by a sender, the
// stellar.toml key source or registration may take, reading the reply
// included. The default is [DefaultRequestTimeout]. It must be positive.
func WithRequestTimeout(d time.Duration) Option {
	return func(c *config) {
		c.onlyFor("WithRequestTimeout", modeClients)
		if d <= 0 {
			c.fail("WithRequestTimeout: timeout must be positive")
			return
		}
		c.timeout = d
	}
}

// httpClient returns a copy of the configured client with the given
// redirect policy.
func (c *config) httpClient(checkRedirect func(*http.Request, []*http.Request) error) *http.Client {
	var hc http.Client
	if c.client != nil {
		hc = *c.client
	}
	hc.CheckRedirect = checkRedirect
	return &hc
}

// noRedirect makes a client return a redirect as the reply. A sender counts
// it as delivered, as the Anchor Platform does; following it would re-send
// the body signed for another host. Registration does not follow one either:
// the request carries the wallet's JWT.
func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// httpsRedirectsOnly follows up to 10 redirects, none of them to plain http:
// a downgraded stellar.toml fetch would let anyone on the path choose the
// signing key.
func httpsRedirectsOnly(req *http.Request, via []*http.Request) error {
	if req.URL.Scheme != "https" {
		return errors.New("redirected to a URL that is not https")
	}
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	return nil
}

// requestError drops the URL net/http puts in its errors: callback URLs
// often carry a secret token in their query.
func requestError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// readReply returns the first maxReplyBytes of a reply's body and discards
// a little more, so that the connection can be reused.
func readReply(body io.Reader) []byte {
	b, _ := io.ReadAll(io.LimitReader(body, maxReplyBytes))
	io.CopyN(io.Discard, body, 64<<10)
	return b
}

// checkURL parses raw, which must be an absolute https URL, or http on a
// loopback host (127.0.0.0/8, ::1, localhost) for tests and local tools.
// what names the URL in errors; the URL itself is never repeated, since
// callback URLs often carry a secret token.
func checkURL(what, raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Hostname() == "" {
		return nil, fmt.Errorf("%w: %s is not an absolute URL", ErrConfig, what)
	}
	switch u.Scheme {
	case "https":
		return u, nil
	case "http":
		if isLoopback(u.Hostname()) {
			return u, nil
		}
		return nil, fmt.Errorf("%w: %s must be https (plain http only on a loopback host)", ErrConfig, what)
	default:
		return nil, fmt.Errorf("%w: %s must be https", ErrConfig, what)
	}
}

// isLoopback reports whether host, without a port, is "localhost" or a
// loopback IP address. Other names that may resolve to loopback do not
// count: what they resolve to is not ours to decide.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
