package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"

	"github.com/kyccb/kyccb"
	"github.com/kyccb/kyccb/wallet"
	"github.com/kyccb/kyccb/wallet/sep10"
	"github.com/stellar/go-stellar-sdk/keypair"
)

const registerUsage = `
Usage: kyccb register --kyc-server URL --jwt JWT --url CALLBACK [--id ID] [--account A] [--memo M --memo-type T]
       kyccb register --anchor-domain DOMAIN --jwt JWT --url CALLBACK [...]
       kyccb register --anchor-domain DOMAIN --account-seed S... --url CALLBACK [...]

Registers CALLBACK with an anchor as SEP-12 says: PUT {KYC server}/customer/callback
with the wallet's SEP-10 JWT as a Bearer token. With --anchor-domain the KYC
server is the KYC_SERVER (or TRANSFER_SERVER) of the anchor's stellar.toml.
A new registration replaces the customer's previous URL; anchors stop
sending once the status is ACCEPTED or REJECTED, so register again to keep
watching. The callback URL must be https (http only on a loopback host).

The JWT comes from --jwt, or KYCCB_JWT. Instead, --account-seed (or
KYCCB_ACCOUNT_SEED) signs in with SEP-10 first: register reads the
WEB_AUTH_ENDPOINT and SIGNING_KEY of the anchor's stellar.toml, asks for a
challenge for the seed's account, checks the anchor signed it, signs it and
takes the JWT the anchor gives back. A shared account's user is told apart
with --memo, which SEP-10 wants as an ID memo (a decimal number). Give a JWT
or an account seed, not both; neither is printed.

An anchor domain is a host name, served over https (https://HOST is read
as HOST), or for a local anchor such as kyccb anchor's a loopback host:port
(127.0.0.1:8000), whose stellar.toml and every URL in it are plain http.

Then receive with the same host the anchor will sign; register prints
the line. For an http (loopback) URL, listen serves it itself, on its
host:port:
  kyccb listen --anchor-domain DOMAIN --addr 127.0.0.1:8080 --host 127.0.0.1:8080
  kyccb listen --signing-key G... --host <the callback URL's host>

URLs are printed without their query, which may hold a token.

Exit status: 0 registered, 1 refused by the anchor or failed, 2 usage error.

Examples:
  kyccb register --anchor-domain testanchor.stellar.org --jwt "$JWT" --url https://wallet.example.org/kyc --id c-1
  kyccb register --anchor-domain 127.0.0.1:8000 --account-seed "$S" --url http://127.0.0.1:8080/kyc
  kyccb register --kyc-server https://anchor.example.com/kyc --jwt "$JWT" --url https://wallet.example.org/kyc --memo 42 --memo-type id
`

// anchorClient, when set, is the HTTP client for talking to anchors
// (stellar.toml, KYC server); tests set one that trusts their server.
var anchorClient *http.Client

func anchorOptions() []wallet.Option {
	if anchorClient == nil {
		return nil
	}
	return []wallet.Option{wallet.WithHTTPClient(anchorClient)}
}

