package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/kyccb/kyccb"
	"github.com/kyccb/kyccb/internal/wire"
)

// newFlagSet returns a flag set that prints usage, then the flags, to
// stderr, and returns errors instead of exiting.
func newFlagSet(name, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, strings.TrimSpace(usage))
		n := 0
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n > 0 { // a command without flags gets no empty section
			fmt.Fprintln(stderr, "\nFlags:")
			fs.PrintDefaults()
		}
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
// several comma-separated items, with spaces after the commas. Items are
// otherwise kept as given: a key with white space around it is an error
// that says so, not something trimmed without a word.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	for i, item := range strings.Split(v, ",") {
		if i > 0 {
			item = strings.TrimLeft(item, " ")
		}
		if item != "" {
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

// readInput reads a file, or standard input for "-". The error names
// flag, the flag (or argument) that named the file, and is a usage error:
// the command was given something it cannot use.
func readInput(flag, name string, stdin io.Reader) ([]byte, error) {
	var b []byte
	var err error
	if name == "-" {
		if b, err = io.ReadAll(stdin); err != nil {
			return nil, fmt.Errorf("%w: %s: reading standard input: %w", errUsage, flag, err)
		}
		return b, nil
	}
	if b, err = os.ReadFile(name); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", errUsage, flag, err)
	}
	return b, nil
}

// parseSigningKeys parses the anchor's public keys given with
// --signing-key, by the library's rules (internal/wire), in the command's
// words. Its errors never repeat a key: what was pasted may be a seed.
func parseSigningKeys(keys []string) (kyccb.StaticKeys, error) {
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: --signing-key: no signing key", errUsage)
	}
	trusted := make(kyccb.StaticKeys, 0, len(keys))
	for i, k := range keys {
		which := "--signing-key"
		if len(keys) > 1 {
			which = fmt.Sprintf("--signing-key (key %d)", i+1)
		}
		pk, err := wire.ParsePublicKey(k)
		switch {
		case errors.Is(err, wire.ErrKeySpace):
			return nil, fmt.Errorf("%w: %s: signing key has leading or trailing white space", errUsage, which)
		case errors.Is(err, wire.ErrKeyIsSeed):
			return nil, fmt.Errorf("%w: %s: got a secret seed (S...), want the anchor's public key (G...)", errUsage, which)
		case errors.Is(err, wire.ErrKeySmallOrder):
			return nil, fmt.Errorf("%w: %s: signing key %v", errUsage, which, err)
		case err != nil:
			return nil, fmt.Errorf("%w: %s: signing key is not a Stellar public key (G...)", errUsage, which)
		}
		trusted = append(trusted, pk)
	}
	return trusted, nil
}

// checkSeed checks the secret seed that signs, read from source (a flag
// or an environment variable), by the library's rules. Its errors never
// repeat the seed.
func checkSeed(source, seed string) error {
	_, err := wire.ParseSeed(seed)
	switch {
	case errors.Is(err, wire.ErrKeySpace):
		return fmt.Errorf("%w: %s: seed has leading or trailing white space", errUsage, source)
	case errors.Is(err, wire.ErrSeedIsAccount):
		return fmt.Errorf("%w: %s: got a public key (G...), want the secret seed (S...)", errUsage, source)
	case err != nil:
		return fmt.Errorf("%w: %s: not a Stellar secret seed (S...)", errUsage, source)
	}
	return nil
}
