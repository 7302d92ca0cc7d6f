package wire

import (
	"bytes"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"hash/maphash"
	"strings"
	"unicode/utf8"
)

// The XGateway callback types, in the callbackType field.
const (
	XGatewayTypeKYC         = "kyc"
	XGatewayTypeTransaction = "transaction"
	XGatewayTypeBankAccount = "bank_account"
)

// The reasons [ParseXGateway] and [XGateway.HashedFields] refuse a body.
// Each is wrapped with a short diagnosis: a byte offset or one of our own
// field names, never bytes of the input.
var (
	// ErrSyntax: the body is not exactly one valid JSON object (white
	// space around it allowed), or it holds invalid UTF-8, a lone surrogate
	// escape or values nested deeper than 128 levels.
	ErrSyntax = errors.New("not a single valid JSON object")

	// ErrAmbiguousKey: a top-level key appears twice, is a known field
	// under a change of case (see [ParseXGateway]), or the object has more
	// distinct unknown keys than are checked for duplicates (64). Other
	// JSON parsers, or applications that compare keys after changing their
	// case, would read such a body differently from this one.
	ErrAmbiguousKey = errors.New("ambiguous top-level key")

	// ErrUnknownCallbackType: callbackType is not one of the
	// XGatewayType constants, so the hashed fields are unknown.
	ErrUnknownCallbackType = errors.New("unknown callback type")

	// ErrFieldFormat: callbackType, hash or a hashed field is not a string
	// or null, or a hashed field breaks the rule that keeps one hash from
	// verifying other field values (see [XGateway.HashedFields]).
	ErrFieldFormat = errors.New("field breaks its format rule")
)

// Indexes of the known top-level keys in xgwKeys and XGateway.vals.
const (
	xgwCallbackType = iota
	xgwHash
	xgwID
	xgwCustomerID
	xgwAmount
	xgwCurrency
	xgwStatus
	xgwDocsMissing
	xgwKYCRejectLabel
	xgwKYCEndUserErrorMessage
	xgwKYCProcessingStatus
	xgwInvoiceID
	xgwOrderID
	xgwNetwork
	xgwTransactionHash
	xgwType
	xgwApplicationID
	xgwInfo
	xgwFee
	xgwIBAN
	xgwBIC
	xgwAccountNumber
	xgwSortCode
	xgwCountry
	xgwKeyCount
)

// xgwKeys are the top-level fields of the three callback types.
var xgwKeys = [xgwKeyCount]string{
	"callbackType", "hash", "id", "customerId", "amount", "currency", "status",
	"docsMissing", "kycRejectLabel", "kycEndUserErrorMessage", "kycProcessingStatus",
	"invoiceId", "orderId", "network", "transactionHash", "type", "applicationId", "info", "fee",
	"iban", "bic", "accountNumber", "sortCode", "country",
}

// xgwLowerKeys are xgwKeys in lower case, which is how xgwCaseIndex
// compares them.
var xgwLowerKeys = func() (b [xgwKeyCount]string) {
	for i, k := range xgwKeys {
		b[i] = strings.ToLower(k)
	}
	return b
}()

// XGatewayKeys returns the top-level field names of XGateway callbacks, in
// a new slice: callbackType, hash, id, customerId, amount, currency, status,
// docsMissing, kycRejectLabel, kycEndUserErrorMessage, kycProcessingStatus,
// invoiceId, orderId, network, transactionHash, type, applicationId, info,
// fee, iban, bic, accountNumber, sortCode and country. These are the names
// [XGateway.String] and [XGateway.Raw] take.
func XGatewayKeys() []string {
	return append([]string(nil), xgwKeys[:]...)
}

// xgwKeyIndex returns the index of the known key k, or -1. A switch on
// string(k) neither allocates nor hashes.
func xgwKeyIndex[T string | []byte](k T) int {
	switch string(k) {
	case "callbackType":
		return xgwCallbackType
	case "hash":
		return xgwHash
	case "id":
		return xgwID
	case "customerId":
		return xgwCustomerID
	case "amount":
		return xgwAmount
	case "currency":
		return xgwCurrency
	case "status":
		return xgwStatus
	case "docsMissing":
		return xgwDocsMissing
	case "kycRejectLabel":
		return xgwKYCRejectLabel
	case "kycEndUserErrorMessage":
		return xgwKYCEndUserErrorMessage
	case "kycProcessingStatus":
		return xgwKYCProcessingStatus
	case "invoiceId":
		return xgwInvoiceID
	case "orderId":
		return xgwOrderID
	case "network":
		return xgwNetwork
	case "transactionHash":
		return xgwTransactionHash
	case "type":
		return xgwType
	case "applicationId":
		return xgwApplicationID
	case "info":
		return xgwInfo
	case "fee":
		return xgwFee
	case "iban":
		return xgwIBAN
	case "bic":
		return xgwBIC
	case "accountNumber":
		return xgwAccountNumber
	case "sortCode":
		return xgwSortCode
	case "country":
		return xgwCountry
	}
	return -1
}

