package main

// Why was this callback rejected? The library says which check failed; the
// functions here find out what the sender did instead (signed another host,
// re-serialized the body, used another key or clock, hex instead of base64)
// by trying the usual mistakes against the evidence. They serve verify,
// listen and demo alike, and they may print what the request carried: the
// reader is the person debugging their own integration, not the sender.

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kyccb/kyccb"
	"github.com/kyccb/kyccb/internal/wire"
)

// sep12Evidence is what is known about one SEP-12 callback.
type sep12Evidence struct {
	keys        []ed25519.PublicKey // the trusted signing keys
	host        string              // the host the receiver is configured with
	tolerance   time.Duration
	now         time.Time
	method      string
	header      http.Header
	body        []byte
	requestHost string // the request's Host header, "" when unknown
	capture     bool   // a stored capture: suggest --at when it is stale
}

// diagnoseSEP12 explains err, the library's reason for rejecting the
// callback described by ev, in a few sentences.
func diagnoseSEP12(ev sep12Evidence, err error) []string {
	if lines, ok := diagnoseCommon(err, ev.method); ok {
		return lines
	}
	if errors.Is(err, kyccb.ErrMalformedBody) {
		return []string{`the signature is valid, but the body is neither a customer callback (a JSON object with the fields of GET /customer, status among them) nor a transaction callback ({"transaction": {...}} with the fields of GET /transaction, id among them)`}
	}
	value := wire.SignatureValue(ev.header)
	legacy := ev.header.Get(kyccb.LegacySignatureHeader)
	both := len(ev.header.Values(kyccb.SignatureHeader)) > 0 && legacy != ""
	if value == "" {
		return []string{"the request has neither a Signature nor an X-Stellar-Signature header: the sender did not sign it, or a proxy dropped the header"}
	}
	sig, perr := wire.ParseSignature(value)
	if perr != nil {
		lines := malformedHints(value)
		if both {
			if _, e := wire.ParseSignature(legacy); e == nil {
				lines = append(lines, "X-Stellar-Signature is well formed, but when both headers are present Signature decides: the sender's Signature header is broken")
			}
		}
		return append(lines, `the header must read "t=<unix seconds>, s=<base64 of the 64-byte ed25519 signature>"`)
	}

	var lines []string
	if len(sig.Timestamp) == 13 {
		lines = append(lines, "t has 13 digits: milliseconds? SEP-12 wants unix seconds")
	}
	age := ev.now.Sub(sig.Time)
	fresh := age <= ev.tolerance && -age <= ev.tolerance
	if !fresh {
		lines = append(lines, clockLine(age, ev.tolerance, sig.Timestamp, ev.capture))
	}
	m, found := findSEP12Match(ev, sig, legacy, both)
	switch {
	case !found:
		if t, ok := findEditedT(ev, sig); ok {
			lines = append(lines, fmt.Sprintf("t was edited after signing: the signature is valid for t=%d, the header says t=%s", t, sig.Timestamp))
			break
		}
		lines = append(lines, fmt.Sprintf("signed by another key: the signature does not verify under %s for %s, over this body or any usual re-serialization of it; "+
			"compare the sender's public key with the anchor's SIGNING_KEY in its stellar.toml (for kyccb send, the address of --seed). "+
			"Or it was signed for a host not tried here, or the body or t was edited after signing",
			keyNames(ev.keys), hostList(wire.HostVariants(ev.host, ev.requestHost))))
	case m.legacy:
		lines = append(lines, "X-Stellar-Signature verifies but Signature does not, and when both are present Signature decides: the sender's Signature header is wrong")
	case m.host.Host == ev.host && m.body.what == "":
		if fresh {
			// The library rejected it, yet it verifies here: the key
			// source must have changed in between.
			lines = append(lines, fmt.Sprintf("the signature verifies under %s for host %q now", keyName(m.key), ev.host))
		} else {
			lines = append(lines, fmt.Sprintf("the signature itself is valid (key %s, host %q): only its time is off", keyName(m.key), ev.host))
		}
	default:
		if m.host.Host != ev.host {
			lines = append(lines, hostLine(m.host, ev.host))
		}
		if m.body.what != "" {
			lines = append(lines, "body changed after signing: the sender signed "+m.body.what+
				"; the signature covers the raw bytes, so whatever sits in between (a proxy, a framework, a logger) must pass the body on byte for byte")
		}
	}
	return lines
}

