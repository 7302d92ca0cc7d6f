package kyccbtest

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kyccb/kyccb"
)

// storeLease is the lease and TTL of the entries TestStore waits to see
// expire: short, so that the test is quick, and far above a store's clock
// granularity (Redis counts milliseconds).
const storeLease = 150 * time.Millisecond

// The bodies of one customer's callbacks, as the Anchor Platform sends them
// when a review goes ACCEPTED, then NEEDS_INFO, then ACCEPTED again.
const (
	accepted  = `{"id":"kyccbtest","status":"ACCEPTED"}`
	needsInfo = `{"id":"kyccbtest","status":"NEEDS_INFO","fields":{"photo_id_front":{"type":"binary","description":"a photo of your ID"}}}`
)

// fingerprint returns what the handler passes for body: its SHA-256 in hex.
func fingerprint(body string) string {
	sum := sha256.Sum256([]byte(body))
	return hex.EncodeToString(sum[:])
}

// TestStore checks that s keeps the [kyccb.Store] contract: a lease per
// key, taken by one delivery at a time and ended by its token; the
// fingerprint last applied per key, so that a redelivery of it is a
// duplicate while any other body (a customer going back to an earlier
// status) is processed; the signatures applied per key, so that a request
// sent again is a replay, while one released stays retryable; the newest
// updated_at applied per key, so that an older transaction status is
// stale while an equal one or none is processed; the order of those
// answers; expiry of leases, applied records and signatures, each on its
// own, on the real clock; tokens unique across keys; and one winner among
// concurrent reservations. It uses keys of its own, unlikely to exist in
// s, and leaves them to expire. Use it to test a store of your own; it
// takes about a second.
//
// When a delivery holds the lease and a redelivery of the body last
// applied comes in, a store answers [kyccb.ErrDuplicate]: a 503 would bring
// its retry after the other delivery, as a change back to an older status.
func TestStore(t *testing.T, s kyccb.Store) {
	t.Helper()
	var run [8]byte
	rand.Read(run[:])
	var n atomic.Int64
	newKey := func() string {
		return fmt.Sprintf("sep12:id:kyccbtest-%x-%d", run, n.Add(1))
	}
	c := &storeChecker{s: s}
	acc, info, other := fingerprint(accepted), fingerprint(needsInfo), fingerprint("{}")
	const long = time.Minute

	t.Run("a fresh key is reserved with a token", func(t *testing.T) {
		c.reserve(t, newKey(), acc, long)
	})
	t.Run("a leased key is in progress for every other delivery, whatever its body", func(t *testing.T) {
		key := newKey()
		c.reserve(t, key, acc, long)
		c.inProgress(t, key, acc)
		c.inProgress(t, key, info)
	})
	t.Run("a redelivery of the body last applied is a duplicate", func(t *testing.T) {
		key := newKey()
		tok := c.reserve(t, key, acc, long)
		c.confirm(t, key, tok, acc, long)
		c.duplicate(t, key, acc)
		c.duplicate(t, key, acc)
	})
	t.Run("ACCEPTED, NEEDS_INFO, ACCEPTED again: each is processed", func(t *testing.T) {
		// The regression that made the key the customer: a store that
		// remembers every body it applied suppresses the return to
		// ACCEPTED. Only the last one counts.
		key := newKey()
		for _, body := range []string{acc, info, acc} {
			tok := c.reserve(t, key, body, long)
			c.confirm(t, key, tok, body, long)
			c.duplicate(t, key, body)
		}
		tok := c.reserve(t, key, info, long)
		c.release(t, key, tok)
		c.duplicate(t, key, acc)
	})
	t.Run("a released lease leaves the body applied before it", func(t *testing.T) {
		key := newKey()
		tok := c.reserve(t, key, acc, long)
		c.confirm(t, key, tok, acc, long)
		tok = c.reserve(t, key, info, long)
		c.release(t, key, tok)
		c.duplicate(t, key, acc)
		if tok2 := c.reserve(t, key, info, long); tok2 == tok {
			t.Errorf("the lease taken after a release reused token %q", tok)
		}
	})
	t.Run("release with another token changes nothing", func(t *testing.T) {
		key := newKey()
		tok := c.reserve(t, key, acc, long)
		c.release(t, key, tok+"x")
		c.release(t, key, "")
		c.inProgress(t, key, info)
		c.release(t, key, tok)
		c.reserve(t, key, info, long)
	})
	t.Run("confirm ends the lease", func(t *testing.T) {
		key := newKey()
		tok := c.reserve(t, key, acc, long)
		c.confirm(t, key, tok, acc, long)
		tok2 := c.reserve(t, key, info, long)
		// tok no longer holds anything: it can neither end nor
		// confirm over the new lease.
		c.release(t, key, tok)
		c.confirm(t, key, tok, other, long)
		c.inProgress(t, key, other)
		c.release(t, key, tok2)
		c.duplicate(t, key, acc)
		c.reserve(t, key, other, long)
	})
	t.Run("confirm under another token changes nothing", func(t *testing.T) {
		key := newKey()
		tok := c.reserve(t, key, acc, long)
		c.confirm(t, key, tok, acc, long)
		tok = c.reserve(t, key, info, long)
		c.confirm(t, key, tok+"x", other, long)
		c.confirm(t, key, "", other, long)
		c.inProgress(t, key, other)
		c.release(t, key, tok)
		// Neither other was recorded nor the record of acc replaced.
		c.duplicate(t, key, acc)
		tok = c.reserve(t, key, other, long)
		c.confirm(t, key, tok, other, long)
		c.duplicate(t, key, other)
	})
	t.Run("a redelivery of the applied body during another's lease is a duplicate", func(t *testing.T) {
		key := newKey()
		tok := c.reserve(t, key, acc, long)
		c.confirm(t, key, tok, acc, long)
		c.reserve(t, key, info, long)
		tok, err := s.Reserve(t.Context(), key, kyccb.Delivery{Fingerprint: acc}, long)
		if !errors.Is(err, kyccb.ErrDuplicate) || tok != "" {
			t.Errorf("Reserve = %q, %v; want ErrDuplicate and no token", tok, err)
		}
	})
	t.Run("keys are independent", func(t *testing.T) {
		a, b := newKey(), newKey()
		ta := c.reserve(t, a, acc, long)
		tb := c.reserve(t, b, acc, long)
		c.confirm(t, a, ta, acc, long)
		c.inProgress(t, b, acc)
		c.release(t, b, tb)
		c.reserve(t, b, acc, long) // a's record is not b's
		c.duplicate(t, a, acc)
	})
	t.Run("tokens are unique across keys and leases", func(t *testing.T) {
		seen := map[string]string{}
		note := func(tok, what string) {
			if prev, ok := seen[tok]; ok {
				t.Errorf("token %q was handed out for %s and again for %s", tok, prev, what)
			}
			seen[tok] = what
		}
		for i := range 20 {
			key := newKey()
			tok := c.reserve(t, key, acc, long)
			note(tok, fmt.Sprintf("key %d's first lease", i))
			c.release(t, key, tok)
			tok = c.reserve(t, key, acc, long)
			note(tok, fmt.Sprintf("key %d's second lease", i))
		}
	})
	t.Run("of many concurrent reservations of one key, one wins", func(t *testing.T) {
		key := newKey()
		const n = 32
		tokens := make([]string, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			// Half redeliver one body, half bring others.
			fp := acc
			if i%2 == 1 {
				fp = fingerprint(fmt.Sprint(i))
			}
			wg.Go(func() { tokens[i], errs[i] = s.Reserve(t.Context(), key, kyccb.Delivery{Fingerprint: fp}, long) })
		}
		wg.Wait()
		won := 0
		for i := range n {
			switch {
			case errs[i] == nil && tokens[i] != "":
				won++
			case errors.Is(errs[i], kyccb.ErrDuplicateInProgress):
			default:
				t.Errorf("a concurrent Reserve returned %q, %v", tokens[i], errs[i])
			}
		}
		if won != 1 {
			t.Errorf("%d of %d concurrent reservations won, want 1", won, n)
		}
	})
	t.Run("many concurrent deliveries of one body apply it once", func(t *testing.T) {
		// Each delivery retries while another holds the lease, as
		// senders do after a 503, until it applies the body or learns
		// that another did.
		key := newKey()
		var applied atomic.Int64
		var wg sync.WaitGroup
		for range 16 {
			wg.Go(func() {
				deadline := time.Now().Add(10 * time.Second)
				for time.Now().Before(deadline) {
					tok, err := s.Reserve(t.Context(), key, kyccb.Delivery{Fingerprint: acc}, long)
					switch {
					case err == nil:
						applied.Add(1)
						if err := s.Confirm(t.Context(), key, tok, kyccb.Delivery{Fingerprint: acc}, long); err != nil {
							t.Errorf("Confirm: %v", err)
						}
						return
					case errors.Is(err, kyccb.ErrDuplicate):
						return
					case !errors.Is(err, kyccb.ErrDuplicateInProgress):
						t.Errorf("Reserve: %v", err)
						return
					}
					time.Sleep(time.Millisecond)
				}
				t.Errorf("a delivery was still in progress after 10s")
			})
		}
		wg.Wait()
		if n := applied.Load(); n != 1 {
			t.Errorf("the body was applied %d times, want 1", n)
		}
	})

	// Replays: a signed request applied before, sent again.
	sig1, sig2 := fingerprint("signature 1"), fingerprint("signature 2")
	signed := func(fp, sig string) kyccb.Delivery {
		return kyccb.Delivery{Fingerprint: fp, Signature: sig, SignatureTTL: long}
	}
	t.Run("a signature applied is a replay, whatever the body and even during another's lease", func(t *testing.T) {
		// ACCEPTED, REJECTED, then the ACCEPTED request captured and sent
		// again: its body is no longer the last applied, its signature is
		// still remembered.
		key := newKey()
		tok := c.reserveD(t, key, signed(acc, sig1), long)
		c.confirmD(t, key, tok, signed(acc, sig1), long)
		c.refusedD(t, key, signed(acc, sig1), kyccb.ErrReplay)
		tok = c.reserveD(t, key, signed(info, sig2), long)
		c.refusedD(t, key, signed(acc, sig1), kyccb.ErrReplay)
		c.confirmD(t, key, tok, signed(info, sig2), long)
		c.refusedD(t, key, signed(acc, sig1), kyccb.ErrReplay)
		c.refusedD(t, key, signed(other, sig2), kyccb.ErrReplay)
		// The same body signed anew is a genuine return to ACCEPTED.
		c.reserveD(t, key, signed(acc, fingerprint("signature 3")), long)
	})
	t.Run("a released delivery leaves its signature unrecorded, so the same request is retried", func(t *testing.T) {
		key := newKey()
		tok := c.reserveD(t, key, signed(acc, sig1), long)
		c.release(t, key, tok)
		tok = c.reserveD(t, key, signed(acc, sig1), long)
		c.confirmD(t, key, tok, signed(acc, sig1), long)
		c.refusedD(t, key, signed(acc, sig1), kyccb.ErrReplay)
	})
	t.Run("confirm under another token records no signature", func(t *testing.T) {
		key := newKey()
		tok := c.reserveD(t, key, signed(acc, sig1), long)
		c.confirmD(t, key, tok+"x", signed(info, sig2), long)
		c.release(t, key, tok)
		c.reserveD(t, key, signed(info, sig2), long)
	})
	t.Run("requests without a signature are never replays", func(t *testing.T) {
		key := newKey()
		tok := c.reserveD(t, key, kyccb.Delivery{Fingerprint: acc}, long)
		c.confirmD(t, key, tok, kyccb.Delivery{Fingerprint: acc}, long)
		tok = c.reserveD(t, key, kyccb.Delivery{Fingerprint: info}, long)
		c.confirmD(t, key, tok, kyccb.Delivery{Fingerprint: info}, long)
		c.reserveD(t, key, kyccb.Delivery{Fingerprint: acc}, long)
	})

	// Order: the issue 15 sequence of one transaction's callbacks.
	at := func(hhmm string) time.Time {
		v, err := time.Parse(time.RFC3339, "2026-12-02T"+hhmm+":00Z")
		if err != nil {
			panic(err)
		}
		return v
	}
	completed, pending, refunded := fingerprint(`{"transaction":{"status":"completed"}}`), fingerprint(`{"transaction":{"status":"pending_anchor"}}`), fingerprint(`{"transaction":{"status":"refunded"}}`)
	tx := func(fp string, updated time.Time) kyccb.Delivery {
		return kyccb.Delivery{Fingerprint: fp, UpdatedAt: updated}
	}
	t.Run("completed, a delayed pending_anchor, completed again, refunded: the older one is stale", func(t *testing.T) {
		key := newKey()
		tok := c.reserveD(t, key, tx(completed, at("10:05")), long)
		c.confirmD(t, key, tok, tx(completed, at("10:05")), long)
		c.refusedD(t, key, tx(pending, at("10:01")), kyccb.ErrStale)
		c.refusedD(t, key, tx(completed, at("10:05")), kyccb.ErrDuplicate)
		tok = c.reserveD(t, key, tx(refunded, at("10:07")), long)
		c.confirmD(t, key, tok, tx(refunded, at("10:07")), long)
		c.refusedD(t, key, tx(completed, at("10:05")), kyccb.ErrStale)
		c.refusedD(t, key, tx(pending, at("10:01")), kyccb.ErrStale)
	})
	t.Run("the same updated_at with another body, and no updated_at, are processed", func(t *testing.T) {
		key := newKey()
		tok := c.reserveD(t, key, tx(completed, at("10:05")), long)
		c.confirmD(t, key, tok, tx(completed, at("10:05")), long)
		tok = c.reserveD(t, key, tx(refunded, at("10:05")), long)
		c.release(t, key, tok)
		tok = c.reserveD(t, key, tx(pending, time.Time{}), long)
		c.confirmD(t, key, tok, tx(pending, time.Time{}), long)
		// A delivery without updated_at left the watermark where it was.
		c.refusedD(t, key, tx(refunded, at("10:04")), kyccb.ErrStale)
	})
	t.Run("the watermark never goes back and compares instants to the nanosecond", func(t *testing.T) {
		key := newKey()
		mark := at("10:05").Add(2)
		tok := c.reserveD(t, key, tx(completed, mark), long)
		c.confirmD(t, key, tok, tx(completed, mark), long)
		// A delivery reserved without updated_at but confirmed with an
		// older one (a store shared with a handler of another kind)
		// does not lower it.
		tok = c.reserveD(t, key, tx(pending, time.Time{}), long)
		c.confirmD(t, key, tok, tx(pending, at("10:01")), long)
		c.refusedD(t, key, tx(refunded, mark.Add(-1)), kyccb.ErrStale)
		// The same instant in another zone is not older.
		c.reserveD(t, key, tx(refunded, mark.In(time.FixedZone("UTC+2", 2*3600))), long)
	})
	t.Run("an older delivery is stale even during another's lease", func(t *testing.T) {
		key := newKey()
		tok := c.reserveD(t, key, tx(completed, at("10:05")), long)
		c.confirmD(t, key, tok, tx(completed, at("10:05")), long)
		c.reserveD(t, key, tx(refunded, at("10:07")), long)
		c.refusedD(t, key, tx(pending, at("10:01")), kyccb.ErrStale)
		c.refusedD(t, key, tx(other, at("10:06")), kyccb.ErrDuplicateInProgress)
	})
	t.Run("replay is answered before duplicate, duplicate before stale", func(t *testing.T) {
		key := newKey()
		d := kyccb.Delivery{Fingerprint: completed, Signature: sig1, SignatureTTL: long, UpdatedAt: at("10:05")}
		tok := c.reserveD(t, key, d, long)
		c.confirmD(t, key, tok, d, long)
		c.refusedD(t, key, kyccb.Delivery{Fingerprint: completed, Signature: sig1, UpdatedAt: at("10:01")}, kyccb.ErrReplay)
		c.refusedD(t, key, kyccb.Delivery{Fingerprint: completed, Signature: sig2, UpdatedAt: at("10:01")}, kyccb.ErrDuplicate)
	})
	t.Run("transactions keep separate watermarks", func(t *testing.T) {
		a, b := newKey(), newKey()
		tok := c.reserveD(t, a, tx(completed, at("10:05")), long)
		c.confirmD(t, a, tok, tx(completed, at("10:05")), long)
		tok = c.reserveD(t, b, tx(pending, at("10:01")), long)
		c.confirmD(t, b, tok, tx(pending, at("10:01")), long)
		c.refusedD(t, a, tx(pending, at("10:01")), kyccb.ErrStale)
	})

	// The rest wait for entries to expire; they run in parallel with each
	// other.
	t.Run("expiry", func(t *testing.T) {
		t.Run("a signature is forgotten after its own TTL, not the record's", func(t *testing.T) {
			t.Parallel()
			key := newKey()
			d := kyccb.Delivery{Fingerprint: acc, Signature: sig1, SignatureTTL: storeLease}
			tok := c.reserveD(t, key, d, long)
			c.confirmD(t, key, tok, d, long)
			c.eventuallyD(t, key, signed(info, sig1), long)
		})
		t.Run("a signature outlives the applied record when its TTL is longer", func(t *testing.T) {
			t.Parallel()
			key := newKey()
			tok := c.reserveD(t, key, signed(acc, sig1), long)
			c.confirmD(t, key, tok, signed(acc, sig1), storeLease)
			time.Sleep(3 * storeLease)
			c.refusedD(t, key, signed(acc, sig1), kyccb.ErrReplay)
			c.reserveD(t, key, signed(acc, sig2), long) // the record of acc expired
		})
		t.Run("the watermark is forgotten with the applied record after its TTL", func(t *testing.T) {
			t.Parallel()
			key := newKey()
			tok := c.reserveD(t, key, tx(completed, at("10:05")), long)
			c.confirmD(t, key, tok, tx(completed, at("10:05")), storeLease)
			c.eventuallyD(t, key, tx(pending, at("10:01")), long)
		})

		t.Run("a lease ends by itself and its old token loses all say", func(t *testing.T) {
			t.Parallel()
			key := newKey()
			old := c.reserve(t, key, acc, storeLease)
			tok := c.eventually(t, key, info, long)
			if tok == old {
				t.Errorf("the new lease reused the expired lease's token")
			}
			c.release(t, key, old)
			c.confirm(t, key, old, acc, long)
			c.inProgress(t, key, other)
			c.release(t, key, tok)
			c.reserve(t, key, acc, long) // the old token recorded nothing
		})
		t.Run("an applied record is forgotten after its TTL", func(t *testing.T) {
			t.Parallel()
			key := newKey()
			tok := c.reserve(t, key, acc, long)
			start := time.Now()
			c.confirm(t, key, tok, acc, storeLease)
			c.duplicateWithin(t, key, acc, start, storeLease)
			c.eventually(t, key, acc, long)
		})
		t.Run("a lease leaves the applied record's TTL as it is", func(t *testing.T) {
			t.Parallel()
			key := newKey()
			tok := c.reserve(t, key, acc, long)
			c.confirm(t, key, tok, acc, storeLease)
			tok = c.reserve(t, key, info, long)
			c.release(t, key, tok)
			c.eventually(t, key, acc, long)
		})
		t.Run("a lease that ends by itself leaves the applied record", func(t *testing.T) {
			t.Parallel()
			key := newKey()
			tok := c.reserve(t, key, acc, long)
			c.confirm(t, key, tok, acc, long)
			c.reserve(t, key, info, storeLease)
			time.Sleep(3 * storeLease)
			c.duplicate(t, key, acc)
			c.reserve(t, key, info, long)
		})
		t.Run("confirm after the lease ran out, untaken, records", func(t *testing.T) {
			t.Parallel()
			key := newKey()
			tok := c.reserve(t, key, acc, storeLease)
			time.Sleep(3 * storeLease)
			if _, ok := s.(kyccb.BindingStore); ok {
				// A binding store's lease holds the function's writes:
				// when it ran out they were lost, and recording the body
				// would make the sender's retry a duplicate.
				if err := s.Confirm(t.Context(), key, tok, kyccb.Delivery{Fingerprint: acc}, long); err == nil {
					t.Fatal("a BindingStore confirmed a lease that ran out, want an error")
				}
				c.reserve(t, key, acc, long)
				return
			}
			c.confirm(t, key, tok, acc, long)
			c.duplicate(t, key, acc)
			// The late confirm did not take the lease back either.
			c.reserve(t, key, info, long)
		})
	})
}

