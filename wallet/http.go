package wallet

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// maxReplyBytes is how much of an anchor's reply is read: enough for an
// error message, not enough for a hostile server to fill memory.
const maxReplyBytes = 4 << 10

// noRedirect makes the client return a redirect as the reply.
// Registration follows none: the request carries the wallet's JWT.
func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

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

// isLoopback reports whether host, without a port, is "localhost" or a
// loopback IP address (127.0.0.0/8, ::1). Other names that may resolve to
// loopback do not count: what they resolve to is not ours to decide.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
