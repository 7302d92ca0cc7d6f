package kyccbtest

import (
	"crypto/rand"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/kyccb/kyccb"
)

// storeLease is the lease and done time of the entries TestStore waits to
// see expire: short, so the test is quick, and far above a store's clock
// granularity (Redis counts milliseconds).
const storeLease = 150 * time.Millisecond

// TestStore checks that s keeps the [kyccb.Store] contract: reservation,
// confirmation and release by token, expiry of leases and of done entries
// on the real clock, and one winner among concurrent reservations. It uses
// keys of its own, unlikely to exist in s, and leaves them to expire. Use
// it to test a store of your own; it takes about a second.
func TestStore(t *testing.T, s kyccb.Store) {
	t.Helper()
	var run [8]byte
	rand.Read(run[:])
	n := 0
	newKey := func() string {
		n++
		return fmt.Sprintf("sep12:kyccbtest-%x-%d", run, n)
	}
	const long = time.Minute

	t.Run("a fresh key is reserved with a token", func(t *testing.T) {
		key := newKey()
		tok := reserve(t, s, key, long, kyccb.StateReserved)
		if tok == "" {
			t.Fatal("Reserve returned an empty token with StateReserved")
		}
	})
	t.Run("a leased key is in progress for every other delivery", func(t *testing.T) {
		key := newKey()
		reserve(t, s, key, long, kyccb.StateReserved)
		if tok := reserve(t, s, key, long, kyccb.StateInProgress); tok != "" {
			t.Errorf("Reserve returned token %q with StateInProgress, want none", tok)
		}
	})
	t.Run("a released key is reserved again under a new token", func(t *testing.T) {
		key := newKey()
		tok := reserve(t, s, key, long, kyccb.StateReserved)
		release(t, s, key, tok)
		if tok2 := reserve(t, s, key, long, kyccb.StateReserved); tok2 == tok {
			t.Errorf("the second reservation reused token %q", tok)
		}
	})
	t.Run("release with another token changes nothing", func(t *testing.T) {
		key := newKey()
		tok := reserve(t, s, key, long, kyccb.StateReserved)
		release(t, s, key, tok+"x")
		release(t, s, key, "")
		reserve(t, s, key, long, kyccb.StateInProgress)
	})
	t.Run("a confirmed key is done and stays done", func(t *testing.T) {
		key := newKey()
		tok := reserve(t, s, key, long, kyccb.StateReserved)
		confirm(t, s, key, tok, long)
		reserve(t, s, key, long, kyccb.StateDone)
		release(t, s, key, tok)
		confirm(t, s, key, "another token", long)
		reserve(t, s, key, long, kyccb.StateDone)
	})
	t.Run("confirm with another token leaves the lease to its holder", func(t *testing.T) {
		key := newKey()
		tok := reserve(t, s, key, long, kyccb.StateReserved)
		confirm(t, s, key, tok+"x", long)
		reserve(t, s, key, long, kyccb.StateInProgress)
		confirm(t, s, key, tok, long)
		reserve(t, s, key, long, kyccb.StateDone)
	})
	t.Run("keys are independent and tokens unique", func(t *testing.T) {
		a, b := newKey(), newKey()
		ta := reserve(t, s, a, long, kyccb.StateReserved)
		tb := reserve(t, s, b, long, kyccb.StateReserved)
		if ta == tb {
			t.Errorf("two keys got the same token %q", ta)
		}
		confirm(t, s, a, ta, long)
		reserve(t, s, b, long, kyccb.StateInProgress)
		release(t, s, b, tb)
		reserve(t, s, a, long, kyccb.StateDone)
	})
	t.Run("one of many concurrent reservations wins", func(t *testing.T) {
		key := newKey()
		const n = 32
		states := make([]kyccb.State, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { _, states[i], errs[i] = s.Reserve(t.Context(), key, long) })
		}
		wg.Wait()
		won := 0
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("Reserve: %v", errs[i])
			}
			if states[i] == kyccb.StateReserved {
				won++
			} else if states[i] != kyccb.StateInProgress {
				t.Errorf("a concurrent Reserve returned %v", states[i])
			}
		}
		if won != 1 {
			t.Errorf("%d of %d concurrent reservations won, want 1", won, n)
		}
	})

	// The rest wait for entries to expire; they run in parallel with each
	// other.
	t.Run("expiry", func(t *testing.T) {
		t.Run("a lease ends by itself and its old token loses all say", func(t *testing.T) {
			key := newKey()
			t.Parallel()
			old := reserve(t, s, key, storeLease, kyccb.StateReserved)
			tok := eventually(t, s, key, long, kyccb.StateInProgress)
			if tok == old {
				t.Errorf("the new lease reused the expired lease's token")
			}
			release(t, s, key, old)
			confirm(t, s, key, old, long)
			reserve(t, s, key, long, kyccb.StateInProgress)
		})
		t.Run("a done key is forgotten after its TTL", func(t *testing.T) {
			key := newKey()
			t.Parallel()
			tok := reserve(t, s, key, long, kyccb.StateReserved)
			confirm(t, s, key, tok, storeLease)
			reserve(t, s, key, long, kyccb.StateDone)
			eventually(t, s, key, long, kyccb.StateDone)
		})
		t.Run("confirm after the lease ran out, untaken, records done", func(t *testing.T) {
			key := newKey()
			t.Parallel()
			tok := reserve(t, s, key, storeLease, kyccb.StateReserved)
			time.Sleep(3 * storeLease)
			confirm(t, s, key, tok, long)
			reserve(t, s, key, long, kyccb.StateDone)
		})
	})
}

// eventually reserves key until the state it finds is no longer was, then
// checks it reserved the key, and returns the token.
func eventually(t *testing.T, s kyccb.Store, key string, lease time.Duration, was kyccb.State) string {
	t.Helper()
	deadline := time.Now().Add(20 * storeLease)
	for {
		tok, state, err := s.Reserve(t.Context(), key, lease)
		if err != nil {
			t.Fatalf("Reserve: %v", err)
		}
		if state == kyccb.StateReserved {
			return tok
		}
		if state != was {
			t.Fatalf("Reserve returned %v while waiting for the entry to expire", state)
		}
		if time.Now().After(deadline) {
			t.Fatalf("still %v %s after it should have expired", state, 20*storeLease)
		}
		time.Sleep(storeLease / 5)
	}
}

func reserve(t *testing.T, s kyccb.Store, key string, lease time.Duration, want kyccb.State) string {
	t.Helper()
	tok, state, err := s.Reserve(t.Context(), key, lease)
	if err != nil {
		t.Fatalf("Reserve: %v", err)
	}
	if state != want {
		t.Fatalf("Reserve returned %v, want %v", state, want)
	}
	if state != kyccb.StateReserved && tok != "" {
		t.Errorf("Reserve returned a token with %v", state)
	}
	return tok
}

func confirm(t *testing.T, s kyccb.Store, key, token string, ttl time.Duration) {
	t.Helper()
	if err := s.Confirm(t.Context(), key, token, ttl); err != nil {
		t.Fatalf("Confirm: %v", err)
	}
}

func release(t *testing.T, s kyccb.Store, key, token string) {
	t.Helper()
	if err := s.Release(t.Context(), key, token); err != nil {
		t.Fatalf("Release: %v", err)
	}
}