const (
	// xgwMaxDepth bounds nesting, the top-level object included. Callbacks
	// nest three levels at most; 128 is also serde_json's limit, so a body
	// accepted here is not refused for depth by the usual parsers.
	xgwMaxDepth = 128

	// xgwMaxUnknown bounds the distinct unknown top-level keys, which are
	// remembered on the stack to refuse duplicates among them without
	// allocating. XGateway sends none today.
	xgwMaxUnknown = 64

	// xgwFoldMax is the longest key, in bytes, that can be a known key
	// under a change of case: the longest known key has 22 letters, and
	// every rune that case-maps onto ASCII letters stands for at least one
	// of them in at most 3 bytes (the Kelvin sign K and the ligatures do).
	// A test checks both.
	xgwFoldMax = 3 * 22
)

// xgwSpan locates a top-level value in the body: body[start:end]. end is 0
// for an absent key, as no value ends at the body's first byte.
type xgwSpan struct{ start, end int }

// XGateway is the top level of an XGateway callback body, read strictly by
// [ParseXGateway]: for each known top-level key, where its value is in the
// body. Values are decoded only when asked for, so that a body can be
// authenticated before the parts the hash does not cover cost anything.
//
// An XGateway keeps the body it was parsed from, which must not be
// modified while the XGateway is in use. Its methods do not modify it and
// are safe for concurrent use. The zero value has no keys.
type XGateway struct {
	body []byte
	vals [xgwKeyCount]xgwSpan
}

// ParseXGateway reads body, the raw body of an XGateway callback, strictly,
// so that every JSON parser that accepts the body reads the same values
// for the keys that matter:
//
//   - body is exactly one JSON object, with JSON white space around it;
//     strings are valid UTF-8 and their escapes encode Unicode scalar
//     values (no lone surrogates); nesting is at most 128 levels;
//   - top-level keys are compared exactly after JSON unescaping:
//     "\u0063allbackType" is callbackType;
//   - a top-level key given twice is refused, and so is a key that is not
//     a known field (see [XGatewayKeys]) but becomes one when its case is
//     changed: under [strings.EqualFold], the Unicode case folding that
//     encoding/json matches struct fields with ("CUSTOMERID",
//     "cuſtomerId"), and under the upper-, lower- and title-case mappings
//     that applications compare keys with, in Go, JavaScript or Python,
//     Turkish rules included: "customerıd" (U+0131), "customerİd"
//     (U+0130), "kycProceßingStatus" and "ﬆatus" are refused;
//   - callbackType and hash are strings or null. (XGateway sends every
//     value as a string; see [XGateway.String] for the others.)
//
// The error matches [ErrSyntax], [ErrAmbiguousKey] or [ErrFieldFormat].
// Nested values are checked but not decoded or remembered: ParseXGateway
// allocates nothing, however large the body, unless it returns an error.
func ParseXGateway(body []byte) (XGateway, error) {
	x := XGateway{body: body}
	var unknown xgwUnknownKeys
	n := len(body)
	i := xgwSkipSpace(body, 0)
	if i == n {
		return XGateway{}, fmt.Errorf("%w: empty body", ErrSyntax)
	}
	if body[i] != '{' {
		return XGateway{}, fmt.Errorf("%w: not an object", ErrSyntax)
	}
	i = xgwSkipSpace(body, i+1)
	if i < n && body[i] == '}' {
		i++
	} else {
		for {
			if i == n {
				return XGateway{}, xgwEOF()
			}
			if body[i] != '"' {
				return XGateway{}, xgwBadChar(i)
			}
			keyAt := i
			end, escaped, err := xgwScanString(body, i)
			if err != nil {
				return XGateway{}, err
			}
			key := body[i+1 : end-1]
			i = xgwSkipSpace(body, end)
			if i == n {
				return XGateway{}, xgwEOF()
			}
			if body[i] != ':' {
				return XGateway{}, xgwBadChar(i)
			}
			start := xgwSkipSpace(body, i+1)
			if i, err = xgwSkipValue(body, start); err != nil {
				return XGateway{}, err
			}
			if err := x.record(key, escaped, keyAt, xgwSpan{start, i}, &unknown); err != nil {
				return XGateway{}, err
			}
			i = xgwSkipSpace(body, i)
			if i == n {
				return XGateway{}, xgwEOF()
			}
			if body[i] == ',' {
				i = xgwSkipSpace(body, i+1)
				continue
			}
			if body[i] != '}' {
				return XGateway{}, xgwBadChar(i)
			}
			i++
			break
		}
	}
	if i = xgwSkipSpace(body, i); i != n {
		return XGateway{}, fmt.Errorf("%w: data after the object at byte %d", ErrSyntax, i)
	}
	// Type and Hash have no error result: check their kinds here.
	for _, k := range [...]int{xgwCallbackType, xgwHash} {
		if v := x.raw(k); v != nil && !xgwIsStringOrNull(v[0]) {
			return XGateway{}, fmt.Errorf("%w: %s is not a string", ErrFieldFormat, xgwKeys[k])
		}
	}
	return x, nil
}