// replayLine explains an ErrReplay verdict, answered 200 so that the
// sender stops, but processed (and forwarded) only the first time.
const replayLine = "replay: this signed request was processed before, so it was answered 200 without being processed or forwarded again; " +
	"a sender delivering again signs anew, so this is the same request sent twice (a command re-run, a proxy resending it)"

// staleLine explains an ErrStale verdict on body, a transaction callback
// whose updated_at is older than the one applied for its transaction.
func staleLine(body []byte) string {
	what := "its updated_at"
	var cb sep12Callback
	if json.Unmarshal(body, &cb) == nil && cb.Transaction != nil && !cb.Transaction.UpdatedAt.IsZero() {
		what += ", " + cb.Transaction.UpdatedAt.UTC().Format(time.RFC3339Nano) + ","
	}
	return "stale: " + what + " is older than that of the status applied for this transaction: " +
		"a delayed delivery of a status the transaction has left, answered 200 so that the sender stops; the function was not run"
}

// diagnoseCommon explains the rejections both modes share (a replay is a
// SEP-12 one, but needs no evidence either).
func diagnoseCommon(err error, method string) ([]string, bool) {
	switch {
	case errors.Is(err, kyccb.ErrMethod):
		return []string{fmt.Sprintf("callbacks are POST requests, this was %s (a browser or a health check?)", method)}, true
	case errors.Is(err, kyccb.ErrBodyTooLarge):
		return []string{fmt.Sprintf("the body is over the limit of %d bytes; real callbacks are a few kilobytes", kyccb.DefaultMaxBodyBytes)}, true
	case errors.Is(err, kyccb.ErrReplay):
		return []string{replayLine}, true
	case errors.Is(err, kyccb.ErrKeysUnavailable):
		return []string{"the anchor's signing key could not be read, so nothing could be verified: check the anchor domain and that its stellar.toml has a SIGNING_KEY"}, true
	}
	return nil, false
}

// malformedHints guesses what a sender meant by a header that does not parse.
func malformedHints(value string) []string {
	var lines []string
	for pair := range strings.SplitSeq(value, ",") {
		name, val, ok := strings.Cut(pair, "=")
		if !ok {
			continue
		}
		val = strings.TrimSpace(val)
		switch strings.TrimSpace(name) {
		case "t":
			if len(val) == 13 && strings.Trim(val, "0123456789") == "" {
				lines = append(lines, "t has 13 digits: milliseconds? SEP-12 wants unix seconds")
			}
		case "s":
			if _, err := hex.DecodeString(val); err == nil && len(val) == 2*ed25519.SignatureSize {
				lines = append(lines, "s is hex: SEP-12 wants the signature in base64")
			}
		}
	}
	return lines
}

// clockLine says how far the signing time is from the clock, to the second.
func clockLine(age, tolerance time.Duration, t string, capture bool) string {
	sec := int64(age.Round(time.Second) / time.Second)
	tol := int64(tolerance / time.Second)
	dir, abs := "before", sec
	if sec < 0 {
		dir, abs = "ahead of", -sec
	}
	line := fmt.Sprintf("clock offset: signed %d s %s this clock (t=%s, tolerance %d s): ", abs, dir, t, tol)
	if capture {
		return line + "checking an old capture? pass --at " + t + " to check it as of its signing time"
	}
	if sec > 0 {
		return line + fmt.Sprintf("a replay of an old callback, or the sender's clock is at least %d s behind this one; check both use NTP", abs-tol)
	}
	return line + fmt.Sprintf("the sender's clock is at least %d s ahead of this one; check both use NTP", abs-tol)
}

// sep12Match is a way the signature verifies: for which host, over which
// form of the body, under which key, in which header.
type sep12Match struct {
	host   wire.HostVariant
	body   bodyVariant
	key    ed25519.PublicKey
	legacy bool // only X-Stellar-Signature verifies
}