func runRegister(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("register", registerUsage, stderr)
	kycServer := fs.String("kyc-server", "", "the anchor's KYC server URL (KYC_SERVER of its stellar.toml)")
	domain := fs.String("anchor-domain", "", "the anchor's home domain, to read KYC_SERVER from its stellar.toml")
	jwtFlag := fs.String("jwt", "", "the wallet's SEP-10 JWT, without \"Bearer \" (or KYCCB_JWT)")
	seedFlag := fs.String("account-seed", "", "instead of --jwt: sign in with SEP-10 as the account of this secret seed S... (or KYCCB_ACCOUNT_SEED); needs --anchor-domain")
	callback := fs.String("url", "", "the callback URL to register (required)")
	id := fs.String("id", "", "the anchor's customer id, from PUT /customer")
	account := fs.String("account", "", "the customer's Stellar account (deprecated by SEP-12: the anchor reads it from the JWT)")
	memo := fs.String("memo", "", "the memo that tells customers of a shared account apart")
	memoType := fs.String("memo-type", "", "the memo's type: text, id or hash (deprecated by SEP-12)")
	asJSON := fs.Bool("json", false, "print the outcome as one JSON object")
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	switch {
	case (*kycServer == "") == (*domain == ""):
		return fmt.Errorf("%w: give exactly one of --kyc-server and --anchor-domain", errUsage)
	case *callback == "":
		return fmt.Errorf("%w: --url is required: the callback URL to register", errUsage)
	case *memoType != "" && *memo == "":
		return fmt.Errorf("%w: --memo-type needs --memo", errUsage)
	}
	jwt := secretValue(*jwtFlag, "KYCCB_JWT")
	seed := secretValue(*seedFlag, "KYCCB_ACCOUNT_SEED")
	jwtSource, seedSource := sourceName("--jwt", *jwtFlag, "KYCCB_JWT"), sourceName("--account-seed", *seedFlag, "KYCCB_ACCOUNT_SEED")
	var sep10Opts []sep10.Option
	switch {
	case jwt != "" && seed != "":
		return fmt.Errorf("%w: give a JWT or an account seed, not both: got %s and %s", errUsage, jwtSource, seedSource)
	case jwt == "" && seed == "":
		return fmt.Errorf("%w: --jwt (or KYCCB_JWT) or --account-seed (or KYCCB_ACCOUNT_SEED) is required", errUsage)
	case seed != "":
		if err := checkSeed(seedSource, seed); err != nil {
			return err
		}
		if *domain == "" {
			return fmt.Errorf("%w: %s needs --anchor-domain: its stellar.toml names the SEP-10 server to sign in at", errUsage, seedSource)
		}
		if *memo != "" {
			m, err := strconv.ParseUint(*memo, 10, 64)
			if err != nil || *memoType != "" && *memoType != "id" {
				return fmt.Errorf("%w: with %s, --memo must be an ID memo, a decimal number: SEP-10 tells users of one account apart by ID memo", errUsage, seedSource)
			}
			sep10Opts = append(sep10Opts, sep10.WithMemo(m))
		}
		if anchorClient != nil {
			sep10Opts = append(sep10Opts, sep10.WithHTTPClient(anchorClient))
		}
	}

	out := registerOutcome{URL: displayURL(*callback), KYCServer: displayURL(*kycServer)}
	kycURL := *kycServer
	if *domain != "" {
		toml, err := wallet.StellarTOML(ctx, *domain, anchorOptions()...)
		if err != nil {
			if errors.Is(err, kyccb.ErrConfig) {
				return fmt.Errorf("%w: %w", errUsage, err)
			}
			return fmt.Errorf("finding the KYC server of %s: %w", *domain, err)
		}
		// As wallet.KYCServer does, without reading the file twice.
		server := toml.KYCServer
		if server == "" {
			server = toml.TransferServer
		}
		if server == "" {
			return fmt.Errorf("finding the KYC server of %s: %w of %s: neither KYC_SERVER nor TRANSFER_SERVER", *domain, wallet.ErrTOML, *domain)
		}
		out.KYCServer, kycURL = displayURL(server), server
		if seed != "" {
			// Errors from here on never repeat the seed or the JWT.
			a, err := sep10.FromTOML(*domain, toml)
			if err != nil {
				return fmt.Errorf("signing in to %s with SEP-10: %w", *domain, err)
			}
			if jwt, err = sep10.Authenticate(ctx, a, seed, sep10Opts...); err != nil {
				return fmt.Errorf("signing in to %s with SEP-10: %w", *domain, err)
			}
			kp, _ := keypair.ParseFull(seed) // checked above
			out.Account = kp.Address()
		}
		out.domain = *domain
	}
	reg := wallet.CallbackRegistration{URL: *callback, ID: *id, Account: *account, Memo: *memo, MemoType: *memoType}
	err := wallet.RegisterCallback(ctx, kycURL, jwt, reg, anchorOptions()...)
	var anchorErr *wallet.AnchorError
	switch {
	case err == nil:
		out.Registered = true
	case errors.As(err, &anchorErr):
		out.HTTPStatus, out.AnchorMessage, out.Error = anchorErr.StatusCode, anchorErr.Message, err.Error()
		out.Hint = registerHint(anchorErr.StatusCode)
	case errors.Is(err, kyccb.ErrConfig):
		return fmt.Errorf("%w: %w", errUsage, err)
	default:
		return err
	}
	if *asJSON {
		if err := (&jsonLines{w: stdout}).write(out); err != nil {
			return err
		}
	} else {
		out.writeText(stdout, newStyle(stdout))
	}
	if !out.Registered {
		return errSilent
	}
	return nil
}