// record notes the value at v for key, the raw content of a key string
// found at byte at, or refuses the key.
func (x *XGateway) record(key []byte, escaped bool, at int, v xgwSpan, unknown *xgwUnknownKeys) error {
	name := key
	var buf [xgwFoldMax]byte
	if escaped {
		// A key too long for buf is neither a known key nor folds to one.
		n, ok := xgwUnescapeInto(buf[:], key)
		name = nil
		if ok {
			name = buf[:n]
		}
	}
	if name != nil {
		if k := xgwKeyIndex(name); k >= 0 {
			if x.vals[k].end != 0 {
				return fmt.Errorf("%w: duplicate %s", ErrAmbiguousKey, xgwKeys[k])
			}
			x.vals[k] = v
			return nil
		}
		if k := xgwCaseIndex(name); k >= 0 {
			return fmt.Errorf("%w: a key is %s under a change of case", ErrAmbiguousKey, xgwKeys[k])
		}
	}
	return unknown.add(x.body, key, escaped, at)
}

// xgwCaseIndex returns the index of the known key that name, which is not
// one, becomes under a change of case, or -1. Known keys are ASCII
// letters, so name must be letters too, each one an ASCII letter or a
// rune that some case mapping or folding turns into ASCII letters: those
// are listed in xgwCaseASCII.
func xgwCaseIndex(name []byte) int {
	if len(name) > xgwFoldMax {
		return -1
	}
	var buf [xgwFoldMax]byte
	n := 0
	for i := 0; i < len(name); {
		c := name[i]
		if c < utf8.RuneSelf {
			switch {
			case 'a' <= c && c <= 'z':
			case 'A' <= c && c <= 'Z':
				c += 'a' - 'A'
			default:
				return -1
			}
			if n == len(buf) {
				return -1
			}
			buf[n] = c
			n++
			i++
			continue
		}
		r, w := utf8.DecodeRune(name[i:])
		s := xgwCaseASCII(r)
		if s == "" || n+len(s) > len(buf) {
			return -1
		}
		n += copy(buf[n:], s)
		i += w
	}
	for k, lower := range xgwLowerKeys {
		if string(buf[:n]) == lower {
			return k
		}
	}
	return -1
}

// xgwCaseASCII returns the lower-case ASCII letters that r, a rune beyond
// ASCII, becomes under a change of case, or "". These are every rune whose
// simple mappings (Go's unicode.ToUpper, ToLower, ToTitle, SimpleFold and
// their Turkish forms) or full mappings (SpecialCasing.txt, which
// JavaScript's toUpperCase and Python's upper use) give only ASCII
// letters; a test derives the first kind from package unicode.
func xgwCaseASCII(r rune) string {
	switch r {
	case 0x0131, 0x0130: // ı dotless i upper-cases to I; İ lower-cases to i in Go
		return "i"
	case 0x017F: // ſ long s upper-cases to S
		return "s"
	case 0x212A: // K Kelvin sign lower-cases to k
		return "k"
	case 0x00DF, 0x1E9E: // ß upper-cases to SS; ẞ lower-cases to ß
		return "ss"
	case 0xFB00:
		return "ff"
	case 0xFB01:
		return "fi"
	case 0xFB02:
		return "fl"
	case 0xFB03:
		return "ffi"
	case 0xFB04:
		return "ffl"
	case 0xFB05, 0xFB06: // ﬅ and ﬆ
		return "st"
	}
	return ""
}

