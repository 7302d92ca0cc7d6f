package kyccb

import (
	"time"

	"github.com/kyccb/kyccb/internal/wire"
)

// SetLogWindow shortens the window of the rejection log limit for a test,
// and returns a function that restores it.
func SetLogWindow(d time.Duration) (restore func()) {
	old := logWindow
	logWindow = d
	return func() { logWindow = old }
}

// ErrMemoryFull is what a MemoryStore full of active leases answers.
var ErrMemoryFull = errMemoryFull

// LogBurst is how many records a window allows.
const LogBurst = logBurst

// SetReplayMemory gives v, a verifier without WithDedup, a memory of at
// most n signatures, and returns a function that tells how many it holds.
func SetReplayMemory(v *SEP12Verifier, n int) (size func() int) {
	v.cfg.replay = newReplayMemory(n)
	return v.cfg.replay.len
}

// ForgetReplays empties the memory of signatures of v, a verifier without
// WithDedup, keeping its room, as a memory in its steady state has: for
// benchmarks that serve the same requests again.
func ForgetReplays(v *SEP12Verifier) {
	m := v.cfg.replay
	m.mu.Lock()
	defer m.mu.Unlock()
	clear(m.ends)
	clear(m.byEnd)
	m.byEnd = m.byEnd[:0]
}

// ReplaySignatures is how many signatures a verifier without WithDedup
// remembers.
const ReplaySignatures = replaySignatures

// ReplayMemory is the memory of signatures of a verifier without
// WithDedup, for benchmarks.
type ReplayMemory struct{ m *replayMemory }

func NewReplayMemory() ReplayMemory { return ReplayMemory{newReplayMemory(replaySignatures)} }

// Process does for the decoded signature sig, signed at signedAt, what
// the handler does for a request at now: looks it up and, when it is not
// a replay, remembers it as processed. It reports whether it was new.
func (r ReplayMemory) Process(sig []byte, signedAt, now time.Time) bool {
	id := string(sig)
	if r.m.seen(id) {
		return false
	}
	r.m.remember(id, signatureTTL(wire.Signature{Time: signedAt}, DefaultTolerance, now), now)
	return true
}
