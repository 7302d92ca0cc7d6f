package wallet

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/kyccb/kyccb"
	"github.com/kyccb/kyccb/internal/httpx"
)

// maxReplyBytes is how much of an anchor's reply is read: enough for an
// error message, not enough for a hostile server to fill memory.
const maxReplyBytes = 4 << 10

// request makes one request to the anchor at u with jwt as a Bearer token
// and body, if not nil, as JSON. It follows no redirect (the request
// carries the JWT) and returns the reply's status and at most limit+1
// bytes of its body, so that a caller can tell a body longer than limit;
// the configured timeout covers the reply. An error with a status other
// than 0 means that the reply came but its body could not be read in
// full. Its errors name neither u nor jwt.
func (c *config) request(ctx context.Context, method string, u *url.URL, jwt string, body []byte, limit int64) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), r)
	if err != nil {
		return 0, nil, httpx.RequestError(err)
	}
	req.Header.Set("Authorization", "Bearer "+jwt)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.httpClient(httpx.NoRedirect).Do(req)
	if err != nil {
		return 0, nil, httpx.RequestError(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return resp.StatusCode, b, fmt.Errorf("reading the reply: %w", err)
	}
	io.CopyN(io.Discard, resp.Body, 64<<10) // so that the connection can be reused
	return resp.StatusCode, b, nil
}

// checkJWT checks that jwt can be sent as a Bearer token. The error never
// repeats it.
func checkJWT(jwt string) error {
	switch {
	case jwt == "":
		return fmt.Errorf("%w: empty JWT", kyccb.ErrConfig)
	case strings.HasPrefix(strings.ToLower(jwt), "bearer "):
		return fmt.Errorf("%w: pass the JWT without \"Bearer \"", kyccb.ErrConfig)
	case strings.ContainsAny(jwt, " \t\r\n"):
		return fmt.Errorf("%w: JWT contains white space", kyccb.ErrConfig)
	}
	return nil
}

// checkMemoType checks a SEP-12 memo_type: empty, text, id or hash.
func checkMemoType(t string) error {
	switch t {
	case "", "text", "id", "hash":
		return nil
	}
	return fmt.Errorf("%w: memo type must be text, id or hash", kyccb.ErrConfig)
}
