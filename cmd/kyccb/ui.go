package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"sync"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// style colours terminal output. The zero value prints plain text.
type style struct{ color bool }

// newStyle colours output only for a terminal, and never when NO_COLOR is
// set (https://no-color.org): a pipe or a file gets plain text.
func newStyle(w io.Writer) style {
	f, ok := w.(*os.File)
	if !ok || os.Getenv("NO_COLOR") != "" {
		return style{}
	}
	fi, err := f.Stat()
	return style{color: err == nil && fi.Mode()&os.ModeCharDevice != 0}
}

func (s style) paint(code, text string) string {
	if !s.color || text == "" {
		return text
	}
	return "\x1b[" + code + "m" + text + "\x1b[0m"
}

func (s style) green(t string) string  { return s.paint("32", t) }
func (s style) red(t string) string    { return s.paint("31", t) }
func (s style) yellow(t string) string { return s.paint("33", t) }
func (s style) bold(t string) string   { return s.paint("1", t) }
func (s style) dim(t string) string    { return s.paint("2", t) }

// verdictWord returns "accepted" in green or "rejected" in red.
func (s style) verdictWord(accepted bool) string {
	if accepted {
		return s.green("accepted")
	}
	return s.red("rejected")
}

// field is one labelled line of a block of output; paint, if set,
// colours each line of the value. A value is one line of text: its
// control characters, new lines included, are printed escaped. A field
// of several lines (a diagnosis) gives them in lines instead.
type field struct {
	label, value string
	paint        func(string) string
	lines        []string // used instead of value when not nil
}

// termSafe returns s with every character that can steer a terminal or
// hide in it written out as an escape: C0 controls (new line and tab
// included), DEL, C1 controls and bytes that are not UTF-8 as \xNN; the
// line and paragraph separators U+2028 and U+2029, and every format
// character (Unicode category Cf: the direction controls U+061C, U+200E,
// U+200F, U+202A-U+202E and U+2066-U+2069, the zero-width space, joiners
// and word joiner U+200B-U+200D and U+2060, the byte order mark U+FEFF,
// the soft hyphen, the tag characters) as \uNNNN or \U00NNNNNN. Request
// paths, unverified bodies, replies and anchors' messages are the
// sender's text: unescaped, an ESC sequence or a carriage return in one
// could paint a fake "accepted" line, a right-to-left override could
// reverse what follows, a line separator could break a line where the
// terminal or a log viewer does, and a zero-width character could make two
// different ids look alike. (An emoji joined with U+200D shows escaped:
// the price of the rule.) Every printer of text output passes what it did
// not write itself through termSafe, before colouring it.
func termSafe(s string) string {
	i := 0
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		if unsafeRune(r, n) {
			break
		}
		i += n
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.WriteString(s[:i])
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1, r < 0x80 && unsafeRune(r, n):
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case unsafeRune(r, n) && r > 0xffff:
			fmt.Fprintf(&b, `\U%08x`, r)
		case unsafeRune(r, n):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// unsafeRune reports whether r, n bytes of UTF-8, can steer a terminal
// (see termSafe).
func unsafeRune(r rune, n int) bool {
	switch {
	case r == utf8.RuneError && n == 1: // a byte that is not UTF-8
		return true
	case r < 0x20, r >= 0x7f && r <= 0x9f:
		return true
	case r < 0xa0:
		return false
	case r == 0x2028, r == 0x2029:
		return true
	}
	return unicode.Is(unicode.Cf, r)
}

// wrapWidth is where writeFields wraps long values: diagnoses are
// sentences, and a terminal's own wrapping would lose the alignment.
const wrapWidth = 100

// writeFields prints fields as an aligned two-column block, each line
// starting with indent. Long values wrap at word boundaries, aligned.
func writeFields(w io.Writer, st style, indent string, fields []field) {
	width := 0
	for _, f := range fields {
		width = max(width, len(f.label))
	}
	pad := indent + strings.Repeat(" ", width+2)
	for _, f := range fields {
		values := f.lines
		if values == nil {
			values = []string{f.value}
		}
		var lines []string
		for _, v := range values {
			lines = append(lines, wrap(termSafe(v), max(40, wrapWidth-len(pad)))...)
		}
		f.label = termSafe(f.label)
		for i, l := range lines {
			if f.paint != nil {
				l = f.paint(l)
			}
			if i == 0 {
				fmt.Fprintf(w, "%s%s%s%s\n", indent, st.dim(f.label), strings.Repeat(" ", width+2-len(f.label)), l)
			} else {
				fmt.Fprintf(w, "%s%s\n", pad, l)
			}
		}
	}
}

// wrap breaks s into lines of at most n bytes at spaces; a longer word
// (a key, a URL) gets a line of its own.
func wrap(s string, n int) []string {
	var lines []string
	for len(s) > n {
		cut := strings.LastIndexByte(s[:n+1], ' ')
		if cut <= 0 {
			if cut = strings.IndexByte(s, ' '); cut < 0 {
				break
			}
		}
		lines = append(lines, s[:cut])
		s = strings.TrimLeft(s[cut:], " ")
	}
	return append(lines, s)
}

// jsonLines writes one JSON object per line; it is safe for concurrent use,
// so that callbacks handled at once never interleave their lines.
type jsonLines struct {
	mu sync.Mutex
	w  io.Writer
}

func (j *jsonLines) write(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	b = jsonSafe(b)
	j.mu.Lock()
	defer j.mu.Unlock()
	_, err = j.w.Write(append(b, '\n'))
	return err
}

// jsonSafe escapes, in JSON that encoding/json wrote, what it leaves raw
// but a terminal showing the line would obey or hide: DEL, the C1
// controls and the format characters of termSafe, as \uNNNN (a UTF-16
// pair beyond U+FFFF). (encoding/json escapes the C0
// controls itself, and writes bytes that are not UTF-8 as U+FFFD.) Outside
// strings such JSON is ASCII, so every match is inside a string, where
// \uNNNN means the same character: the JSON decodes to the same values.
func jsonSafe(js []byte) []byte {
	i := 0
	for i < len(js) {
		r, n := utf8.DecodeRune(js[i:])
		if r >= 0x20 && unsafeRune(r, n) {
			break
		}
		i += n
	}
	if i == len(js) {
		return js
	}
	var b bytes.Buffer
	b.Write(js[:i])
	for i < len(js) {
		r, n := utf8.DecodeRune(js[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			b.WriteString(`\ufffd`)
		case r > 0xffff && unsafeRune(r, n):
			r1, r2 := utf16.EncodeRune(r) // JSON escapes are UTF-16
			fmt.Fprintf(&b, `\u%04x\u%04x`, r1, r2)
		case r >= 0x20 && unsafeRune(r, n):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.Write(js[i : i+n])
		}
		i += n
	}
	return b.Bytes()
}

// displayURL returns raw for printing, text or JSON, without what may be
// a secret: a query (callback URLs often carry a token there) and a
// password are replaced by "REDACTED", and a fragment is dropped. What is
// no URL is returned as it is.
func displayURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		if i := strings.IndexAny(raw, "?#"); i >= 0 {
			return raw[:i] // cannot parse it: keep only what comes before
		}
		return raw
	}
	if u.RawQuery != "" || u.ForceQuery {
		u.RawQuery, u.ForceQuery = "REDACTED", false
	}
	u.Fragment, u.RawFragment = "", ""
	return u.Redacted()
}

// plural returns "1 attempt", "2 attempts".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