// storeChecker calls a store and fails the test when it answers other than
// expected.
type storeChecker struct{ s kyccb.Store }

// reserve expects a lease and returns its token.
func (c *storeChecker) reserve(t *testing.T, key, fp string, lease time.Duration) string {
	t.Helper()
	return c.reserveD(t, key, kyccb.Delivery{Fingerprint: fp}, lease)
}

// reserveD is reserve for the delivery d.
func (c *storeChecker) reserveD(t *testing.T, key string, d kyccb.Delivery, lease time.Duration) string {
	t.Helper()
	tok, err := c.s.Reserve(t.Context(), key, d, lease)
	if err != nil {
		t.Fatalf("Reserve: %v, want a lease", err)
	}
	if tok == "" {
		t.Fatal("Reserve returned an empty token and no error")
	}
	return tok
}

// inProgress expects ErrDuplicateInProgress.
func (c *storeChecker) inProgress(t *testing.T, key, fp string) {
	t.Helper()
	c.refused(t, key, fp, kyccb.ErrDuplicateInProgress)
}

// duplicate expects ErrDuplicate.
func (c *storeChecker) duplicate(t *testing.T, key, fp string) {
	t.Helper()
	c.refused(t, key, fp, kyccb.ErrDuplicate)
}

func (c *storeChecker) refused(t *testing.T, key, fp string, want error) {
	t.Helper()
	c.refusedD(t, key, kyccb.Delivery{Fingerprint: fp}, want)
}