// findSEP12Match tries the configured host and body first, then the usual
// mistakes. A few hundred ed25519 verifications at most: milliseconds.
func findSEP12Match(ev sep12Evidence, sig wire.Signature, legacy string, both bool) (sep12Match, bool) {
	hosts := wire.HostVariants(ev.host, ev.requestHost)
	bodies := bodyVariants(ev.body)
	var msg []byte // reused: the body may be large
	try := func(s wire.Signature) (sep12Match, bool) {
		for _, b := range bodies {
			for _, h := range hosts {
				msg = wire.SignedMessage(msg[:0], s.Timestamp, h.Host, b.body)
				for _, k := range ev.keys {
					if len(k) == ed25519.PublicKeySize && ed25519.Verify(k, msg, s.Bytes) {
						return sep12Match{host: h, body: b, key: k}, true
					}
				}
			}
		}
		return sep12Match{}, false
	}
	if m, ok := try(sig); ok {
		return m, true
	}
	if both {
		if ls, err := wire.ParseSignature(legacy); err == nil {
			if m, ok := try(ls); ok {
				m.legacy = true
				return m, true
			}
		}
	}
	return sep12Match{}, false
}

// findEditedT looks for the t the signature was made with, within five
// minutes of the header's, for the configured host and the body as
// received: someone changed t to make a stale callback look fresh.
func findEditedT(ev sep12Evidence, sig wire.Signature) (int64, bool) {
	t := sig.Time.Unix()
	var msg []byte // reused: the body may be large
	for d := int64(1); d <= 300; d++ {
		for _, c := range []int64{t - d, t + d} {
			if c < 0 {
				continue
			}
			msg = wire.SignedMessage(msg[:0], strconv.FormatInt(c, 10), ev.host, ev.body)
			for _, k := range ev.keys {
				if len(k) == ed25519.PublicKeySize && ed25519.Verify(k, msg, sig.Bytes) {
					return c, true
				}
			}
		}
	}
	return 0, false
}

func hostList(hs []wire.HostVariant) string {
	q := make([]string, len(hs))
	for i, h := range hs {
		q[i] = fmt.Sprintf("%q", h.Host)
	}
	if len(q) == 1 {
		return "host " + q[0]
	}
	return "host " + q[0] + " (nor " + strings.Join(q[1:], ", ") + ")"
}

func hostLine(h wire.HostVariant, configured string) string {
	line := fmt.Sprintf("wrong host: signed for %q (%s), not for the configured host %q; ", h.Host, h.What, configured)
	if h.What == wire.WhatRequestHost {
		return line + "the signed host is the one of the callback URL registered with the anchor, never the Host a request arrives with: " +
			fmt.Sprintf("if %q is the registered URL's host, configure it (--host); otherwise the sender signs the wrong host", h.Host)
	}
	return line + fmt.Sprintf("the signed host is written exactly as in the callback URL registered with the anchor, port included: "+
		"configure --host %q if that is the URL you registered, or register the URL the sender signs for", h.Host)
}

// bodyVariant is the body as received, or as a sender may have had it
// before something on the way re-serialized it.
type bodyVariant struct {
	body []byte
	what string // completes "the sender signed ..."; "" for the body as received
}

