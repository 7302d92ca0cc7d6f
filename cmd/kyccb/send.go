package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kyccb/kyccb"
	"github.com/kyccb/kyccb/send"
	"github.com/stellar/go-stellar-sdk/keypair"
)

const sendUsage = `
Usage: kyccb send --mode sep12 --seed S... --url URL [--file F | -] [--status S]
       kyccb send --mode xgateway --secret S --url URL [--file F | -] [--status S]

Sends one callback to URL as the sender does and prints the reply. SEP-12: an
anchor's signed POST (Signature header over t.host.body, the host taken from
URL as the Anchor Platform takes it, compact JSON, retries on 5xx, 429 and
network errors). XGateway: a POST whose hash field is set for the secret.

The body is the file F, standard input for "-", or else a built-in sample
for --status (and, for XGateway, --type). The seed and secret may come from
KYCCB_SEED and KYCCB_SECRET instead of the command line.

The URL is printed without its query, which may hold a token.

Exit status: 0 delivered (2xx or 3xx reply), 1 not delivered, 2 usage error
(an unreadable body file, or an XGateway body that is no JSON object, too).

Examples:
  kyccb send --mode sep12 --seed "$SEED" --url http://127.0.0.1:8080/kyc --status NEEDS_INFO
  kyccb send --mode sep12 --seed "$SEED" --url https://wallet.example.org/kyc --file customer.json
  kyccb send --mode sep12 --seed "$SEED" --url https://wallet.example.org/kyc --connect 127.0.0.1:8080 -
  kyccb send --mode xgateway --secret "$SECRET" --url http://127.0.0.1:8080/ --status SOFT_KYC_FAILED
`

func runSend(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("send", sendUsage, stderr)
	mode := fs.String("mode", "sep12", "sep12 (act as an anchor) or xgateway")
	seedFlag := fs.String("seed", "", "SEP-12: the anchor's secret seed S... that signs (or KYCCB_SEED)")
	secretFlag := fs.String("secret", "", "XGateway: the merchant secret key (or KYCCB_SECRET)")
	target := fs.String("url", "", "the callback URL, as registered (required)")
	file := fs.String("file", "", `the body: a JSON file, or "-" for standard input (default: a sample for --status)`)
	status := fs.String("status", "", "the status of the built-in sample (default ACCEPTED; XGateway: FULL_USER)")
	id := fs.String("id", "", "the customer id of the built-in sample (default: a fresh one)")
	typ := fs.String("type", "kyc", "XGateway: the callbackType of the built-in sample: kyc, transaction or bank_account")
	attempts := fs.Int("attempts", 0, "how many times to try, the first included (default: the sender's, as the real senders retry)")
	legacy := fs.Bool("legacy-header", false, "SEP-12: send X-Stellar-Signature as well as Signature")
	at := fs.Int64("at", 0, "SEP-12: sign as of this unix time instead of now, to try a receiver's clock check")
	connect := fs.String("connect", "", "connect to this host:port instead of the URL's, in plain HTTP, still signing for the URL's host (like curl --connect-to)")
	asJSON := fs.Bool("json", false, "print the outcome as one JSON object")
	if err := parseFlags(fs, args, 1); err != nil {
		return err
	}
	if err := checkMode(*mode); err != nil {
		return err
	}
	if *target == "" {
		return fmt.Errorf("%w: --url is required", errUsage)
	}
	bodySource := "--file"
	if fs.NArg() == 1 {
		if *file != "" {
			return fmt.Errorf("%w: give the body with --file or as an argument, not both", errUsage)
		}
		*file, bodySource = fs.Arg(0), "the body argument"
	}
	if *file != "" && (*status != "" || *id != "") {
		return fmt.Errorf("%w: --status and --id describe the built-in sample; the body comes from %s", errUsage, *file)
	}
	cfg := sendConfig{mode: *mode, attempts: *attempts, legacy: *legacy}
	switch *mode {
	case "sep12":
		if cfg.seed = secretValue(*seedFlag, "KYCCB_SEED"); cfg.seed == "" {
			return fmt.Errorf("%w: --seed (or KYCCB_SEED) is required in sep12 mode", errUsage)
		}
		source := "--seed"
		if *seedFlag == "" {
			source = "KYCCB_SEED"
		}
		if err := checkSeed(source, cfg.seed); err != nil {
			return err
		}
	case "xgateway":
		if cfg.secret = secretValue(*secretFlag, "KYCCB_SECRET"); cfg.secret == "" {
			return fmt.Errorf("%w: --secret (or KYCCB_SECRET) is required in xgateway mode", errUsage)
		}
	}
	if *at != 0 {
		signAt := time.Unix(*at, 0)
		start := time.Now()
		cfg.now = func() time.Time { return signAt.Add(time.Since(start)) }
	}
	if *connect != "" {
		cfg.client = connectClient(*connect)
	}

	var body []byte
	var err error
	switch {
	case *file != "":
		if body, err = readInput(bodySource, *file, stdin); err != nil {
			return err
		}
	case *mode == "sep12":
		body = sampleCustomer(*status, *id)
	default:
		if body, err = sampleXGateway(*typ, *status, *id); err != nil {
			return err
		}
	}

	st := newStyle(stdout)
	if !*asJSON {
		cfg.onAttempt = func(a send.Attempt) { printAttempt(stdout, st, a) }
	}
	d, sendErr := deliver(ctx, cfg, *target, body)
	if len(d.Attempts) == 0 && sendErr != nil {
		// Nothing was sent: a bad URL, or an XGateway body that cannot
		// be hashed.
		if *file != "" && (errors.Is(sendErr, kyccb.ErrMalformedBody) || errors.Is(sendErr, kyccb.ErrUnknownCallbackType)) {
			return fmt.Errorf("%w: %s: %w", errUsage, bodySource, sendErr)
		}
		return sendErr
	}
	out := sendOutcome{
		Delivered: sendErr == nil, URL: displayURL(*target), Mode: *mode, HTTPStatus: d.StatusCode,
		Reply: string(d.Reply), Body: jsonOrString(d.Body),
	}
	if *mode == "sep12" {
		kp, _ := keypair.ParseFull(cfg.seed)
		u, _ := url.Parse(*target)
		out.SignedBy, out.SignedHost = kp.Address(), u.Host
	}
	for _, a := range d.Attempts {
		oa := outcomeAttempt{N: a.N, HTTPStatus: a.StatusCode, Signature: a.Signature, DelayMS: a.Delay.Milliseconds()}
		if a.Err != nil {
			oa.Error = a.Err.Error()
		}
		out.Attempts = append(out.Attempts, oa)
	}
	if sendErr != nil {
		out.Error = sendErr.Error()
	}
	if *asJSON {
		if err := (&jsonLines{w: stdout}).write(out); err != nil {
			return err
		}
	} else {
		out.writeText(stdout, st)
	}
	if sendErr != nil {
		return errSilent
	}
	return nil
}