// registerOutcome is what register prints.
type registerOutcome struct {
	Registered bool   `json:"registered"`
	URL        string `json:"url"`
	KYCServer  string `json:"kyc_server"`
	// Account is the account signed in with SEP-10 (--account-seed).
	Account       string `json:"account,omitempty"`
	HTTPStatus    int    `json:"http_status,omitempty"`
	AnchorMessage string `json:"anchor_message,omitempty"`
	Error         string `json:"error,omitempty"`
	Hint          string `json:"hint,omitempty"`

	domain string // --anchor-domain, for the next step
}

func registerHint(status int) string {
	switch status {
	case http.StatusUnauthorized, http.StatusForbidden:
		return "the SEP-10 JWT is missing, expired or not this customer's: authenticate again (SEP-10) and retry"
	case http.StatusNotFound:
		return "the anchor knows no such customer: check --id, or the account and memo the JWT names"
	case http.StatusBadRequest:
		return "the anchor refused the request: check the callback URL (https) and the memo type"
	}
	if status >= 300 && status < 400 {
		return "the KYC server URL redirects, and redirects are not followed because the request carries the JWT: use the URL it redirects to"
	}
	return ""
}

func (o *registerOutcome) writeText(w io.Writer, st style) {
	if o.Registered {
		fmt.Fprintf(w, "%s  %s\n", st.bold(st.green("registered")), termSafe(o.URL))
	} else {
		fmt.Fprintf(w, "%s  %s\n", st.bold(st.red("not registered")), termSafe(o.URL))
	}
	fs := []field{{label: "with", value: o.KYCServer + " (PUT /customer/callback)"}}
	if o.Account != "" {
		fs = append(fs, field{label: "as", value: o.Account + " (signed in with SEP-10)"})
	}
	if o.HTTPStatus != 0 {
		fs = append(fs, field{label: "anchor", value: statusText(o.HTTPStatus), paint: statusPaint(st, o.HTTPStatus)})
	}
	if o.AnchorMessage != "" {
		fs = append(fs, field{label: "message", value: o.AnchorMessage})
	}
	if o.Hint != "" {
		fs = append(fs, field{label: "hint", value: o.Hint, paint: st.yellow})
	}
	if o.Registered {
		keys := "--signing-key <the anchor's SIGNING_KEY>"
		if o.domain != "" {
			keys = "--anchor-domain " + shellQuote(o.domain)
		}
		fs = append(fs, field{label: "next", value: "kyccb listen " + keys + listenTarget(o.URL)})
	}
	writeFields(w, st, "  ", fs)
}

// sourceName names where a secret came from: the flag when it was given,
// else the environment variable (secretValue's order).
func sourceName(flagName, flagValue, env string) string {
	if flagValue != "" {
		return flagName
	}
	return env
}

// listenTarget returns the --host (and --addr) flags of the listen line
// that receives at callback. An http URL is on a loopback host (register
// refuses others), where listen itself can serve it: --addr is its host and
// port, else listen would bind its default 127.0.0.1:8080 and the anchor's
// deliveries would be refused. An https URL needs a proxy that ends TLS in
// front of listen, whose address register cannot know.
func listenTarget(callback string) string {
	host := hostOf(callback)
	u, err := url.Parse(callback)
	if err != nil || u.Scheme != "http" {
		return " --host " + shellQuote(host)
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "80")
	}
	return " --addr " + shellQuote(addr) + " --host " + shellQuote(host)
}
