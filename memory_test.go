package kyccb_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kyccb/kyccb"
	"github.com/kyccb/kyccb/kyccbtest"
)

func TestMemoryStoreContract(t *testing.T) {
	kyccbtest.TestStore(t, kyccb.NewMemoryStore())
}

// memoryHarness drives one memory store on a fake clock, remembering the
// token of each key's latest lease.
type memoryHarness struct {
	t      *testing.T
	store  kyccb.Store
	clock  *fakeClock
	tokens map[string]string
}

type memoryStep func(h *memoryHarness)

// Fingerprints of three bodies; the store treats them as opaque.
const (
	fpAccepted  = "fp-accepted"
	fpNeedsInfo = "fp-needs-info"
	fpRejected  = "fp-rejected"
)

// reserveStep reserves key for the body fp and expects want: nil for a
// lease, whose token it keeps, or the sentinel Reserve must match.
func reserveStep(key, fp string, lease time.Duration, want error) memoryStep {
	return reserveDStep(key, kyccb.Delivery{Fingerprint: fp}, lease, want)
}

// reserveDStep is reserveStep for the delivery d.
func reserveDStep(key string, d kyccb.Delivery, lease time.Duration, want error) memoryStep {
	fp := d.Fingerprint + " " + d.Signature
	return func(h *memoryHarness) {
		h.t.Helper()
		tok, err := h.store.Reserve(h.t.Context(), key, d, lease)
		switch {
		case want == nil && err != nil:
			h.t.Fatalf("Reserve(%s, %s): %v, want a lease", key, fp, err)
		case want == nil && tok == "":
			h.t.Fatalf("Reserve(%s, %s) returned an empty token", key, fp)
		case want != nil && !errors.Is(err, want):
			h.t.Fatalf("Reserve(%s, %s) = %q, %v, want an error matching %v", key, fp, tok, err, want)
		case want != nil && tok != "":
			h.t.Fatalf("Reserve(%s, %s) returned token %q with %v", key, fp, tok, err)
		}
		if want == nil {
			h.tokens[key] = tok
		}
	}
}

// reserveFailsStep expects Reserve to fail as a store that cannot answer
// does: an error that is neither of the two duplicates.
func reserveFailsStep(key string) memoryStep {
	return func(h *memoryHarness) {
		h.t.Helper()
		tok, err := h.store.Reserve(h.t.Context(), key, kyccb.Delivery{Fingerprint: fpAccepted}, time.Minute)
		if !errors.Is(err, kyccb.ErrMemoryFull) {
			h.t.Fatalf("Reserve(%s) = %q, %v, want the store's own error, that it is full", key, tok, err)
		}
	}
}

func confirmStep(key, fp string, ttl time.Duration) memoryStep {
	return confirmWithStep(key, key, fp, ttl)
}

// confirmWithStep confirms key with the token kept under the name tokenOf.
func confirmWithStep(key, tokenOf, fp string, ttl time.Duration) memoryStep {
	return func(h *memoryHarness) {
		h.t.Helper()
		if err := h.store.Confirm(h.t.Context(), key, h.tokens[tokenOf], kyccb.Delivery{Fingerprint: fp}, ttl); err != nil {
			h.t.Fatalf("Confirm(%s, %s): %v", key, fp, err)
		}
	}
}

// confirmDStep confirms key with the delivery d.
func confirmDStep(key string, d kyccb.Delivery, ttl time.Duration) memoryStep {
	return func(h *memoryHarness) {
		h.t.Helper()
		if err := h.store.Confirm(h.t.Context(), key, h.tokens[key], d, ttl); err != nil {
			h.t.Fatalf("Confirm(%s, %+v): %v", key, d, err)
		}
	}
}

// signed is a delivery of fp with signature sig, remembered for sigTTL.
func signed(fp, sig string, sigTTL time.Duration) kyccb.Delivery {
	return kyccb.Delivery{Fingerprint: fp, Signature: sig, SignatureTTL: sigTTL}
}

// applySteps reserves and confirms key with d.
func applySteps(key string, d kyccb.Delivery, ttl time.Duration) []memoryStep {
	return []memoryStep{reserveDStep(key, d, time.Minute, nil), confirmDStep(key, d, ttl)}
}

func releaseStep(key string) memoryStep { return releaseWithStep(key, key) }

