package wallet

import (
	"context"
	"errors"
	"fmt"
	"github.com/kyccb/kyccb/internal/httpx"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/kyccb/kyccb"
	"github.com/kyccb/kyccb/internal/wire"
)

// maxTOMLBytes is the largest stellar.toml read: SEP-1 caps the file at
// 100 KiB, and a larger one is refused rather than cut.
const maxTOMLBytes = 100 << 10

// TOML is what a wallet reads from an anchor's stellar.toml ([SEP-1]):
// the fields that kyccb's callbacks and a SEP-10 client need. A field the
// file lacks is "". Fields that are present have been checked, as
// [StellarTOML] describes.
//
// [SEP-1]: https://github.com/stellar/stellar-protocol/blob/master/ecosystem/sep-0001.md
type TOML struct {
	// SigningKey is SIGNING_KEY: the "G..." public key the anchor signs
	// its callbacks and its SEP-10 challenges with. It is a valid Stellar
	// public key, and not one of the small-order keys under which
	// signatures made without any secret verify.
	SigningKey string
	// KYCServer is KYC_SERVER: the base URL of the anchor's SEP-12 server.
	KYCServer string
	// TransferServer is TRANSFER_SERVER: the base URL of the anchor's
	// SEP-6 server, which SEP-12 says to use when KYC_SERVER is absent.
	TransferServer string
	// WebAuthEndpoint is WEB_AUTH_ENDPOINT: the URL of the anchor's SEP-10
	// server, which issues the JWT that [RegisterCallback] sends.
	WebAuthEndpoint string
	// NetworkPassphrase is NETWORK_PASSPHRASE: the Stellar network the
	// anchor works on, such as "Public Global Stellar Network ; September
	// 2015". SEP-10 challenges are signed for it.
	NetworkPassphrase string
}

// tomlFile is the part of a stellar.toml read, as written.
type tomlFile struct {
	SigningKey        string `toml:"SIGNING_KEY"`
	KYCServer         string `toml:"KYC_SERVER"`
	TransferServer    string `toml:"TRANSFER_SERVER"`
	WebAuthEndpoint   string `toml:"WEB_AUTH_ENDPOINT"`
	NetworkPassphrase string `toml:"NETWORK_PASSPHRASE"`
}

// StellarTOML fetches and reads the stellar.toml of the anchor at domain:
// https://{domain}/.well-known/stellar.toml, where domain is a host name
// such as "anchor.example.com", or http://{domain}/.well-known/stellar.toml
// for a local anchor at a loopback host:port (see "Local anchors" in the
// package doc). A domain pasted as a URL, "https://anchor.example.com" with
// no path, is read as its host; any other URL is refused.
//
// It refuses, with an error matching [ErrTOML] that names the field, a
// stellar.toml larger than SEP-1's 100 KiB, one that is not TOML, and one
// whose fields read here are unusable: a SIGNING_KEY that is not a Stellar
// public key or is of small order; a KYC_SERVER, TRANSFER_SERVER or
// WEB_AUTH_ENDPOINT that is not an absolute https URL. Plain http URLs on a
// loopback host are accepted only in a stellar.toml itself fetched from a
// loopback host: a public anchor's file cannot send the wallet's JWT to
// whatever listens on the wallet's own loopback interface, nor in clear
// over the network.
//
// An unusable domain or option is an error matching [kyccb.ErrConfig]. The
// options that apply are [WithHTTPClient] and [WithRequestTimeout].
func StellarTOML(ctx context.Context, domain string, opts ...Option) (TOML, error) {
	cfg, err := newConfig(false, opts)
	if err != nil {
		return TOML{}, err
	}
	h, err := parseDomain(domain)
	if err != nil {
		return TOML{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	f, fromLoopback, err := fetchTOML(ctx, &cfg, h)
	if err != nil {
		return TOML{}, err
	}
	if f.SigningKey != "" {
		if _, err := wire.ParsePublicKey(f.SigningKey); err != nil {
			return TOML{}, h.errorf("SIGNING_KEY: %w", err)
		}
	}
	for _, u := range []struct{ name, value string }{
		{"KYC_SERVER", f.KYCServer},
		{"TRANSFER_SERVER", f.TransferServer},
		{"WEB_AUTH_ENDPOINT", f.WebAuthEndpoint},
	} {
		if u.value == "" {
			continue
		}
		if err := checkTOMLURL(u.value, fromLoopback); err != nil {
			return TOML{}, h.errorf("%s %w", u.name, err)
		}
	}
	return TOML(f), nil
}

// checkTOMLURL checks a URL taken from a stellar.toml: https, or plain http
// on a loopback host when the file came from a loopback host.
func checkTOMLURL(raw string, fromLoopback bool) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil || !u.IsAbs() || u.Hostname() == "":
		return errors.New("is not an absolute URL")
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && httpx.IsLoopback(u.Hostname()) && fromLoopback:
		return nil
	case u.Scheme == "http" && httpx.IsLoopback(u.Hostname()):
		return errors.New("must be https: plain http on a loopback host is accepted only from a stellar.toml itself served on a loopback host")
	default:
		return errors.New("must be https")
	}
}