// bodyVariants returns the body as received, then the forms a sender may
// have signed: other JSON layouts of the same value, other line endings,
// a trailing newline more or less.
func bodyVariants(body []byte) []bodyVariant {
	out := []bodyVariant{{body: body}}
	add := func(b []byte, what string) {
		for _, v := range out {
			if bytes.Equal(v.body, b) {
				return
			}
		}
		out = append(out, bodyVariant{b, what})
	}
	// The smallest changes first: they say most precisely what happened.
	add(append(bytes.Clone(body), '\n'), "this body followed by a newline, which was lost on the way")
	add(bytes.TrimRight(body, " \t\r\n"), "this body without its trailing white space, which was added on the way")
	add(bytes.ReplaceAll(body, []byte("\r\n"), []byte("\n")), "this body with \\n line endings; it arrived with \\r\\n")
	var compact bytes.Buffer
	if json.Compact(&compact, body) == nil {
		c := compact.Bytes()
		add(c, "the compact form of this JSON (re-serialized JSON: it was re-indented or re-spaced after signing)")
		for _, ind := range []struct{ s, name string }{{"  ", "2 spaces"}, {"    ", "4 spaces"}, {"\t", "tabs"}} {
			var b bytes.Buffer
			json.Indent(&b, c, "", ind.s) // c is valid JSON
			add(b.Bytes(), "this JSON indented with "+ind.name+" (re-serialized JSON: it was re-compacted or re-indented after signing)")
		}
		add(respace(c, ", ", ": "), `this JSON with ", " and ": " between items (Python's json.dumps default), and it was re-serialized after signing`)
		add(escapeNonASCII(c), `this JSON with non-ASCII characters escaped as \uXXXX, and it was re-serialized after signing`)
		var v any
		d := json.NewDecoder(bytes.NewReader(c))
		d.UseNumber()
		if d.Decode(&v) == nil {
			if b, err := json.Marshal(v); err == nil {
				add(b, "this JSON with its keys sorted and <, >, & escaped (Go's encoding/json re-encoding), and it was re-serialized after signing")
			}
			var b bytes.Buffer
			e := json.NewEncoder(&b)
			e.SetEscapeHTML(false)
			if e.Encode(v) == nil {
				add(bytes.TrimSuffix(b.Bytes(), []byte("\n")), "this JSON with its keys sorted (re-encoded through a map), and it was re-serialized after signing")
			}
		}
	}
	return out
}

// respace rewrites compact JSON with the given separators between items
// and after keys, keeping strings as they are.
func respace(compact []byte, item, key string) []byte {
	var b bytes.Buffer
	inString, escaped := false, false
	for _, c := range compact {
		switch {
		case inString:
			b.WriteByte(c)
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
			b.WriteByte(c)
		case c == ',':
			b.WriteString(item)
		case c == ':':
			b.WriteString(key)
		default:
			b.WriteByte(c)
		}
	}
	return b.Bytes()
}

// escapeNonASCII writes every non-ASCII character of valid JSON as \uXXXX,
// as JSON encoders with an ASCII-only option do.
func escapeNonASCII(js []byte) []byte {
	var b bytes.Buffer
	for len(js) > 0 {
		r, n := utf8.DecodeRune(js)
		js = js[n:]
		switch {
		case r < utf8.RuneSelf:
			b.WriteRune(r)
		case r > 0xFFFF:
			r -= 0x10000
			fmt.Fprintf(&b, `\u%04x\u%04x`, 0xD800+(r>>10), 0xDC00+(r&0x3FF))
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
	}
	return b.Bytes()
}

func keyName(k ed25519.PublicKey) string {
	if s := wire.Address(k); s != "" {
		return s
	}
	return "a key of the wrong length"
}

func keyNames(keys []ed25519.PublicKey) string {
	if len(keys) == 1 {
		return "the trusted key " + keyName(keys[0])
	}
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = keyName(k)
	}
	return "any of the trusted keys " + strings.Join(names, ", ")
}

// hashedNumber reports whether a field x's type hashes is a JSON number.
func hashedNumber(x *wire.XGateway) bool {
	for _, k := range wire.XGatewayHashedKeys(x.Type()) {
		if v := x.Raw(k); len(v) > 0 && (v[0] == '-' || '0' <= v[0] && v[0] <= '9') {
			return true
		}
	}
	return false
}