// releaseWithStep releases key with the token kept under the name tokenOf.
func releaseWithStep(key, tokenOf string) memoryStep {
	return func(h *memoryHarness) {
		h.t.Helper()
		if err := h.store.Release(h.t.Context(), key, h.tokens[tokenOf]); err != nil {
			h.t.Fatalf("Release(%s): %v", key, err)
		}
	}
}

// rememberStep keeps key's current token under another name, to use it
// after a newer lease replaced it.
func rememberStep(key, as string) memoryStep {
	return func(h *memoryHarness) { h.tokens[as] = h.tokens[key] }
}

func waitStep(d time.Duration) memoryStep {
	return func(h *memoryHarness) { h.clock.Add(d) }
}

func TestMemoryStore(t *testing.T) {
	const lease, ttl, longTTL = time.Minute, time.Hour, 72 * time.Hour
	tests := []struct {
		name  string
		max   int
		steps []memoryStep
	}{
		{"a lease holds against every body until the instant it ends", 10, []memoryStep{
			reserveStep("a", fpAccepted, lease, nil),
			waitStep(lease - time.Nanosecond),
			reserveStep("a", fpAccepted, lease, kyccb.ErrDuplicateInProgress),
			reserveStep("a", fpNeedsInfo, lease, kyccb.ErrDuplicateInProgress),
			waitStep(time.Nanosecond),
			reserveStep("a", fpAccepted, lease, nil),
		}},
		{"the applied body holds until the instant its TTL ends", 10, []memoryStep{
			reserveStep("a", fpAccepted, lease, nil),
			waitStep(lease / 2),
			confirmStep("a", fpAccepted, ttl),
			waitStep(ttl - time.Nanosecond),
			reserveStep("a", fpAccepted, lease, kyccb.ErrDuplicate),
			waitStep(time.Nanosecond),
			reserveStep("a", fpAccepted, lease, nil),
		}},
		{"a return to an earlier body is a change", 10, []memoryStep{
			reserveStep("a", fpAccepted, lease, nil),
			confirmStep("a", fpAccepted, ttl),
			reserveStep("a", fpNeedsInfo, lease, nil),
			confirmStep("a", fpNeedsInfo, ttl),
			reserveStep("a", fpNeedsInfo, lease, kyccb.ErrDuplicate),
			reserveStep("a", fpAccepted, lease, nil),
			confirmStep("a", fpAccepted, ttl),
			reserveStep("a", fpAccepted, lease, kyccb.ErrDuplicate),
		}},
		// Answered as a redelivery even under another body's lease: a 503
		// would bring its retry after that body, as a change back.
		{"a lease for another body does not hold off a redelivery of the applied one", 10, []memoryStep{
			reserveStep("a", fpAccepted, lease, nil),
			confirmStep("a", fpAccepted, ttl),
			reserveStep("a", fpNeedsInfo, lease, nil),
			reserveStep("a", fpAccepted, lease, kyccb.ErrDuplicate),
			reserveStep("a", fpRejected, lease, kyccb.ErrDuplicateInProgress),
		}},
		{"a released lease leaves the applied body as it was", 10, []memoryStep{
			reserveStep("a", fpAccepted, lease, nil),
			confirmStep("a", fpAccepted, ttl),
			reserveStep("a", fpNeedsInfo, lease, nil),
			releaseStep("a"),
			reserveStep("a", fpAccepted, lease, kyccb.ErrDuplicate),
			reserveStep("a", fpNeedsInfo, lease, nil),
		}},
		{"a released lease frees the key at once", 10, []memoryStep{
			reserveStep("a", fpAccepted, lease, nil),
			releaseStep("a"),
			reserveStep("a", fpAccepted, lease, nil),
		}},
		{"keys are apart: one body applied for two customers", 10, []memoryStep{
			reserveStep("a", fpAccepted, lease, nil),
			reserveStep("b", fpAccepted, lease, nil),
			confirmStep("a", fpAccepted, ttl),
			reserveStep("b", fpAccepted, lease, kyccb.ErrDuplicateInProgress),
			confirmStep("b", fpAccepted, ttl),
			reserveStep("a", fpAccepted, lease, kyccb.ErrDuplicate),
			reserveStep("b", fpAccepted, lease, kyccb.ErrDuplicate),
		}},
		{"an expired lease's token neither releases nor confirms the new lease", 10, []memoryStep{
			reserveStep("a", fpAccepted, lease, nil),
			rememberStep("a", "old"),
			waitStep(lease),
			reserveStep("a", fpNeedsInfo, lease, nil),
			releaseWithStep("a", "old"),
			reserveStep("a", fpAccepted, lease, kyccb.ErrDuplicateInProgress),
			confirmWithStep("a", "old", fpAccepted, ttl),
			reserveStep("a", fpAccepted, lease, kyccb.ErrDuplicateInProgress),
			releaseStep("a"),
			// The old delivery's body was not recorded.
			reserveStep("a", fpAccepted, lease, nil),
		}},
		{"confirm after the lease ended records the body", 10, []memoryStep{
			reserveStep("a", fpAccepted, lease, nil),
			waitStep(2 * lease),
			confirmStep("a", fpAccepted, ttl),
			reserveStep("a", fpAccepted, lease, kyccb.ErrDuplicate),
		}},
		{"confirm after the lease ended and was swept records the body", 1, []memoryStep{
			reserveStep("a", fpAccepted, lease, nil),
			waitStep(lease),
			reserveStep("b", fpAccepted, lease, nil), // sweeps a
			releaseStep("b"),
			confirmStep("a", fpAccepted, ttl),
			reserveStep("a", fpAccepted, lease, kyccb.ErrDuplicate),
		}},
		{"a lease that outlives the applied body keeps the key until it ends", 1, []memoryStep{
			reserveStep("a", fpAccepted, lease, nil),
			confirmStep("a", fpAccepted, ttl),
			waitStep(ttl - lease/2),
			reserveStep("a", fpNeedsInfo, lease, nil),
			waitStep(lease / 2), // the applied body expires; the lease has half to run
			reserveStep("a", fpAccepted, lease, kyccb.ErrDuplicateInProgress),
			reserveFailsStep("b"),
			waitStep(lease / 2),
			reserveStep("a", fpAccepted, lease, nil),
		}},
		{"a full store drops expired entries before live ones", 2, []memoryStep{
			reserveStep("done", fpAccepted, lease, nil),
			confirmStep("done", fpAccepted, ttl),
			reserveStep("crashed", fpAccepted, lease, nil),
			waitStep(lease),
			reserveStep("new", fpAccepted, lease, nil),
			reserveStep("done", fpAccepted, lease, kyccb.ErrDuplicate),
		}},
		{"a full store drops expired short records before a live long one applied earlier", 3, []memoryStep{
			// Two handlers share the store: one keeps records for 72 h,
			// the other for 1 h.
			reserveStep("long", fpAccepted, lease, nil),
			confirmStep("long", fpAccepted, longTTL),
			reserveStep("short1", fpAccepted, lease, nil),
			confirmStep("short1", fpAccepted, ttl),
			reserveStep("short2", fpAccepted, lease, nil),
			confirmStep("short2", fpAccepted, ttl),
			waitStep(2 * ttl),
			reserveStep("new1", fpAccepted, lease, nil),
			reserveStep("new2", fpAccepted, lease, nil),
			reserveStep("long", fpAccepted, lease, kyccb.ErrDuplicate),
		}},
		{"a full store then drops the record that expires soonest, not the oldest", 3, []memoryStep{
			reserveStep("long", fpAccepted, lease, nil),
			confirmStep("long", fpAccepted, longTTL),
			reserveStep("short", fpAccepted, lease, nil),
			confirmStep("short", fpAccepted, ttl),
			reserveStep("running", fpAccepted, lease, nil),
			reserveStep("new", fpAccepted, lease, nil),
			reserveStep("long", fpAccepted, lease, kyccb.ErrDuplicate),
			reserveStep("running", fpAccepted, lease, kyccb.ErrDuplicateInProgress),
			reserveStep("short", fpAccepted, lease, nil),
		}},
		{"with one TTL, a full store drops the record applied longest ago", 3, []memoryStep{
			reserveStep("first", fpAccepted, lease, nil),
			reserveStep("second", fpAccepted, lease, nil),
			confirmStep("second", fpAccepted, ttl),
			waitStep(time.Second),
			confirmStep("first", fpAccepted, ttl), // applied last, though reserved first
			reserveStep("running", fpAccepted, lease, nil),
			reserveStep("new", fpAccepted, lease, nil),
			reserveStep("first", fpAccepted, lease, kyccb.ErrDuplicate),
			reserveStep("running", fpAccepted, lease, kyccb.ErrDuplicateInProgress),
			reserveStep("second", fpAccepted, lease, nil),
		}},
		{"a full store never drops an active lease, even the entry that expires soonest", 2, []memoryStep{
			reserveStep("a", fpAccepted, lease, nil),
			confirmStep("a", fpAccepted, ttl),
			reserveStep("a", fpNeedsInfo, lease, nil),
			reserveStep("b", fpAccepted, lease, nil),
			confirmStep("b", fpAccepted, longTTL),
			reserveStep("c", fpAccepted, lease, nil), // drops b, the one not leased
			releaseStep("a"),
			reserveStep("a", fpAccepted, lease, kyccb.ErrDuplicate),
		}},
		{"a store full of active leases refuses new ones and drops none", 2, []memoryStep{
			reserveStep("a", fpAccepted, lease, nil),
			reserveStep("b", fpAccepted, lease, nil),
			reserveFailsStep("c"),
			reserveStep("a", fpAccepted, lease, kyccb.ErrDuplicateInProgress),
			reserveStep("b", fpAccepted, lease, kyccb.ErrDuplicateInProgress),
			releaseStep("a"),
			reserveStep("c", fpAccepted, lease, nil),
		}},
		{"a store full of active leases takes new ones as leases end", 2, []memoryStep{
			reserveStep("a", fpAccepted, lease, nil),
			reserveStep("b", fpAccepted, lease, nil),
			waitStep(lease),
			reserveStep("c", fpAccepted, lease, nil),
			reserveStep("d", fpAccepted, lease, nil),
		}},
		{"a store full of active leases cannot record a body whose lease was swept", 1, []memoryStep{
			reserveStep("a", fpAccepted, lease, nil),
			waitStep(lease),
			reserveStep("b", fpAccepted, lease, nil), // sweeps a
			func(h *memoryHarness) {
				h.t.Helper()
				err := h.store.Confirm(h.t.Context(), "a", h.tokens["a"], kyccb.Delivery{Fingerprint: fpAccepted}, ttl)
				if !errors.Is(err, kyccb.ErrMemoryFull) {
					h.t.Fatalf("Confirm into a store full of leases: %v, want the store's error that it is full", err)
				}
			},
			reserveStep("b", fpAccepted, lease, kyccb.ErrDuplicateInProgress),
		}},
	}
	// Eight signatures for one key, the fourth the soonest to expire.
	var eight []memoryStep
	for j := range 8 {
		ttl := 4*time.Minute + time.Duration(j)*time.Second
		if j == 3 {
			ttl = 3 * time.Minute
		}
		eight = append(eight, applySteps("a", signed([]string{fpAccepted, fpNeedsInfo}[j%2], fmt.Sprint("sig", j), ttl), ttl)...)
	}
	updated := time.Date(2026, 12, 2, 10, 5, 0, 0, time.UTC)
	tests = append(tests, []struct {
		name  string
		max   int
		steps []memoryStep
	}{
		{"a signature holds until the instant its own TTL ends, past the record's", 10, concat(
			applySteps("a", signed(fpAccepted, "sig", 4*time.Minute), time.Minute),
			[]memoryStep{
				waitStep(4*time.Minute - time.Nanosecond),
				reserveDStep("a", signed(fpNeedsInfo, "sig", time.Minute), lease, kyccb.ErrReplay),
				reserveStep("a", fpAccepted, lease, nil), // the record expired
				releaseStep("a"),
				waitStep(time.Nanosecond),
				reserveDStep("a", signed(fpNeedsInfo, "sig", time.Minute), lease, nil),
			})},
		{"a key keeps eight signatures, forgetting the one that expires soonest", 10, concat(
			eight,
			applySteps("a", signed(fpRejected, "sig8", 5*time.Minute), ttl),
			[]memoryStep{
				reserveDStep("a", signed(fpNeedsInfo, "sig0", time.Minute), lease, kyccb.ErrReplay),
				reserveDStep("a", signed(fpNeedsInfo, "sig7", time.Minute), lease, kyccb.ErrReplay),
				reserveDStep("a", signed(fpNeedsInfo, "sig8", time.Minute), lease, kyccb.ErrReplay),
				reserveDStep("a", signed(fpNeedsInfo, "sig3", time.Minute), lease, nil),
			})},
		{"an entry left with signatures alone is kept, and dropped to make room like any other", 1, concat(
			applySteps("a", signed(fpAccepted, "sig", 4*time.Minute), time.Minute),
			[]memoryStep{
				waitStep(2 * time.Minute),
				reserveDStep("a", signed(fpAccepted, "sig", time.Minute), lease, kyccb.ErrReplay),
				reserveStep("b", fpAccepted, lease, nil), // drops a
				releaseStep("b"),
				reserveDStep("a", signed(fpAccepted, "sig", time.Minute), lease, nil),
			})},
		{"the watermark holds until the instant the record's TTL ends", 10, concat(
			applySteps("a", kyccb.Delivery{Fingerprint: fpAccepted, UpdatedAt: updated}, ttl),
			[]memoryStep{
				waitStep(ttl - time.Nanosecond),
				reserveDStep("a", kyccb.Delivery{Fingerprint: fpNeedsInfo, UpdatedAt: updated.Add(-time.Nanosecond)}, lease, kyccb.ErrStale),
				waitStep(time.Nanosecond),
				reserveDStep("a", kyccb.Delivery{Fingerprint: fpNeedsInfo, UpdatedAt: updated.Add(-time.Nanosecond)}, lease, nil),
			})},
	}...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			h := &memoryHarness{
				t:      t,
				store:  kyccb.NewMemoryStore(kyccb.WithMaxEntries(tt.max), kyccb.WithMemoryClock(clock.Now)),
				clock:  clock,
				tokens: map[string]string{},
			}
			for _, step := range tt.steps {
				step(h)
			}
		})
	}
}

