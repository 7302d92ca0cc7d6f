package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
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
// colours each line of the value.
type field struct {
	label, value string
	paint        func(string) string
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
		var lines []string
		for l := range strings.SplitSeq(f.value, "\n") {
			lines = append(lines, wrap(l, max(40, wrapWidth-len(pad)))...)
		}
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
	j.mu.Lock()
	defer j.mu.Unlock()
	_, err = j.w.Write(append(b, '\n'))
	return err
}
