package kyccb_test

import (
	"errors"
	"fmt"
	"runtime"
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

func reserveStep(key string, lease time.Duration, want kyccb.State) memoryStep {
	return func(h *memoryHarness) {
		h.t.Helper()
		tok, state, err := h.store.Reserve(h.t.Context(), key, lease)
		if err != nil {
			h.t.Fatalf("Reserve(%s): %v", key, err)
		}
		if state != want {
			h.t.Fatalf("Reserve(%s) = %v, want %v", key, state, want)
		}
		if state == kyccb.StateReserved {
			h.tokens[key] = tok
		}
	}
}

func reserveFailsStep(key string) memoryStep {
	return func(h *memoryHarness) {
		h.t.Helper()
		if _, state, err := h.store.Reserve(h.t.Context(), key, time.Minute); err == nil {
			h.t.Fatalf("Reserve(%s) = %v, want an error", key, state)
		}
	}
}

func confirmStep(key string, ttl time.Duration) memoryStep {
	return func(h *memoryHarness) {
		h.t.Helper()
		if err := h.store.Confirm(h.t.Context(), key, h.tokens[key], ttl); err != nil {
			h.t.Fatalf("Confirm(%s): %v", key, err)
		}
	}
}

func releaseStep(key string) memoryStep {
	return func(h *memoryHarness) {
		h.t.Helper()
		if err := h.store.Release(h.t.Context(), key, h.tokens[key]); err != nil {
			h.t.Fatalf("Release(%s): %v", key, err)
		}
	}
}

// rememberStep keeps key's current token under another name, to use it
// after a newer lease replaced it.
func rememberStep(key, as string) memoryStep {
	return func(h *memoryHarness) { h.tokens[as] = h.tokens[key] }
}

func releaseWithStep(key, tokenOf string) memoryStep {
	return func(h *memoryHarness) {
		h.t.Helper()
		if err := h.store.Release(h.t.Context(), key, h.tokens[tokenOf]); err != nil {
			h.t.Fatalf("Release(%s): %v", key, err)
		}
	}
}

func waitStep(d time.Duration) memoryStep {
	return func(h *memoryHarness) { h.clock.Add(d) }
}

func TestMemoryStore(t *testing.T) {
	const lease, ttl = time.Minute, time.Hour
	tests := []struct {
		name  string
		max   int
		steps []memoryStep
	}{
		{"a lease holds until the instant it ends", 10, []memoryStep{
			reserveStep("a", lease, kyccb.StateReserved),
			waitStep(lease - time.Nanosecond),
			reserveStep("a", lease, kyccb.StateInProgress),
			waitStep(time.Nanosecond),
			reserveStep("a", lease, kyccb.StateReserved),
		}},
		{"a done entry holds until the instant its TTL ends", 10, []memoryStep{
			reserveStep("a", lease, kyccb.StateReserved),
			waitStep(lease / 2),
			confirmStep("a", ttl),
			waitStep(ttl - time.Nanosecond),
			reserveStep("a", lease, kyccb.StateDone),
			waitStep(time.Nanosecond),
			reserveStep("a", lease, kyccb.StateReserved),
		}},
		{"an expired lease's token neither releases nor confirms the new lease", 10, []memoryStep{
			reserveStep("a", lease, kyccb.StateReserved),
			rememberStep("a", "old"),
			waitStep(lease),
			reserveStep("a", lease, kyccb.StateReserved),
			releaseWithStep("a", "old"),
			reserveStep("a", lease, kyccb.StateInProgress),
			func(h *memoryHarness) {
				if err := h.store.Confirm(h.t.Context(), "a", h.tokens["old"], ttl); err != nil {
					h.t.Fatal(err)
				}
			},
			reserveStep("a", lease, kyccb.StateInProgress),
			releaseStep("a"),
			reserveStep("a", lease, kyccb.StateReserved),
		}},
		{"a released lease frees the key at once", 10, []memoryStep{
			reserveStep("a", lease, kyccb.StateReserved),
			releaseStep("a"),
			reserveStep("a", lease, kyccb.StateReserved),
		}},
		{"a full store drops expired entries before done ones", 2, []memoryStep{
			reserveStep("done", lease, kyccb.StateReserved),
			confirmStep("done", ttl),
			reserveStep("crashed", lease, kyccb.StateReserved),
			waitStep(lease),
			reserveStep("new", lease, kyccb.StateReserved),
			reserveStep("done", lease, kyccb.StateDone),
		}},
		{"a full store then drops the done entry confirmed longest ago", 3, []memoryStep{
			reserveStep("first", lease, kyccb.StateReserved),
			reserveStep("second", lease, kyccb.StateReserved),
			confirmStep("second", ttl),
			confirmStep("first", ttl), // confirmed last, though reserved first
			reserveStep("running", lease, kyccb.StateReserved),
			reserveStep("new", lease, kyccb.StateReserved),
			reserveStep("first", lease, kyccb.StateDone),
			reserveStep("running", lease, kyccb.StateInProgress),
			reserveStep("second", lease, kyccb.StateReserved),
		}},
		{"a store full of active leases refuses new ones and drops none", 2, []memoryStep{
			reserveStep("a", lease, kyccb.StateReserved),
			reserveStep("b", lease, kyccb.StateReserved),
			reserveFailsStep("c"),
			reserveStep("a", lease, kyccb.StateInProgress),
			reserveStep("b", lease, kyccb.StateInProgress),
			releaseStep("a"),
			reserveStep("c", lease, kyccb.StateReserved),
		}},
		{"a store full of active leases takes new ones as leases end", 2, []memoryStep{
			reserveStep("a", lease, kyccb.StateReserved),
			reserveStep("b", lease, kyccb.StateReserved),
			waitStep(lease),
			reserveStep("c", lease, kyccb.StateReserved),
			reserveStep("d", lease, kyccb.StateReserved),
		}},
		{"confirm after the lease ended and was swept records done", 1, []memoryStep{
			reserveStep("a", lease, kyccb.StateReserved),
			waitStep(lease),
			reserveStep("b", lease, kyccb.StateReserved), // sweeps a
			releaseStep("b"),
			confirmStep("a", ttl),
			reserveStep("a", lease, kyccb.StateDone),
		}},
	}
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

func TestNewMemoryStorePanics(t *testing.T) {
	tests := []struct {
		name string
		opts []kyccb.MemoryOption
	}{
		{"a limit of zero entries", []kyccb.MemoryOption{kyccb.WithMaxEntries(0)}},
		{"a negative limit", []kyccb.MemoryOption{kyccb.WithMaxEntries(-1)}},
		{"a nil clock", []kyccb.MemoryOption{kyccb.WithMemoryClock(nil)}},
		{"a nil option", []kyccb.MemoryOption{nil}},
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
// with the store at its default capacity, so that every reservation drops
// the oldest done entry, and reports the heap each entry takes.
func BenchmarkMemoryStore(b *testing.B) {
	keys := make([]string, 2*kyccb.DefaultMaxEntries)
	key := func(i int) string { return fmt.Sprintf("sep12:%064x", i) }
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	// The keys count: a handler makes each and the store keeps it.
	s := kyccb.NewMemoryStore()
	ctx := b.Context()
	for i := range kyccb.DefaultMaxEntries {
		keys[i] = key(i)
		tok, _, _ := s.Reserve(ctx, keys[i], time.Minute)
		s.Confirm(ctx, keys[i], tok, time.Hour)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	perEntry := float64(after.HeapAlloc-before.HeapAlloc) / kyccb.DefaultMaxEntries
	for i := kyccb.DefaultMaxEntries; i < len(keys); i++ {
		keys[i] = key(i)
	}
	for i := 0; b.Loop(); i++ {
		k := keys[i%len(keys)]
		tok, state, err := s.Reserve(ctx, k, time.Minute)
		if err != nil || state == kyccb.StateInProgress {
			b.Fatal(state, err)
		}
		if state == kyccb.StateReserved {
			s.Confirm(ctx, k, tok, time.Hour)
		}
	}
	runtime.KeepAlive(keys)
	// After the loop: b.Loop drops metrics reported before it.
	b.ReportMetric(perEntry, "heapB/entry")
}
