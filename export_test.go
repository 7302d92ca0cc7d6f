package kyccb

import "time"

// SetLogWindow shortens the window of the rejection log limit for a test,
// and returns a function that restores it.
func SetLogWindow(d time.Duration) (restore func()) {
	old := logWindow
	logWindow = d
	return func() { logWindow = old }
}

// LogBurst is how many records a window allows.
const LogBurst = logBurst

// SetReplayMemory gives v, a verifier without WithDedup, a memory of at
// most n signatures, and returns a function that tells how many it holds.
func SetReplayMemory(v *SEP12Verifier, n int) (size func() int) {
	v.cfg.replay = newReplayMemory(n)
	return v.cfg.replay.len
}

// ReplaySignatures is how many signatures a verifier without WithDedup
// remembers.
const ReplaySignatures = replaySignatures