func concat(steps ...[]memoryStep) []memoryStep { return slices.Concat(steps...) }

func TestMemoryStoreTokensAreUnique(t *testing.T) {
	clock := newFakeClock()
	s := kyccb.NewMemoryStore(kyccb.WithMaxEntries(4), kyccb.WithMemoryClock(clock.Now))
	seen := map[string]string{}
	for i := range 50 {
		// Leases that end, are released and are confirmed, over keys that
		// come back, so that no path through the store is left out.
		key := fmt.Sprint("k", i%5)
		tok, err := s.Reserve(t.Context(), key, kyccb.Delivery{Fingerprint: fmt.Sprint("fp", i)}, time.Minute)
		if err != nil {
			t.Fatalf("Reserve %d: %v", i, err)
		}
		if other, ok := seen[tok]; ok {
			t.Fatalf("token %q handed out for %s and again for %s", tok, other, key)
		}
		seen[tok] = key
		switch i % 3 {
		case 0:
			clock.Add(time.Minute)
		case 1:
			err = s.Release(t.Context(), key, tok)
		case 2:
			err = s.Confirm(t.Context(), key, tok, kyccb.Delivery{Fingerprint: fmt.Sprint("fp", i)}, time.Hour)
		}
		if err != nil {
			t.Fatalf("settling %d: %v", i, err)
		}
	}
}

