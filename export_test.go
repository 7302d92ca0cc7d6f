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
