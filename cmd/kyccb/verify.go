package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/kyccb/kyccb"
	"github.com/kyccb/kyccb/internal/wire"
)

const verifyUsage = `
Usage: kyccb verify --mode sep12 --signing-key G... --host HOST --header 'Signature: ...' --body-file F [--at UNIX]
       kyccb verify --mode sep12 --signing-key G... --host HOST --request-file F [--at UNIX]
       kyccb verify --mode xgateway --secret S --body-file F

Checks a captured callback offline (a SEP-12 customer callback, a SEP-6,
SEP-24 or SEP-31 transaction callback, or XGateway's), with the library's
own verifier, and explains the verdict: for a rejection it finds what the
sender did instead (signed another host or port, used another key,
another clock, or signed the body before something re-serialized it).

--request-file reads a raw HTTP request as it came over the wire (request
line, headers, blank line, body), such as a proxy's or nc's dump; --header
and --body-file override its parts. --at checks as of a unix time, for
captures older than the tolerance. The secret may come from KYCCB_SECRET.

Exit status: 0 valid, 1 rejected, 2 usage error (an unreadable --body-file
or --request-file, or a --request-file that is no HTTP request, too).

Examples:
  kyccb verify --signing-key GCHL... --host wallet.example.org \
      --header 'Signature: t=1700000000, s=ail3...' --body-file body.json --at 1700000000
  kyccb verify --signing-key GCHL... --host wallet.example.org --request-file capture.http
  kyccb verify --mode xgateway --secret "$SECRET" --body-file callback.json
`

func runVerify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("verify", verifyUsage, stderr)
	mode := fs.String("mode", "sep12", "sep12 or xgateway")
	var keys listFlag
	fs.Var(&keys, "signing-key", "SEP-12: the anchor's SIGNING_KEY G... (repeat or comma-separate for several)")
	host := fs.String("host", "", "SEP-12: the host of the callback URL you registered, or the URL (default: the request file's Host, with a warning)")
	var headers repeatedFlag
	fs.Var(&headers, "header", `a request header "Name: value" (repeatable); a bare "t=..., s=..." is the Signature header`)
	bodyFile := fs.String("body-file", "", `the raw request body, or "-" for standard input`)
	requestFile := fs.String("request-file", "", `a raw HTTP request dump, or "-" for standard input`)
	at := fs.Int64("at", 0, "SEP-12: check as of this unix time instead of now")
	tolerance := fs.Duration("tolerance", kyccb.DefaultTolerance, "SEP-12: how far the signing time may be from the clock")
	secretFlag := fs.String("secret", "", "XGateway: the merchant secret key (or KYCCB_SECRET)")
	asJSON := fs.Bool("json", false, "print the verdict as one JSON object")
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	if err := checkMode(*mode); err != nil {
		return err
	}
	if *bodyFile == "-" && *requestFile == "-" {
		return fmt.Errorf("%w: only one of --body-file and --request-file can be standard input", errUsage)
	}
	if *bodyFile == "" && *requestFile == "" {
		return fmt.Errorf("%w: give the callback with --body-file (and --header) or --request-file", errUsage)
	}

	c := capture{header: http.Header{}}
	var notes []string
	if *requestFile != "" {
		var err error
		if c, notes, err = readRequestFile("--request-file", *requestFile); err != nil {
			return err
		}
	}
	for _, h := range headers {
		name, value, ok := strings.Cut(h, ":")
		if !ok {
			if !strings.Contains(h, "t=") {
				return fmt.Errorf("%w: --header %q is not \"Name: value\"", errUsage, h)
			}
			name, value = kyccb.SignatureHeader, h
		}
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if strings.EqualFold(name, "Host") {
			c.host = value // only to explain a failure: never what is checked
			continue
		}
		c.header.Del(name) // a flag replaces what the dump says
		c.header.Add(name, value)
	}
	if *bodyFile != "" {
		b, err := readInput("--body-file", *bodyFile, stdin)
		if err != nil {
			return err
		}
		c.body = b
	}
	now := time.Now()
	if *at != 0 {
		now = time.Unix(*at, 0)
	}

	var rep *report
	switch *mode {
	case "sep12":
		if len(keys) == 0 {
			return fmt.Errorf("%w: --signing-key is required in sep12 mode", errUsage)
		}
		trusted, err := parseSigningKeys(keys)
		if err != nil {
			return err
		}
		if *host == "" {
			if c.host == "" {
				return fmt.Errorf("%w: --host is required: the host of the callback URL you registered", errUsage)
			}
			*host = c.host
			notes = append(notes, fmt.Sprintf("no --host: checked against the request's Host header %q; the signed host is the registered callback URL's, which a proxy may have rewritten", c.host))
		}
		if rep, err = verifySEP12(ctx, trusted, *host, *tolerance, now, c, *at != 0); err != nil {
			return fmt.Errorf("%w: %w", errUsage, err)
		}
	case "xgateway":
		secret := secretValue(*secretFlag, "KYCCB_SECRET")
		if secret == "" {
			return fmt.Errorf("%w: --secret (or KYCCB_SECRET) is required in xgateway mode", errUsage)
		}
		v, err := kyccb.NewXGatewayVerifier(secret)
		if err != nil {
			return fmt.Errorf("%w: %w", errUsage, err)
		}
		cb, verr := v.Verify(c.body)
		rep = reportFor("xgateway", verr, now)
		if verr == nil {
			rep.addXGateway(&cb, c.body)
		} else {
			rep.addXGateway(nil, c.body)
			rep.Diagnosis = diagnoseXGateway(secret, http.MethodPost, c.body, verr)
		}
	}
	rep.Notes = append(notes, rep.Notes...)
	if *asJSON {
		if err := (&jsonLines{w: stdout}).write(rep); err != nil {
			return err
		}
	} else {
		rep.writeText(stdout, newStyle(stdout), "")
	}
	if !rep.accepted() {
		return errSilent
	}
	return nil
}

