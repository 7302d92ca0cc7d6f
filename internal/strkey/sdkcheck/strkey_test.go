package sdkcheck_test

import (
	"bytes"
	"crypto/rand"
	"strings"
	"testing"

	"github.com/kyccb/kyccb/internal/strkey"
	sdk "github.com/stellar/go-stellar-sdk/strkey"
)

// The Anchor Platform's test key pair.
const (
	seed    = "SAX3AH622R2XT6DXWWSRIDCMMUCCMATBZ5U6XKJWDO7M2EJUBFC3AW5X"
	address = "GCHLHDBOKG2JWMJQBTLSL5XG6NO7ESXI2TAQKZXCXWXB5WI2X6W233PR"
)

var versions = []struct {
	ours strkey.VersionByte
	sdk  sdk.VersionByte
}{
	{strkey.VersionByteAccountID, sdk.VersionByteAccountID},
	{strkey.VersionByteSeed, sdk.VersionByteSeed},
}

// check compares both packages on src: where ours decodes, go-stellar-sdk
// must decode the same bytes; where go-stellar-sdk decodes and ours does
// not, src must hold a CR or LF, which ours refuses on purpose.
func check(t *testing.T, src string) {
	t.Helper()
	for _, v := range versions {
		got, err := strkey.Decode(v.ours, src)
		want, sdkErr := sdk.Decode(v.sdk, src)
		switch {
		case err == nil && (sdkErr != nil || !bytes.Equal(got, want)):
			t.Fatalf("Decode(%d, %q) = %x, go-stellar-sdk: %x, %v", v.ours, src, got, want, sdkErr)
		case err != nil && sdkErr == nil && !strings.ContainsAny(src, "\r\n"):
			t.Fatalf("Decode(%d, %q): %v; go-stellar-sdk decodes it", v.ours, src, err)
		}
	}
	if v, err := strkey.Version(src); err == nil {
		if sv, sdkErr := sdk.Version(src); sdkErr != nil || byte(sv) != byte(v) {
			t.Fatalf("Version(%q) = %d, go-stellar-sdk: %d, %v", src, v, sv, sdkErr)
		}
	}
}

func TestKnownKeys(t *testing.T) {
	pub, err := strkey.Decode(strkey.VersionByteAccountID, address)
	if err != nil {
		t.Fatal(err)
	}
	if enc, err := strkey.Encode(strkey.VersionByteAccountID, pub); err != nil || enc != address {
		t.Fatalf("Encode = %s, %v; want %s", enc, err, address)
	}
	raw, err := strkey.Decode(strkey.VersionByteSeed, seed)
	if err != nil {
		t.Fatal(err)
	}
	if enc, err := strkey.Encode(strkey.VersionByteSeed, raw); err != nil || enc != seed {
		t.Fatalf("Encode = %s, %v; want %s", enc, err, seed)
	}
	if v, err := strkey.Version(seed); err != nil || v != strkey.VersionByteSeed {
		t.Fatalf("Version(seed) = %d, %v", v, err)
	}
	if _, err := strkey.Decode(strkey.VersionByteAccountID, seed); err != strkey.ErrInvalidVersionByte {
		t.Fatalf("a seed decoded as an account: %v", err)
	}
	if _, err := strkey.Decode(strkey.VersionByteAccountID, address[:55]+"A"); err != strkey.ErrChecksum { // address ends in R
		t.Fatalf("a changed last character: %v, want ErrChecksum", err)
	}
	if _, err := strkey.Decode(strkey.VersionByteAccountID, address[:20]+"\n"+address[20:55]); err == nil {
		t.Fatal("a strkey with a newline inside decoded")
	}
	if _, err := strkey.Encode(strkey.VersionByteSeed, raw[:31]); err == nil {
		t.Fatal("Encode of 31 bytes succeeded")
	}
}

// TestAgainstSDK encodes random keys with both packages, and decodes them
// and every one-character change of them.
func TestAgainstSDK(t *testing.T) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	for range 200 {
		payload := make([]byte, 32)
		rand.Read(payload)
		for _, v := range versions {
			ours, err := strkey.Encode(v.ours, payload)
			if err != nil {
				t.Fatal(err)
			}
			if want := sdk.MustEncode(v.sdk, payload); ours != want {
				t.Fatalf("Encode = %s, go-stellar-sdk %s", ours, want)
			}
			check(t, ours)
			b := []byte(ours)
			i := int(payload[0]) % len(b)
			for _, c := range []byte(alphabet + "a1=\n") {
				orig := b[i]
				b[i] = c
				check(t, string(b))
				b[i] = orig
			}
			check(t, ours[:55])
			check(t, ours+"A")
		}
	}
}

func FuzzAgainstSDK(f *testing.F) {
	for _, s := range []string{seed, address, "", "G", address + "\n", "MA7QYNF7SOWQ3GLR2BGMZEHXAVIRZA4KVWLTJJFC7MGXUA74P7UJUAAAAAAAAAAAACJUQ"} {
		f.Add(s)
	}
	f.Fuzz(check)
}
