package send

import (
	"errors"
	"io"
	"net/http"
	"net/url"
)

// maxReplyBytes is how much of a reply a sender keeps: enough for an error
// message, not enough for a hostile receiver to fill memory.
const maxReplyBytes = 4 << 10

// noRedirect makes the client return a redirect as the reply. A sender
// counts it as delivered, as the Anchor Platform does; following it would
// send the body, signed for one host, to another.
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