// xgwUnknownKeys remembers the unknown top-level keys of one body, as the
// keyed hash of each unescaped key and where the key's raw content is.
type xgwUnknownKeys struct {
	n    int
	hash [xgwMaxUnknown]uint64
	key  [xgwMaxUnknown]xgwSpan
}

var xgwSeed = maphash.MakeSeed()

// add notes key, the raw content of a key string at byte at of body, or
// refuses it as a duplicate. Comparing keyed hashes first keeps the cost
// linear in the body even for keys crafted to share long prefixes.
func (u *xgwUnknownKeys) add(body, key []byte, escaped bool, at int) error {
	h := xgwHashKey(key, escaped)
	for j := range u.n {
		if u.hash[j] == h && xgwSameKey(body[u.key[j].start:u.key[j].end], key) {
			return fmt.Errorf("%w: duplicate unknown key at byte %d", ErrAmbiguousKey, at)
		}
	}
	if u.n == xgwMaxUnknown {
		return fmt.Errorf("%w: more than %d unknown keys", ErrAmbiguousKey, xgwMaxUnknown)
	}
	u.hash[u.n] = h
	u.key[u.n] = xgwSpan{at + 1, at + 1 + len(key)}
	u.n++
	return nil
}

// Raw returns the raw JSON of the top-level value of name, one of
// [XGatewayKeys], as it is in the body (null as "null"), or nil if the key
// is absent. It panics for other names: they are not recorded.
func (x *XGateway) Raw(name string) []byte {
	return x.raw(xgwMustIndex(name))
}

func (x *XGateway) raw(k int) []byte {
	v := x.vals[k]
	if v.end == 0 {
		return nil
	}
	return x.body[v.start:v.end:v.end]
}

func xgwMustIndex(name string) int {
	k := xgwKeyIndex(name)
	if k < 0 {
		panic("wire: not an XGateway key")
	}
	return k
}

// String returns the top-level value of name, one of [XGatewayKeys], as a
// string: a JSON string decoded, and "" for null or an absent key. For
// other JSON values, numbers included, the error matches [ErrFieldFormat]:
// XGateway sends every value as a string, and a number such as
// 12345678901234567890 or 1e5 would read as another value in a parser that
// reads numbers as doubles (JavaScript, Python, encoding/json into any).
// It panics for names that are not known keys.
//
// A string without escapes costs one allocation, the copy; an escaped one
// costs one more at most.
func (x *XGateway) String(name string) (string, error) {
	k := xgwMustIndex(name)
	return x.str(k)
}

func (x *XGateway) str(k int) (string, error) {
	v := x.raw(k)
	if v == nil {
		return "", nil
	}
	switch c := v[0]; {
	case c == '"':
		s := v[1 : len(v)-1]
		if bytes.IndexByte(s, '\\') < 0 {
			return string(s), nil
		}
		return xgwUnescape(s), nil
	case c == 'n':
		return "", nil
	}
	return "", fmt.Errorf("%w: %s is not a string or null", ErrFieldFormat, xgwKeys[k])
}

// Type returns the callbackType, "" if it is absent or null.
func (x *XGateway) Type() string {
	v := x.raw(xgwCallbackType)
	if len(v) > 2 && v[0] == '"' {
		// The usual case, without allocating.
		switch string(v[1 : len(v)-1]) {
		case XGatewayTypeKYC:
			return XGatewayTypeKYC
		case XGatewayTypeTransaction:
			return XGatewayTypeTransaction
		case XGatewayTypeBankAccount:
			return XGatewayTypeBankAccount
		}
	}
	s, _ := x.str(xgwCallbackType) // ParseXGateway checked the kind
	return s
}

// Hash returns the hash field. ok is false when it is absent, null or "",
// which the caller reports as a missing hash.
func (x *XGateway) Hash() (hash string, ok bool) {
	s, _ := x.str(xgwHash) // ParseXGateway checked the kind
	return s, s != ""
}

