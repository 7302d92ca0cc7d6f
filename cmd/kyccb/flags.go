package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// newFlagSet returns a flag set that prints usage, then the flags, to
// stderr, and returns errors instead of exiting.
func newFlagSet(name, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, strings.TrimSpace(usage))
		fmt.Fprintln(stderr, "\nFlags:")
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args and refuses positional arguments beyond maxArgs.
func parseFlags(fs *flag.FlagSet, args []string, maxArgs int) error {
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return err
		}
		// The flag package has printed the problem and the usage.
		return errUsageShown
	}
	if fs.NArg() > maxArgs {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(maxArgs))
	}
	return nil
}

// listFlag is a flag that may be repeated; each value may also hold
// several comma-separated items.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	for item := range strings.SplitSeq(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			*l = append(*l, item)
		}
	}
	return nil
}

// repeatedFlag is a flag that may be repeated, values kept whole.
type repeatedFlag []string

func (r *repeatedFlag) String() string { return strings.Join(*r, "; ") }

func (r *repeatedFlag) Set(v string) error {
	*r = append(*r, v)
	return nil
}

// secretValue returns flagValue, or the environment variable env when the
// flag is empty: a secret given on the command line is visible to every
// user of the machine in the process list.
func secretValue(flagValue, env string) string {
	if flagValue != "" {
		return flagValue
	}
	return os.Getenv(env)
}

// checkMode refuses a mode other than sep12 and xgateway.
func checkMode(mode string) error {
	if mode != "sep12" && mode != "xgateway" {
		return fmt.Errorf("%w: --mode must be sep12 or xgateway, not %q", errUsage, mode)
	}
	return nil
}

// readInput reads a file, or standard input for "-".
func readInput(name string, stdin io.Reader) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(stdin)
	}
	return os.ReadFile(name)
}