// sendOutcome is what send prints.
type sendOutcome struct {
	Delivered  bool             `json:"delivered"`
	URL        string           `json:"url"`
	Mode       string           `json:"mode"`
	SignedBy   string           `json:"signed_by,omitempty"`
	SignedHost string           `json:"signed_host,omitempty"`
	HTTPStatus int              `json:"http_status"`
	Reply      string           `json:"reply"`
	Attempts   []outcomeAttempt `json:"attempts"`
	Error      string           `json:"error,omitempty"`
	Body       json.RawMessage  `json:"body"`
}

type outcomeAttempt struct {
	N          int    `json:"n"`
	HTTPStatus int    `json:"http_status,omitempty"`
	Signature  string `json:"signature,omitempty"`
	Error      string `json:"error,omitempty"`
	DelayMS    int64  `json:"retry_in_ms,omitempty"`
}

func printAttempt(w io.Writer, st style, a send.Attempt) {
	var what string
	if a.Err != nil {
		what = st.red(termSafe(a.Err.Error()))
	} else {
		what = statusPaint(st, a.StatusCode)(statusText(a.StatusCode))
	}
	if a.Delay > 0 {
		what += st.dim(fmt.Sprintf(", retrying in %s", a.Delay.Round(10*time.Millisecond)))
	}
	fmt.Fprintf(w, "%s %d  %s\n", st.dim("attempt"), a.N, what)
}

func (o *sendOutcome) writeText(w io.Writer, st style) {
	head := st.bold(st.green("delivered"))
	if !o.Delivered {
		head = st.bold(st.red("not delivered"))
	}
	fmt.Fprintf(w, "%s  %s callback POST %s\n", head, modeName(o.Mode), termSafe(o.URL))
	var fs []field
	if o.SignedBy != "" {
		fs = append(fs, field{label: "signed by", value: o.SignedBy}, field{label: "for host", value: o.SignedHost})
	}
	fs = append(fs, field{label: "body", value: abbreviate(string(o.Body), 160)})
	if o.HTTPStatus != 0 {
		fs = append(fs, field{label: "reply", value: statusText(o.HTTPStatus), paint: statusPaint(st, o.HTTPStatus)})
		if reply := strings.TrimSpace(o.Reply); reply != "" {
			fs = append(fs, field{label: "reply body", value: abbreviate(reply, 160)})
		}
	}
	if o.Error != "" {
		fs = append(fs, field{label: "error", value: o.Error})
	}
	writeFields(w, st, "  ", fs)
}