// home is where an anchor's stellar.toml is.
type home struct {
	domain   string // as given, for errors
	url      string
	loopback bool // a local anchor, fetched over plain http
}

// errorf returns an error matching ErrTOML about h's stellar.toml.
func (h home) errorf(format string, args ...any) error {
	return fmt.Errorf("%w of %s: %w", ErrTOML, h.domain, fmt.Errorf(format, args...))
}

// parseDomain accepts a DNS host name, served over https, or a loopback
// host with a port, served over plain http. An IP address without a port,
// a scheme or a path is refused: go-stellar-sdk's stellartoml client
// refused them too, and a home domain is none of those. The one URL
// accepted is the domain pasted with https:// in front (and at most a
// "/" after it), which can mean nothing else; others are told to drop
// the scheme.
func parseDomain(domain string) (home, error) {
	if strings.Contains(domain, "://") {
		u, err := url.Parse(domain)
		if err != nil || u.Scheme != "https" || u.Port() != "" || u.User != nil || u.Opaque != "" ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || checkHostName(u.Host) != nil {
			return home{}, fmt.Errorf("%w: an anchor domain is a host name such as anchor.example.com, not a URL: drop the scheme (and any path); a local anchor's is its loopback host:port, such as 127.0.0.1:8000", kyccb.ErrConfig)
		}
		domain = u.Host
	}
	if host, port, err := net.SplitHostPort(domain); err == nil {
		if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 || !httpx.IsLoopback(host) {
			return home{}, fmt.Errorf("%w: an anchor domain with a port must be a loopback host (127.0.0.1, [::1] or localhost) and a port", kyccb.ErrConfig)
		}
		return home{domain: domain, url: "http://" + domain + "/.well-known/stellar.toml", loopback: true}, nil
	}
	if err := checkHostName(domain); err != nil {
		return home{}, err
	}
	return home{domain: domain, url: "https://" + domain + "/.well-known/stellar.toml"}, nil
}

// checkHostName accepts a DNS host name: no scheme, port, path or IP
// address.
func checkHostName(domain string) error {
	bad := func() error {
		return fmt.Errorf("%w: anchor domain must be a host name such as anchor.example.com, without scheme, port or path, or a loopback host:port", kyccb.ErrConfig)
	}
	if domain == "" || len(domain) > 253 || net.ParseIP(domain) != nil {
		return bad()
	}
	for label := range strings.SplitSeq(domain, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return bad()
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return bad()
			}
		}
	}
	return nil
}

// fetchTOML fetches and decodes h's stellar.toml, and reports whether it
// came from a loopback host (after redirects).
func fetchTOML(ctx context.Context, cfg *config, h home) (tomlFile, bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.url, nil)
	if err != nil {
		return tomlFile{}, false, h.errorf("%w", err)
	}
	resp, err := cfg.httpClient(tomlRedirects(h.loopback)).Do(req)
	if err != nil {
		return tomlFile{}, false, h.errorf("%w", httpx.RequestError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return tomlFile{}, false, h.errorf("the server replied %d", resp.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxTOMLBytes+1))
	if err != nil {
		return tomlFile{}, false, h.errorf("%w", httpx.RequestError(err))
	}
	if len(b) > maxTOMLBytes {
		return tomlFile{}, false, h.errorf("larger than 100 KiB, the most SEP-1 allows")
	}
	var f tomlFile
	if _, err := toml.Decode(string(b), &f); err != nil {
		// Not err's text: it quotes the file.
		var pe toml.ParseError
		if errors.As(err, &pe) && pe.Position.Line > 0 {
			return tomlFile{}, false, h.errorf("not valid TOML, or a field read here is not a string (line %d)", pe.Position.Line)
		}
		return tomlFile{}, false, h.errorf("not valid TOML, or a field read here is not a string")
	}
	return f, httpx.IsLoopback(resp.Request.URL.Hostname()), nil
}

// tomlRedirects returns the redirect policy of stellar.toml fetches: up to
// 10 redirects, all to https (a downgraded fetch would let anyone on the
// path choose the signing key), or for a local anchor to plain http on a
// loopback host too.
func tomlRedirects(loopback bool) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		ok := req.URL.Scheme == "https" || loopback && req.URL.Scheme == "http" && httpx.IsLoopback(req.URL.Hostname())
		if !ok {
			return errors.New("redirected to a URL that is not https")
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
}
