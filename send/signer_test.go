package send_test

import (
	"errors"
	"testing"
	"time"

	"github.com/kyccb/kyccb"
	"github.com/kyccb/kyccb/send"
)

func TestSignerKnownAnswer(t *testing.T) {
	// The Anchor Platform's own test key pair and signature.
	s, err := send.NewSigner("SAX3AH622R2XT6DXWWSRIDCMMUCCMATBZ5U6XKJWDO7M2EJUBFC3AW5X")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.Address(), "GCHLHDBOKG2JWMJQBTLSL5XG6NO7ESXI2TAQKZXCXWXB5WI2X6W233PR"; got != want {
		t.Fatalf("Address = %s, want %s", got, want)
	}
	want := "t=1700000000, s=zhS27io5UVNMVbz6ibyVg2bznNWdE8i7euf0z+Pmruun7OFRoWDufyVsJ+pv+bg/5oskWqiab942VB6SucUaCQ=="
	for _, host := range []string{"localhost:8092", "http://localhost:8092/callback"} {
		got, err := s.Sign(host, []byte("test_payload"), time.Unix(1700000000, 0))
		if err != nil || got != want {
			t.Errorf("Sign(%q) = %q, %v; want %q", host, got, err, want)
		}
	}
	if _, err := s.Sign("", []byte("x"), time.Now()); !errors.Is(err, kyccb.ErrConfig) {
		t.Errorf("Sign with an empty host: %v, want ErrConfig", err)
	}
}

// otherLastChar changes the last character of a strkey, which breaks its
// checksum.
func otherLastChar(s string) string {
	if s[len(s)-1] == 'A' {
		return s[:len(s)-1] + "B"
	}
	return s[:len(s)-1] + "A"
}