// refusedD expects Reserve of d to answer want.
func (c *storeChecker) refusedD(t *testing.T, key string, d kyccb.Delivery, want error) {
	t.Helper()
	tok, err := c.s.Reserve(t.Context(), key, d, time.Minute)
	if !errors.Is(err, want) {
		if err == nil {
			t.Fatalf("Reserve took a lease, want %v", want)
		}
		t.Fatalf("Reserve: %v, want %v", err, want)
	}
	if tok != "" {
		t.Errorf("Reserve returned token %q with %v, want none", tok, err)
	}
}

// duplicateWithin expects ErrDuplicate from a record made at start with
// TTL ttl, unless the machine was too slow to ask before it expired.
func (c *storeChecker) duplicateWithin(t *testing.T, key, fp string, start time.Time, ttl time.Duration) {
	t.Helper()
	tok, err := c.s.Reserve(t.Context(), key, kyccb.Delivery{Fingerprint: fp}, time.Minute)
	if errors.Is(err, kyccb.ErrDuplicate) {
		return
	}
	if time.Since(start) < ttl {
		t.Fatalf("Reserve = %q, %v right after Confirm, want ErrDuplicate", tok, err)
	}
	t.Skipf("the machine took longer than the TTL %s to ask; cannot tell whether the record was kept (run again on a less loaded machine)", ttl)
}

