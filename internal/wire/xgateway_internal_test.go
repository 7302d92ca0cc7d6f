package wire

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// caseImages returns what r becomes under Go's simple case mappings, its
// Turkish ones and its folding orbit, applied once or twice.
func caseImages(r rune) []rune {
	maps := []func(rune) rune{unicode.ToUpper, unicode.ToLower, unicode.ToTitle,
		unicode.TurkishCase.ToUpper, unicode.TurkishCase.ToLower, unicode.TurkishCase.ToTitle}
	var once []rune
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		once = append(once, f)
	}
	for _, m := range maps {
		if c := m(r); c != r {
			once = append(once, c)
		}
	}
	if len(once) == 0 {
		return nil // most runes have no case
	}
	out := once
	for _, s := range once {
		for _, m := range maps {
			out = append(out, m(s))
		}
	}
	return out
}

// TestXGatewayCaseASCII checks xgwCaseASCII against package unicode: every
// rune beyond ASCII that a simple case mapping or folding turns into an
// ASCII letter is listed, as that letter. The full mappings (ß to SS, the
// ligatures) are not in package unicode; they are from SpecialCasing.txt,
// the complete list of its mappings to ASCII letters only.
func TestXGatewayCaseASCII(t *testing.T) {
	full := map[rune]string{0x00DF: "ss", 0x1E9E: "ss", 0xFB00: "ff", 0xFB01: "fi", 0xFB02: "fl",
		0xFB03: "ffi", 0xFB04: "ffl", 0xFB05: "st", 0xFB06: "st"}
	for r := rune(utf8.RuneSelf); r <= unicode.MaxRune; r++ {
		want := full[r]
		for _, img := range caseImages(r) {
			if 'a' <= img && img <= 'z' || 'A' <= img && img <= 'Z' {
				want = strings.ToLower(string(img))
			}
		}
		if got := xgwCaseASCII(r); got != want {
			t.Errorf("xgwCaseASCII(%U) = %q, want %q", r, got, want)
		}
	}
}

// TestXGatewayFoldMax checks the bound that lets record skip the case
// check for long keys: a key that is a known key under a change of case
// stands for one or more of its letters with each rune, in at most
// xgwFoldMax/longest bytes.
func TestXGatewayFoldMax(t *testing.T) {
	longest := 0
	for _, k := range xgwKeys {
		longest = max(longest, len(k))
		for _, c := range []byte(k) {
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
				t.Fatalf("known key %s is not all letters, which xgwCaseIndex assumes", k)
			}
		}
	}
	widest := 1
	for r := rune(utf8.RuneSelf); r <= unicode.MaxRune; r++ {
		if xgwCaseASCII(r) != "" {
			widest = max(widest, utf8.RuneLen(r))
		}
	}
	if xgwFoldMax < longest*widest {
		t.Fatalf("xgwFoldMax = %d, want at least %d keys' bytes x %d", xgwFoldMax, longest, widest)
	}
}