// verifySEP12 checks a captured SEP-12 callback as the library's handler
// would at time now, and explains a rejection.
func verifySEP12(ctx context.Context, keys kyccb.StaticKeys, host string, tolerance time.Duration, now time.Time, c capture, atGiven bool) (*report, error) {
	v, err := kyccb.NewSEP12Verifier(keys, host, kyccb.WithTolerance(tolerance),
		// A hook makes the verifier explain its errors; the error is read
		// from Verify's result.
		kyccb.WithErrorHook(func(*http.Request, error) {}))
	if err != nil {
		return nil, err
	}
	checked, err := wire.CallbackHost(host)
	if err != nil {
		return nil, err
	}
	_, verr := v.Verify(ctx, wire.SignatureValue(c.header), c.body, now)
	if verr == nil {
		// Verify checked it is a JSON object; the handlers also decode it.
		_, verr = decodeSEP12Callback(c.body)
	}
	rep := reportFor("sep12", verr, now)
	rep.addSignature(c.header, now)
	rep.addSEP12(c.body)
	rep.Host = checked
	head := []field{{label: "checked", value: fmt.Sprintf("host %q, %s", checked, keyCount(keys))}}
	if verr == nil {
		signed, what := signedHost(keys, checked, c.header, c.body)
		rep.SignedHost = signed
		head = append(head, field{label: "signed for", value: fmt.Sprintf("host %q (%s)", signed, what)})
	}
	rep.details = append(head, rep.details...)
	if verr != nil {
		rep.Diagnosis = diagnoseSEP12(sep12Evidence{
			keys: keys, host: checked, tolerance: tolerance, now: now, method: http.MethodPost,
			header: c.header, body: c.body, requestHost: c.host, capture: !atGiven,
		}, verr)
	}
	return rep, nil
}

// signedHost returns the host the signature of an accepted callback
// covers, and what it is: the configured host, or the configured host
// without its port, which the library accepts as well since some senders
// (the Kotlin wallet SDK) sign that.
func signedHost(keys []ed25519.PublicKey, host string, header http.Header, body []byte) (string, string) {
	const configured = "the configured host"
	bare := wire.BareHost(host)
	if bare == "" {
		return host, configured
	}
	t, s, err := wire.SplitSignature(wire.SignatureValue(header))
	if err != nil {
		return host, configured
	}
	sig, err := wire.DecodeSignature(s)
	if err != nil {
		return host, configured
	}
	verifies := func(h string) bool {
		msg := wire.SignedMessage(nil, t, h, body)
		return slices.ContainsFunc(keys, func(k ed25519.PublicKey) bool { return ed25519.Verify(k, msg, sig) })
	}
	if !verifies(host) && verifies(bare) {
		return bare, "the configured host without its port, which kyccb accepts too: some senders, such as the Kotlin wallet SDK, sign it"
	}
	return host, configured
}

func keyCount(keys []ed25519.PublicKey) string {
	if len(keys) == 1 {
		return "key " + keyName(keys[0])
	}
	return fmt.Sprintf("%d keys", len(keys))
}

// capture is a request as it was captured.
type capture struct {
	header http.Header
	body   []byte
	host   string // the Host header, "" when unknown
}

// readRequestFile parses a raw HTTP/1.x request dump. It is lenient where
// hand-made dumps differ from the wire: without a Content-Length the rest
// of the file is the body, and a body cut short is used as it is; notes
// say so.
func readRequestFile(flag, name string) (capture, []string, error) {
	data, err := readInput(flag, name, stdin)
	if err != nil {
		return capture{}, nil, err
	}
	br := bufio.NewReader(bytes.NewReader(data))
	req, err := http.ReadRequest(br)
	if err != nil {
		return capture{}, nil, fmt.Errorf("%w: %s: %s is not a raw HTTP request (request line, headers, blank line, body): %w", errUsage, flag, name, err)
	}
	var notes []string
	body, err := io.ReadAll(req.Body)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		notes = append(notes, fmt.Sprintf("the body is %s, fewer than its Content-Length %d: the dump was cut short or edited", plural(len(body), "byte"), req.ContentLength))
	} else if err != nil {
		return capture{}, nil, fmt.Errorf("%w: %s: reading the body of %s: %w", errUsage, flag, name, err)
	}
	rest, _ := io.ReadAll(br)
	switch {
	case len(rest) == 0:
	case req.Header.Get("Content-Length") == "" && len(req.TransferEncoding) == 0:
		body = rest
		notes = append(notes, fmt.Sprintf("the dump has no Content-Length: the %s after the headers were taken as the body", plural(len(rest), "byte")))
	case len(bytes.TrimSpace(rest)) == 0:
		// An editor's final newline after the body: not part of it.
	default:
		notes = append(notes, fmt.Sprintf("the dump goes on for %s after the body's Content-Length of %d: left out", plural(len(rest), "byte"), len(body)))
	}
	return capture{header: req.Header, body: body, host: req.Host}, notes, nil
}
