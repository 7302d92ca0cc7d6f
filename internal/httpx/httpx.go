// Package httpx holds the small pieces of HTTP plumbing that kyccb's
// packages that make requests (send, wallet, wallet/sep10, the local anchor
// and the command) share, so that they handle URLs, replies and loopback
// hosts alike.
package httpx

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// RequestError drops the URL net/http puts in its errors: callback URLs
// often carry a secret token in their query.
func RequestError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// ReadReply returns the first max bytes of a reply's body and discards a
// little more, so that the connection can be reused; a hostile server
// cannot fill memory.
func ReadReply(body io.Reader, max int64) []byte {
	b, _ := io.ReadAll(io.LimitReader(body, max))
	io.CopyN(io.Discard, body, 64<<10)
	return b
}

// NoRedirect makes a client return a redirect as the reply.
func NoRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// IsLoopback reports whether host, without a port, is "localhost" or a
// loopback IP address (127.0.0.0/8, ::1). Other names that may resolve to
// loopback do not count: what they resolve to is not ours to decide.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
