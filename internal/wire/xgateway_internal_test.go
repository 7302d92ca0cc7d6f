package wire

import (
	"testing"
	"unicode"
	"unicode/utf8"
)

// TestXGatewayFoldMax checks the bound that lets record skip the folding
// check for long keys: a key that equals a known key under
// strings.EqualFold has as many runes, each folding to an ASCII letter.
func TestXGatewayFoldMax(t *testing.T) {
	longest := 0
	for _, k := range xgwKeys {
		longest = max(longest, len(k))
	}
	widest := 1
	for r := rune(utf8.RuneSelf); r <= unicode.MaxRune; r++ {
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if f < utf8.RuneSelf {
				widest = max(widest, utf8.RuneLen(r))
			}
		}
	}
	if xgwFoldMax < longest*widest {
		t.Fatalf("xgwFoldMax = %d, want at least %d keys' bytes x %d", xgwFoldMax, longest, widest)
	}
}