// HashedFields returns the fields XGateway hashes, before the secret, for
// the body's callback type:
//
//	kyc:          customerId
//	transaction:  id, customerId ("N/A" when absent, null or ""), amount, currency
//	bank_account: customerId, currency
//
// Values are read as by [XGateway.String]. The error matches
// [ErrUnknownCallbackType] for another callbackType, and [ErrFieldFormat]
// for a hashed value that is not a string or null (a number is refused:
// the hash covers its text, which other parsers read as another number),
// or that breaks these rules:
//
//   - currency is a currency code: 2 to 12 of A-Z and 0-9, as in ISO 4217
//     and crypto tickers such as USDT;
//   - amount is a decimal number: an optional '-', digits, and optionally
//     '.' and digits; no exponent, no '+', no leading or trailing dot;
//   - a transaction id, XGateway's own, contains no '.'.
//
// The fields are joined with ".", so without the rules one hash would
// verify other splits of the same text: a transaction (77, 1234, 12.5,
// USD) as (77.1234, 12, 5, USD) or (77, 1234, 12, 5.USD), the kyc hash of
// alice@example.com as a bank_account callback for alice@example in com.
// What the rules cannot refuse without refusing genuine callbacks, since
// customer ids are the merchant's own and may be e-mail addresses:
//
//   - a customer id ending in '.' and digits, with an integer amount:
//     transactions (77, c.1, 5, USD) and (77, c, 1.5, USD) share a hash;
//   - a kyc callback for a dotted customer id has the hash of the
//     bank_account or transaction callback whose fields spell that id,
//     when they pass the rules: kyc alice@example.COM and bank_account
//     (alice@example, COM); kyc 77.1234.12.5.USD and transaction (77,
//     1234, 12.5, USD);
//   - likewise a bank_account callback for a customer id with dots and a
//     transaction: bank_account (77.1234.12.5, USD) and the transaction
//     above;
//   - a transaction without a customer id and one for customer "N/A".
func (x *XGateway) HashedFields() ([]string, error) {
	switch x.Type() {
	case XGatewayTypeKYC:
		customer, err := x.str(xgwCustomerID)
		if err != nil {
			return nil, err
		}
		return []string{customer}, nil
	case XGatewayTypeTransaction:
		id, err := x.str(xgwID)
		if err != nil {
			return nil, err
		}
		if strings.IndexByte(id, '.') >= 0 {
			return nil, fmt.Errorf("%w: id contains a dot", ErrFieldFormat)
		}
		customer, err := x.str(xgwCustomerID)
		if err != nil {
			return nil, err
		}
		if customer == "" {
			customer = "N/A"
		}
		amount, err := x.str(xgwAmount)
		if err != nil {
			return nil, err
		}
		if !xgwIsDecimal(amount) {
			return nil, fmt.Errorf("%w: amount is not a decimal number", ErrFieldFormat)
		}
		currency, err := x.currency()
		if err != nil {
			return nil, err
		}
		return []string{id, customer, amount, currency}, nil
	case XGatewayTypeBankAccount:
		customer, err := x.str(xgwCustomerID)
		if err != nil {
			return nil, err
		}
		currency, err := x.currency()
		if err != nil {
			return nil, err
		}
		return []string{customer, currency}, nil
	}
	return nil, ErrUnknownCallbackType
}

func (x *XGateway) currency() (string, error) {
	c, err := x.str(xgwCurrency)
	if err != nil {
		return "", err
	}
	if !xgwIsCurrency(c) {
		return "", fmt.Errorf("%w: currency is not a currency code", ErrFieldFormat)
	}
	return c, nil
}

// xgwIsDecimal reports whether s is -?[0-9]+(\.[0-9]+)?.
func xgwIsDecimal(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	start := i
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		i++
	}
	if i == start {
		return false
	}
	if i == len(s) {
		return true
	}
	if s[i] != '.' {
		return false
	}
	i++
	start = i
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		i++
	}
	return i > start && i == len(s)
}