func TestNewMemoryStorePanics(t *testing.T) {
	tests := []struct {
		name string
		opts []kyccb.MemoryOption
	}{
		{"a limit of zero entries", []kyccb.MemoryOption{kyccb.WithMaxEntries(0)}},
		{"a negative limit", []kyccb.MemoryOption{kyccb.WithMaxEntries(-1)}},
		{"a nil clock", []kyccb.MemoryOption{kyccb.WithMemoryClock(nil)}},
		{"a zero option", []kyccb.MemoryOption{{}}},
		{"a zero option after a good one", []kyccb.MemoryOption{kyccb.WithMaxEntries(1), {}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				err, _ := recover().(error)
				if !errors.Is(err, kyccb.ErrConfig) {
					t.Errorf("panic value %v, want an error matching ErrConfig", err)
				}
			}()
			kyccb.NewMemoryStore(tt.opts...)
		})
	}
}

// BenchmarkMemoryStore measures a delivery's store work (reserve, confirm)
// with the store at its default capacity, so that every new customer drops
// the record that expires soonest, and reports the heap each entry takes:
// a customer's record with the signature of the one delivery applied, as
// the SEP-12 handler passes them (heapB/entry), and the heap each further
// signature adds, up to the eight a key keeps (heapB/signature).
func BenchmarkMemoryStore(b *testing.B) {
	keys := make([]string, 2*kyccb.DefaultMaxEntries)
	key := func(i int) string { return fmt.Sprintf("sep12:id:%064x", i) }
	sig := func(i, j int) string { return fmt.Sprintf("%062x%02x", i, j) }
	const fp = "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"
	// Each of a key's deliveries is another body: fp, then fp with its
	// last byte counting.
	fps := []string{fp}
	for j := 1; j < 8; j++ {
		fps = append(fps, fp[:63]+fmt.Sprint(j))
	}
	delivery := func(i, j int) kyccb.Delivery {
		return kyccb.Delivery{Fingerprint: fps[j], Signature: sig(i, j), SignatureTTL: 4 * time.Minute}
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	// The keys and signatures count: a handler makes each and the store
	// keeps it.
	s := kyccb.NewMemoryStore()
	ctx := b.Context()
	for i := range kyccb.DefaultMaxEntries {
		keys[i] = key(i)
		tok, err := s.Reserve(ctx, keys[i], delivery(i, 0), time.Minute)
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Confirm(ctx, keys[i], tok, delivery(i, 0), time.Hour); err != nil {
			b.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	perEntry := float64(after.HeapAlloc-before.HeapAlloc) / kyccb.DefaultMaxEntries
	// Seven more signatures for a tenth of the keys.
	const some = kyccb.DefaultMaxEntries / 10
	for i := range some {
		for j := 1; j < 8; j++ {
			tok, err := s.Reserve(ctx, keys[i], delivery(i, j), time.Minute)
			if err != nil {
				b.Fatal(err)
			}
			if err := s.Confirm(ctx, keys[i], tok, delivery(i, j), time.Hour); err != nil {
				b.Fatal(err)
			}
		}
	}
	runtime.GC()
	var full runtime.MemStats
	runtime.ReadMemStats(&full)
	perSignature := float64(full.HeapAlloc-after.HeapAlloc) / (7 * some)
	for i := kyccb.DefaultMaxEntries; i < len(keys); i++ {
		keys[i] = key(i)
	}
	for i := 0; b.Loop(); i++ {
		k := keys[i%len(keys)]
		// No switch with a call in a case here: inside a b.Loop loop, that
		// crashes go1.26.8's compiler (escape analysis, nil type).
		tok, err := s.Reserve(ctx, k, kyccb.Delivery{Fingerprint: fp}, time.Minute)
		if err == nil {
			err = s.Confirm(ctx, k, tok, kyccb.Delivery{Fingerprint: fp}, time.Hour)
		}
		if err != nil && !errors.Is(err, kyccb.ErrDuplicate) {
			b.Fatal(err)
		}
	}
	runtime.KeepAlive(keys)
	// After the loop: b.Loop drops metrics reported before it.
	b.ReportMetric(perEntry, "heapB/entry")
	b.ReportMetric(perSignature, "heapB/signature")
}

// memoryModel is the memory store's documented behaviour, written as
// plainly as possible: linear scans instead of a heap.
type memoryModel struct {
	max     int
	entries map[string]*modelEntry
}

type modelEntry struct {
	token    string
	leaseEnd time.Time
	fp       string
	doneEnd  time.Time
}

// live returns key's entry with what ended by now forgotten, or nil.
func (m *memoryModel) live(key string, now time.Time) *modelEntry {
	e := m.entries[key]
	if e == nil {
		return nil
	}
	if e.token != "" && !now.Before(e.leaseEnd) {
		e.token = ""
	}
	if e.fp != "" && !now.Before(e.doneEnd) {
		e.fp = ""
	}
	if e.token == "" && e.fp == "" {
		delete(m.entries, key)
		return nil
	}
	return e
}

// add makes room as NewMemoryStore documents: expired entries go, then
// the entry without an active lease that expires soonest.
func (m *memoryModel) add(key string, now time.Time) (*modelEntry, bool) {
	for k := range m.entries {
		m.live(k, now)
	}
	if len(m.entries) >= m.max {
		victim := ""
		for k, e := range m.entries {
			if e.token == "" && (victim == "" || e.doneEnd.Before(m.entries[victim].doneEnd)) {
				victim = k
			}
		}
		if victim == "" {
			return nil, false
		}
		delete(m.entries, victim)
	}
	e := &modelEntry{}
	m.entries[key] = e
	return e, true
}

func (m *memoryModel) reserve(key, fp string, lease time.Duration, now time.Time, token string) string {
	e := m.live(key, now)
	switch {
	case e != nil && e.fp == fp:
		return "duplicate"
	case e != nil && e.token != "":
		return "in progress"
	case e == nil:
		var ok bool
		if e, ok = m.add(key, now); !ok {
			return "full"
		}
	}
	e.token, e.leaseEnd = token, now.Add(lease)
	return "lease"
}

func (m *memoryModel) confirm(key, token, fp string, ttl time.Duration, now time.Time) string {
	e := m.live(key, now)
	switch {
	case e != nil && e.token != "" && e.token != token:
		return "ok"
	case e == nil:
		var ok bool
		if e, ok = m.add(key, now); !ok {
			return "full"
		}
	}
	e.token, e.fp, e.doneEnd = "", fp, now.Add(ttl)
	return "ok"
}

func (m *memoryModel) release(key, token string, now time.Time) {
	e := m.live(key, now)
	if e == nil || e.token == "" || e.token != token {
		return
	}
	e.token = ""
	if e.fp == "" {
		delete(m.entries, key)
	}
}

// TestMemoryStoreAgreesWithModel runs random operations, on a fake clock
// that never stands still, against the store and a model of what
// NewMemoryStore documents, and compares every answer.
func TestMemoryStoreAgreesWithModel(t *testing.T) {
	pick := func(r *rand.Rand, s ...string) string { return s[r.IntN(len(s))] }
	durations := func(r *rand.Rand, d ...time.Duration) time.Duration { return d[r.IntN(len(d))] }
	for seed := range uint64(40) {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 1))
			clock := newFakeClock()
			maxEntries := 1 + r.IntN(5)
			s := kyccb.NewMemoryStore(kyccb.WithMaxEntries(maxEntries), kyccb.WithMemoryClock(clock.Now))
			m := &memoryModel{max: maxEntries, entries: map[string]*modelEntry{}}
			tokens := []string{"", "not-a-token"}
			var history []string
			fail := func(format string, args ...any) {
				t.Helper()
				t.Fatalf("after\n\t%s\n%s", strings.Join(history, "\n\t"), fmt.Sprintf(format, args...))
			}
			for range 3000 {
				// Distinct instants keep expiry times apart, so that which
				// entry goes first is never a tie.
				clock.Add(time.Duration(1 + r.Int64N(int64(time.Second))))
				if r.IntN(10) == 0 {
					clock.Add(durations(r, time.Minute, time.Hour, 72*time.Hour))
				}
				now := clock.Now()
				key := pick(r, "a", "b", "c", "d", "e", "f")
				fp := pick(r, fpAccepted, fpNeedsInfo, fpRejected)
				switch r.IntN(3) {
				case 0:
					lease := durations(r, 30*time.Second, time.Minute, 5*time.Minute)
					tok, err := s.Reserve(t.Context(), key, kyccb.Delivery{Fingerprint: fp}, lease)
					got := "lease"
					switch {
					case errors.Is(err, kyccb.ErrDuplicate):
						got = "duplicate"
					case errors.Is(err, kyccb.ErrDuplicateInProgress):
						got = "in progress"
					case err != nil:
						got = "full"
					}
					history = append(history, fmt.Sprintf("%s Reserve(%s, %s, %s) = %s %q", now.Format(time.TimeOnly), key, fp, lease, got, tok))
					if want := m.reserve(key, fp, lease, now, tok); got != want {
						fail("the store answered %s, the model %s", got, want)
					}
					if got == "lease" {
						tokens = append(tokens, tok)
					}
				case 1:
					tok := pick(r, tokens...)
					ttl := durations(r, 2*time.Minute, time.Hour, 72*time.Hour)
					got := "ok"
					if err := s.Confirm(t.Context(), key, tok, kyccb.Delivery{Fingerprint: fp}, ttl); err != nil {
						got = "full"
					}
					history = append(history, fmt.Sprintf("%s Confirm(%s, %q, %s, %s) = %s", now.Format(time.TimeOnly), key, tok, fp, ttl, got))
					if want := m.confirm(key, tok, fp, ttl, now); got != want {
						fail("the store answered %s, the model %s", got, want)
					}
				case 2:
					tok := pick(r, tokens...)
					if err := s.Release(t.Context(), key, tok); err != nil {
						fail("Release: %v", err)
					}
					history = append(history, fmt.Sprintf("%s Release(%s, %q)", now.Format(time.TimeOnly), key, tok))
					m.release(key, tok, now)
				}
				if len(history) > 30 {
					history = history[1:]
				}
			}
		})
	}
}
