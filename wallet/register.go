package wallet

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/kyccb/kyccb/internal/httpx"
	"net/http"
	"net/url"
	"strings"

	"github.com/kyccb/kyccb"
)

// CallbackRegistration is what a wallet tells an anchor when it registers
// its callback URL: the body of SEP-12's PUT /customer/callback. A new
// registration replaces the customer's previous URL. Anchors stop sending
// once the status is ACCEPTED or REJECTED; to keep watching, register again.
type CallbackRegistration struct {
	// URL receives the callbacks. It must be https, or http on a loopback
	// host for tests. The anchor signs for its host (host:port when it has
	// a port): configure the verifier with the same URL.
	URL string `json:"url"`
	// ID is the anchor's customer id, from an earlier PUT /customer.
	ID string `json:"id,omitempty"`
	// Account is the customer's Stellar account. Deprecated by SEP-12: the
	// anchor takes it from the JWT.
	Account string `json:"account,omitempty"`
	// Memo tells customers apart who share an account.
	Memo string `json:"memo,omitempty"`
	// MemoType is Memo's type: "text", "id" or "hash". Deprecated by SEP-12.
	MemoType string `json:"memo_type,omitempty"`
}

// KYCServer returns the URL of the SEP-12 server of the anchor at domain:
// the KYC_SERVER of its stellar.toml, or TRANSFER_SERVER when it has none,
// as SEP-12 says. It reads the stellar.toml with [StellarTOML], so the URL
// is https, or plain http on a loopback host only when the stellar.toml
// itself came from one: a public anchor cannot point the wallet's JWT at
// the wallet's own loopback interface. Neither field present is an error
// matching [ErrTOML]. The options that apply are [WithHTTPClient] and
// [WithRequestTimeout].
func KYCServer(ctx context.Context, domain string, opts ...Option) (string, error) {
	t, err := StellarTOML(ctx, domain, opts...)
	if err != nil {
		return "", err
	}
	switch {
	case t.KYCServer != "":
		return t.KYCServer, nil
	case t.TransferServer != "":
		return t.TransferServer, nil
	default:
		return "", fmt.Errorf("%w of %s: neither KYC_SERVER nor TRANSFER_SERVER", ErrTOML, domain)
	}
}

// RegisterCallback registers reg with the anchor whose KYC server is
// kycServer (see [KYCServer]): it sends PUT {kycServer}/customer/callback
// with jwt, the wallet's SEP-10 token, as a Bearer token and reg as JSON.
//
// Before any request it checks that kycServer and reg.URL are https URLs
// (plain http only on a loopback host: kycServer is the caller's choice
// here, unlike in a stellar.toml), that jwt is one token (without "Bearer
// ") and that reg.MemoType is empty, text, id or hash; an error matches
// [kyccb.ErrConfig] and never repeats the JWT or a URL.
//
// A 2xx reply returns nil. Any other reply, redirects included (they are
// not followed: the request carries the JWT), returns an [*AnchorError]
// with the status and the anchor's message. The options that apply are
// [WithHTTPClient] and [WithRequestTimeout]. It is safe for concurrent use.
func RegisterCallback(ctx context.Context, kycServer, jwt string, reg CallbackRegistration, opts ...Option) error {
	cfg, err := newConfig(false, opts)
	if err != nil {
		return err
	}
	server, err := checkURL("KYC server URL", kycServer)
	if err != nil {
		return err
	}
	if _, err := checkURL("callback URL", reg.URL); err != nil {
		return err
	}
	if err := checkJWT(jwt); err != nil {
		return err
	}
	if err := checkMemoType(reg.MemoType); err != nil {
		return err
	}
	body, err := json.Marshal(reg)
	if err != nil {
		return err // cannot happen: strings only
	}

	status, reply, err := cfg.request(ctx, http.MethodPut, server.JoinPath("customer", "callback"), jwt, body, maxReplyBytes)
	if err != nil && status == 0 {
		return fmt.Errorf("kyccb: registering the callback: %w", err)
	}
	// A reply that came is the anchor's answer, even if its body (only an
	// error message) could not be read.
	if status >= 200 && status < 300 {
		return nil
	}
	return &AnchorError{StatusCode: status, Message: anchorMessage(reply)}
}

// anchorMessage returns the "error" of a SEP error reply, {"error": "..."},
// or "" when reply is not one.
func anchorMessage(reply []byte) string {
	var r struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(reply, &r) != nil {
		return ""
	}
	msg := strings.ToValidUTF8(r.Error, "\uFFFD")
	if len(msg) > 256 {
		msg = strings.ToValidUTF8(msg[:256], "")
	}
	return msg
}

// checkURL parses raw, which must be an absolute https URL, or http on a
// loopback host (127.0.0.0/8, ::1, localhost) for tests and local tools.
// what names the URL in errors; the URL itself is never repeated, since
// callback URLs often carry a secret token.
func checkURL(what, raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Hostname() == "" {
		return nil, fmt.Errorf("%w: %s is not an absolute URL", kyccb.ErrConfig, what)
	}
	switch u.Scheme {
	case "https":
		return u, nil
	case "http":
		if httpx.IsLoopback(u.Hostname()) {
			return u, nil
		}
		return nil, fmt.Errorf("%w: %s must be https (plain http only on a loopback host)", kyccb.ErrConfig, what)
	default:
		return nil, fmt.Errorf("%w: %s must be https", kyccb.ErrConfig, what)
	}
}