// xgwIsCurrency reports whether s is [A-Z0-9]{2,12}.
func xgwIsCurrency(s string) bool {
	if len(s) < 2 || len(s) > 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// XGatewaySum returns the SHA-512 that XGateway's hash encodes: over
// fields joined with ".", followed by "." and secret.
func XGatewaySum(secret string, fields ...string) [sha512.Size]byte {
	buf := make([]byte, 0, 256) // on the stack for the usual sizes
	for _, f := range fields {
		buf = append(buf, f...)
		buf = append(buf, '.')
	}
	return sha512.Sum512(append(buf, secret...))
}

// XGatewayHash returns the hash XGateway puts in a callback: standard
// padded base64 of [XGatewaySum].
func XGatewayHash(secret string, fields ...string) string {
	sum := XGatewaySum(secret, fields...)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// XGatewayHashMatches reports whether hash is [XGatewayHash] of secret and
// fields, in strict standard padded base64 (no white space, no unpadded or
// URL alphabet, no non-zero trailing bits). The comparison takes the same
// time wherever the hashes differ.
func XGatewayHashMatches(hash, secret string, fields ...string) bool {
	enc := base64.StdEncoding.Strict()
	if len(hash) != enc.EncodedLen(sha512.Size) {
		return false
	}
	var got [sha512.Size + 2]byte // room for what 88 characters decode to
	n, err := enc.Decode(got[:], []byte(hash))
	if err != nil || n != sha512.Size {
		return false
	}
	want := XGatewaySum(secret, fields...)
	return subtle.ConstantTimeCompare(want[:], got[:n]) == 1
}

// The scanner. Functions take the body and an offset and return the offset
// after what they read. They refuse anything encoding/json's scanner
// refuses, and more: invalid UTF-8, lone surrogate escapes, nesting past
// xgwMaxDepth. They allocate only for errors.

func xgwEOF() error { return fmt.Errorf("%w: unexpected end", ErrSyntax) }

func xgwBadChar(i int) error {
	return fmt.Errorf("%w: unexpected character at byte %d", ErrSyntax, i)
}

func xgwSkipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// xgwPlain marks the bytes a string can hold as they are: printable ASCII
// but '"' and '\\'.
var xgwPlain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// xgwScanString checks the string at b[i] == '"' and returns the offset
// after its closing quote and whether it has escapes.
func xgwScanString(b []byte, i int) (end int, escaped bool, err error) {
	j := i + 1
	for j < len(b) {
		c := b[j]
		if xgwPlain[c] {
			j++
			continue
		}
		switch {
		case c == '"':
			return j + 1, escaped, nil
		case c == '\\':
			escaped = true
			w, err := xgwCheckEscape(b, j)
			if err != nil {
				return 0, false, err
			}
			j += w
		case c < 0x20:
			return 0, false, fmt.Errorf("%w: control character in string at byte %d", ErrSyntax, j)
		default:
			r, w := utf8.DecodeRune(b[j:])
			if r == utf8.RuneError && w == 1 {
				return 0, false, fmt.Errorf("%w: invalid UTF-8 at byte %d", ErrSyntax, j)
			}
			j += w
		}
	}
	return 0, false, xgwEOF()
}

// xgwCheckEscape checks the escape at b[i] == '\\' and returns its length.
func xgwCheckEscape(b []byte, i int) (int, error) {
	if i+1 >= len(b) {
		return 0, xgwEOF()
	}
	switch b[i+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return 2, nil
	case 'u':
		r := xgwHex4(b[i+2:])
		switch {
		case r < 0:
			return 0, fmt.Errorf("%w: invalid escape at byte %d", ErrSyntax, i)
		case 0xDC00 <= r && r < 0xE000:
			return 0, fmt.Errorf("%w: lone surrogate escape at byte %d", ErrSyntax, i)
		case 0xD800 <= r && r < 0xDC00:
			if len(b) < i+12 || b[i+6] != '\\' || b[i+7] != 'u' {
				return 0, fmt.Errorf("%w: lone surrogate escape at byte %d", ErrSyntax, i)
			}
			if r2 := xgwHex4(b[i+8:]); r2 < 0xDC00 || r2 >= 0xE000 {
				return 0, fmt.Errorf("%w: lone surrogate escape at byte %d", ErrSyntax, i)
			}
			return 12, nil
		}
		return 6, nil
	}
	return 0, fmt.Errorf("%w: invalid escape at byte %d", ErrSyntax, i)
}

// xgwHex4 returns the value of the 4 hex digits that b starts with, or -1.
func xgwHex4(b []byte) rune {
	if len(b) < 4 {
		return -1
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}

// xgwIsStringOrNull reports whether the value starting with c is a string
// or null.
func xgwIsStringOrNull(c byte) bool {
	return c == '"' || c == 'n'
}

// xgwSkipScalar checks the string, number, true, false or null at b[i].
func xgwSkipScalar(b []byte, i int) (int, error) {
	if i == len(b) {
		return 0, xgwEOF()
	}
	switch c := b[i]; {
	case c == '"':
		end, _, err := xgwScanString(b, i)
		return end, err
	case c == '-' || '0' <= c && c <= '9':
		return xgwScanNumber(b, i)
	case c == 't':
		return xgwLiteral(b, i, "true")
	case c == 'f':
		return xgwLiteral(b, i, "false")
	case c == 'n':
		return xgwLiteral(b, i, "null")
	}
	return 0, xgwBadChar(i)
}

func xgwLiteral(b []byte, i int, lit string) (int, error) {
	if len(b)-i < len(lit) {
		if string(b[i:]) == lit[:len(b)-i] {
			return 0, xgwEOF()
		}
		return 0, xgwBadChar(i)
	}
	if string(b[i:i+len(lit)]) != lit {
		return 0, xgwBadChar(i)
	}
	return i + len(lit), nil
}

// xgwScanNumber checks -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? at
// b[i]. What follows is the caller's to check.
func xgwScanNumber(b []byte, i int) (int, error) {
	start := i
	if b[i] == '-' {
		i++
	}
	digits := func() bool {
		d := i
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
		return i > d
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case !digits():
		return 0, fmt.Errorf("%w: invalid number at byte %d", ErrSyntax, start)
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			return 0, fmt.Errorf("%w: invalid number at byte %d", ErrSyntax, start)
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			return 0, fmt.Errorf("%w: invalid number at byte %d", ErrSyntax, start)
		}
	}
	return i, nil
}

// xgwSkipValue checks the top-level value at b[i], without recursion: a
// bit per level says whether it is an object or an array.
func xgwSkipValue(b []byte, i int) (int, error) {
	var isObject [(xgwMaxDepth + 63) / 64]uint64
	depth := 1 // the top-level object
	// Invariant at the top of the loop: a value starts at b[i].
	for {
		if i == len(b) {
			return 0, xgwEOF()
		}
		c := b[i]
		var err error
		if c == '{' || c == '[' {
			if depth == xgwMaxDepth {
				return 0, fmt.Errorf("%w: nesting deeper than %d at byte %d", ErrSyntax, xgwMaxDepth, i)
			}
			if c == '{' {
				isObject[depth/64] |= 1 << (depth % 64)
			} else {
				isObject[depth/64] &^= 1 << (depth % 64)
			}
			depth++
			if i = xgwSkipSpace(b, i+1); i == len(b) {
				return 0, xgwEOF()
			}
			if b[i] != c+2 { // ']' is '['+2 and '}' is '{'+2
				if c == '{' {
					if i, err = xgwSkipKey(b, i); err != nil {
						return 0, err
					}
				}
				continue
			}
			i++
			depth--
		} else if i, err = xgwSkipScalar(b, i); err != nil {
			return 0, err
		}
		// After a value: close containers until one has another element.
		for {
			if depth == 1 {
				return i, nil
			}
			object := isObject[(depth-1)/64]&(1<<((depth-1)%64)) != 0
			if i = xgwSkipSpace(b, i); i == len(b) {
				return 0, xgwEOF()
			}
			if b[i] == ',' {
				i = xgwSkipSpace(b, i+1)
				if object {
					if i, err = xgwSkipKey(b, i); err != nil {
						return 0, err
					}
				}
				break
			}
			if object && b[i] != '}' || !object && b[i] != ']' {
				return 0, xgwBadChar(i)
			}
			i++
			depth--
		}
	}
}

// xgwSkipKey checks a nested object's key and colon at b[i] and returns
// the offset of the value.
func xgwSkipKey(b []byte, i int) (int, error) {
	if i == len(b) {
		return 0, xgwEOF()
	}
	if b[i] != '"' {
		return 0, xgwBadChar(i)
	}
	i, _, err := xgwScanString(b, i)
	if err != nil {
		return 0, err
	}
	if i = xgwSkipSpace(b, i); i == len(b) {
		return 0, xgwEOF()
	}
	if b[i] != ':' {
		return 0, xgwBadChar(i)
	}
	return xgwSkipSpace(b, i+1), nil
}

// String decoding. The functions below take the raw content of a string
// that xgwScanString accepted, between the quotes, and decode it as
// encoding/json does.

// xgwDecodeEscape decodes the escape that s starts with and returns its
// length in s. A lone surrogate decodes as U+FFFD, as in encoding/json;
// xgwCheckEscape refuses them before.
func xgwDecodeEscape(s []byte) (rune, int) {
	if len(s) < 2 {
		return utf8.RuneError, len(s)
	}
	switch s[1] {
	case 'b':
		return '\b', 2
	case 'f':
		return '\f', 2
	case 'n':
		return '\n', 2
	case 'r':
		return '\r', 2
	case 't':
		return '\t', 2
	case 'u':
		r := xgwHex4(s[2:])
		if r < 0 {
			return utf8.RuneError, 2
		}
		if 0xD800 <= r && r < 0xDC00 && len(s) >= 12 && s[6] == '\\' && s[7] == 'u' {
			if r2 := xgwHex4(s[8:]); 0xDC00 <= r2 && r2 < 0xE000 {
				return 0x10000 + (r-0xD800)<<10 + (r2 - 0xDC00), 12
			}
		}
		if 0xD800 <= r && r < 0xE000 {
			return utf8.RuneError, 6
		}
		return r, 6
	}
	return rune(s[1]), 2 // '"', '\\' and '/' stand for themselves
}

// xgwNextRune decodes the first character of s and returns its length in s.
func xgwNextRune(s []byte) (rune, int) {
	if s[0] == '\\' {
		return xgwDecodeEscape(s)
	}
	if s[0] < utf8.RuneSelf {
		return rune(s[0]), 1
	}
	return utf8.DecodeRune(s)
}

// xgwUnescape decodes s, which has escapes.
func xgwUnescape(s []byte) string {
	var out strings.Builder
	out.Grow(len(s)) // a string never grows when unescaped
	for len(s) > 0 {
		j := bytes.IndexByte(s, '\\')
		if j < 0 {
			out.Write(s)
			break
		}
		out.Write(s[:j])
		r, w := xgwDecodeEscape(s[j:])
		out.WriteRune(r)
		s = s[j+w:]
	}
	return out.String()
}

// xgwUnescapeInto decodes s into dst and returns the length, or ok false
// if it does not fit.
func xgwUnescapeInto(dst, s []byte) (n int, ok bool) {
	for len(s) > 0 {
		j := bytes.IndexByte(s, '\\')
		if j < 0 {
			j = len(s)
		}
		if n+j > len(dst) {
			return 0, false
		}
		n += copy(dst[n:], s[:j])
		if s = s[j:]; len(s) == 0 {
			break
		}
		r, w := xgwDecodeEscape(s)
		if n+utf8.RuneLen(r) > len(dst) {
			return 0, false
		}
		n += utf8.EncodeRune(dst[n:], r)
		s = s[w:]
	}
	return n, true
}

// xgwHashKey returns the keyed hash of the unescaped s.
func xgwHashKey(s []byte, escaped bool) uint64 {
	if !escaped {
		return maphash.Bytes(xgwSeed, s)
	}
	var h maphash.Hash
	h.SetSeed(xgwSeed)
	var buf [utf8.UTFMax]byte
	for len(s) > 0 {
		j := bytes.IndexByte(s, '\\')
		if j < 0 {
			h.Write(s)
			break
		}
		h.Write(s[:j])
		r, w := xgwDecodeEscape(s[j:])
		h.Write(utf8.AppendRune(buf[:0], r))
		s = s[j+w:]
	}
	return h.Sum64()
}

// xgwSameKey reports whether a and b unescape to the same string.
func xgwSameKey(a, b []byte) bool {
	if bytes.IndexByte(a, '\\') < 0 && bytes.IndexByte(b, '\\') < 0 {
		return bytes.Equal(a, b)
	}
	for len(a) > 0 && len(b) > 0 {
		ra, wa := xgwNextRune(a)
		rb, wb := xgwNextRune(b)
		if ra != rb {
			return false
		}
		a, b = a[wa:], b[wb:]
	}
	return len(a) == 0 && len(b) == 0
}

// XGatewayHashedKeys returns the names of the fields XGateway hashes, in
// order, before the secret, for callbacks of type typ, or nil for another
// type.
func XGatewayHashedKeys(typ string) []string {
	switch typ {
	case XGatewayTypeKYC:
		return []string{"customerId"}
	case XGatewayTypeTransaction:
		return []string{"id", "customerId", "amount", "currency"}
	case XGatewayTypeBankAccount:
		return []string{"customerId", "currency"}
	}
	return nil
}

// FieldsAs returns the values of the fields a callback of type typ hashes,
// read from x as they are, without the format rules, and with na for a
// transaction's missing customer: for explaining why a hash does not match
// (the sender hashed another type's fields, or left out the "N/A").
func (x *XGateway) FieldsAs(typ, na string) []string {
	keys := XGatewayHashedKeys(typ)
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i], _ = x.String(k)
		if k == "customerId" && typ == XGatewayTypeTransaction && out[i] == "" {
			out[i] = na
		}
	}
	return out
}