// eventually reserves key until it gets a lease, while the store finds the
// key in progress or fp a duplicate, and returns the token.
func (c *storeChecker) eventually(t *testing.T, key, fp string, lease time.Duration) string {
	t.Helper()
	return c.eventuallyD(t, key, kyccb.Delivery{Fingerprint: fp}, lease)
}

// eventuallyD is eventually for the delivery d, which may also be a replay
// or stale until an entry expires.
func (c *storeChecker) eventuallyD(t *testing.T, key string, d kyccb.Delivery, lease time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(20 * storeLease)
	for {
		tok, err := c.s.Reserve(t.Context(), key, d, lease)
		switch {
		case err == nil:
			if tok == "" {
				t.Fatal("Reserve returned an empty token and no error")
			}
			return tok
		case !errors.Is(err, kyccb.ErrDuplicate) && !errors.Is(err, kyccb.ErrDuplicateInProgress) &&
			!errors.Is(err, kyccb.ErrReplay) && !errors.Is(err, kyccb.ErrStale):
			t.Fatalf("Reserve: %v while waiting for an entry to expire", err)
		case time.Now().After(deadline):
			t.Fatalf("Reserve: still %v %s after the entry should have expired", err, 20*storeLease)
		}
		time.Sleep(storeLease / 5)
	}
}

func (c *storeChecker) confirm(t *testing.T, key, token, fp string, ttl time.Duration) {
	t.Helper()
	c.confirmD(t, key, token, kyccb.Delivery{Fingerprint: fp}, ttl)
}

func (c *storeChecker) confirmD(t *testing.T, key, token string, d kyccb.Delivery, ttl time.Duration) {
	t.Helper()
	if err := c.s.Confirm(t.Context(), key, token, d, ttl); err != nil {
		t.Fatalf("Confirm: %v", err)
	}
}

func (c *storeChecker) release(t *testing.T, key, token string) {
	t.Helper()
	if err := c.s.Release(t.Context(), key, token); err != nil {
		t.Fatalf("Release: %v", err)
	}
}