// diagnoseXGateway explains err, the library's reason for rejecting an
// XGateway callback with this body, received by a merchant with secret.
func diagnoseXGateway(secret, method string, body []byte, err error) []string {
	if lines, ok := diagnoseCommon(err, method); ok {
		return lines
	}
	x, perr := wire.ParseXGateway(body)
	switch {
	case errors.Is(perr, wire.ErrAmbiguousKey):
		return []string{"the body has a key twice, or a key that becomes a field's name when its case is changed (CUSTOMERID, customerıd with a dotless i): parsers and apps would read it differently, so it never verifies (" + perr.Error() + ")"}
	case perr != nil && bytes.Contains(body, []byte("=")) && !bytes.ContainsAny(body, "{}"):
		return []string{"the body looks form-encoded (a=b&c=d): XGateway sends a JSON object"}
	case perr != nil && errors.Is(err, kyccb.ErrBadHash):
		return []string{"a hashed field is not in XGateway's form (" + perr.Error() + ")"}
	case perr != nil:
		return []string{"the body is not a JSON object: XGateway sends one JSON object per callback (" + perr.Error() + ")"}
	}
	typ := x.Type()
	fields := x.FieldsAs(typ, "N/A")
	switch {
	case errors.Is(err, kyccb.ErrUnknownCallbackType):
		return []string{fmt.Sprintf("callbackType is %q: XGateway sends kyc, transaction or bank_account, and hashes different fields for each", typ)}
	case errors.Is(err, kyccb.ErrMissingHash):
		return []string{"the body has no hash field, or an empty one: nothing authenticates it"}
	case !errors.Is(err, kyccb.ErrBadHash) || fields == nil:
		return nil
	}
	if _, ferr := x.HashedFields(); ferr != nil {
		if hashedNumber(&x) {
			return []string{"a hashed field is a JSON number: XGateway sends strings, and a parser that reads numbers as doubles would read another value (12345678901234567890 as 12345678901234567000), so it never verifies (" + ferr.Error() + ")"}
		}
		return []string{"a hashed field is not in XGateway's form, so the hash could be read as another callback's (" + ferr.Error() + ")"}
	}
	hash, _ := x.Hash()
	sum := xgatewaySHA512(secret, fields)
	switch {
	case strings.EqualFold(hash, hex.EncodeToString(sum)):
		return []string{"the hash is hex: XGateway sends the SHA-512 in standard base64, padded"}
	case hash == base64.RawStdEncoding.EncodeToString(sum) || hash == base64.URLEncoding.EncodeToString(sum) || hash == base64.RawURLEncoding.EncodeToString(sum):
		return []string{"the hash is right but written in URL-safe or unpadded base64: XGateway sends standard base64 with = padding"}
	}
	matches := func(b []byte) bool { return hash == base64.StdEncoding.EncodeToString(b) }
	for _, s := range []string{secret + "\n", secret + "\r\n", secret + " "} {
		if matches(xgatewaySHA512(s, fields)) {
			return []string{"the sender hashed the secret with white space after it (a secret file read with its line ending): trim it where the sender reads it"}
		}
	}
	for _, other := range []string{kyccb.XGatewayTypeKYC, kyccb.XGatewayTypeTransaction, kyccb.XGatewayTypeBankAccount} {
		if other != typ && matches(xgatewaySHA512(secret, x.FieldsAs(other, "N/A"))) {
			return []string{fmt.Sprintf("the hash is over the fields of a %s callback (%s), but callbackType is %q", other, strings.Join(hashedNames(other), "."), typ)}
		}
	}
	if typ == kyccb.XGatewayTypeTransaction {
		if matches(xgatewaySHA512(secret, x.FieldsAs(typ, ""))) {
			return []string{"the sender hashed an empty customerId: XGateway writes N/A for a transaction without a customer"}
		}
	}
	joined := []byte(strings.Join(fields, "."))
	mac := hmac.New(sha512.New, []byte(secret))
	mac.Write(joined)
	if matches(mac.Sum(nil)) {
		return []string{"the hash is an HMAC-SHA512: XGateway's is a plain SHA-512 over the fields and the secret joined with '.'"}
	}
	if plain := sha512.Sum512(joined); matches(plain[:]) {
		return []string{"the hash leaves out the secret: anyone could have computed it"}
	}
	if s256 := sha256.Sum256(append(append(joined, '.'), secret...)); matches(s256[:]) {
		return []string{"the hash is a SHA-256: XGateway uses SHA-512"}
	}
	return []string{fmt.Sprintf("the hash is not the SHA-512 of %s with this secret: it was made with another secret (check the merchant secret key), "+
		"or a hashed field was changed after hashing; no other field, status included, is covered by the hash", strings.Join(hashedNames(typ), "."))}
}

// hashedNames names what a callback of type typ hashes, the secret last.
func hashedNames(typ string) []string {
	return append(wire.XGatewayHashedKeys(typ), "secret")
}

func xgatewaySHA512(secret string, fields []string) []byte {
	s := wire.XGatewaySum(secret, fields...)
	return s[:]
}
