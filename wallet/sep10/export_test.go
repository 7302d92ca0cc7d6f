package sep10

import "time"

// SetClock sets the clock s reads its JWTs' lifetimes against, before s
// is first used: tests share a clock with the anchor's.
func SetClock(s *TokenSource, now func() time.Time) { s.now = now }