// statusText is an HTTP status as "404 Not Found".
func statusText(code int) string {
	return strings.TrimSpace(fmt.Sprintf("%d %s", code, http.StatusText(code)))
}

// statusPaint colours a success green and anything else red.
func statusPaint(st style, code int) func(string) string {
	if code >= 200 && code < 400 {
		return st.green
	}
	return st.red
}

// abbreviate returns the first n bytes of s, on one line, and how long
// s was when it is longer.
func abbreviate(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) <= n {
		return s
	}
	// Cut at a character boundary, not inside one.
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "... (" + plural(len(s), "byte") + ")"
}

func jsonOrString(b []byte) json.RawMessage {
	if json.Valid(b) {
		return b
	}
	s, _ := json.Marshal(string(b))
	return s
}

// connectClient returns a client that connects to addr whatever the URL's
// host, so that a callback signed for the registered host can be delivered
// to a local receiver. It speaks plain HTTP to addr even for an https URL,
// as to a proxy that terminates TLS: what kyccb listen expects.
func connectClient(addr string) *http.Client {
	d := &net.Dialer{Timeout: 10 * time.Second}
	dial := func(ctx context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(ctx, network, addr)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	// A connection from DialTLSContext is used as it is: here, without TLS.
	tr.DialContext, tr.DialTLSContext = dial, dial
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// sampleCustomer returns a SEP-12 customer body for status, as compact
// JSON like the Anchor Platform sends.
func sampleCustomer(status, id string) []byte {
	if status == "" {
		status = string(kyccb.StatusAccepted)
	}
	if id == "" {
		id = "cust-" + randomSecret()[:8]
	}
	c := kyccb.Customer{ID: id, Status: kyccb.Status(status)}
	switch c.Status {
	case kyccb.StatusNeedsInfo:
		c.Fields = map[string]kyccb.Field{
			"mobile_number":  {Type: "string", Description: "phone number of the customer"},
			"photo_id_front": {Type: "binary", Description: "front of photo ID"},
		}
		c.ProvidedFields = map[string]kyccb.ProvidedField{
			"first_name": {Type: "string", Description: "first name", Status: "ACCEPTED"},
		}
	case kyccb.StatusProcessing:
		c.ProvidedFields = map[string]kyccb.ProvidedField{
			"first_name":     {Type: "string", Description: "first name", Status: "ACCEPTED"},
			"photo_id_front": {Type: "binary", Description: "front of photo ID", Status: "PROCESSING"},
		}
	case kyccb.StatusRejected:
		c.Message = "The documents could not be verified"
	}
	b, _ := json.Marshal(c)
	return b
}

// sampleXGateway returns an XGateway body of callback type typ for status,
// without its hash: the sender sets it.
func sampleXGateway(typ, status, id string) ([]byte, error) {
	if id == "" {
		id = "cust-" + randomSecret()[:8]
	}
	var v any
	switch typ {
	case kyccb.XGatewayTypeKYC:
		if status == "" {
			status = string(kyccb.XGatewayFullUser)
		}
		k := kyccb.XGatewayKYC{CallbackType: typ, CustomerID: id, Status: kyccb.XGatewayStatus(status), DocsMissing: []string{}}
		switch k.Status {
		case kyccb.XGatewayKYCNeeded, kyccb.XGatewayPendingKYCData:
			k.DocsMissing = []string{"SELFIE", "PASSPORT"}
		case kyccb.XGatewaySoftKYCFailed:
			k.DocsMissing, k.KYCRejectLabel, k.KYCEndUserErrorMessage = []string{"SELFIE"}, "BAD_SELFIE", "The selfie is blurred: please take it again"
		case kyccb.XGatewayHardKYCFailed:
			k.KYCRejectLabel, k.KYCEndUserErrorMessage = "FORGERY", "The documents could not be accepted"
		case kyccb.XGatewayKYCPending:
			k.KYCProcessingStatus = "VERIFICATION_IN_PROGRESS"
		}
		v = k
	case kyccb.XGatewayTypeTransaction:
		if status == "" {
			status = "COMPLETED"
		}
		v = kyccb.XGatewayTransaction{CallbackType: typ, ID: "tx-" + randomSecret()[:8], CustomerID: id, Amount: "100.00",
			Currency: "EUR", Status: status, Type: "DEPOSIT", Network: "STELLAR"}
	case kyccb.XGatewayTypeBankAccount:
		if status == "" {
			status = "ACTIVE"
		}
		v = kyccb.XGatewayBankAccount{CallbackType: typ, CustomerID: id, Currency: "EUR", IBAN: "DE89370400440532013000",
			BIC: "COBADEFFXXX", Country: "DE", Status: status}
	default:
		return nil, fmt.Errorf("%w: --type must be kyc, transaction or bank_account", errUsage)
	}
	return json.Marshal(v)
}
