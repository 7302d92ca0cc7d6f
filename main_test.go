package kyccb_test

import (
	"log/slog"
	"os"
	"testing"
)

// TestMain sends what handlers log by default to nowhere, so that the
// output of -v is the tests'. Tests of the default logging set their own.
func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.DiscardHandler))
	os.Exit(m.Run())
}
