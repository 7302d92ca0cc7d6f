// Command kyccb is the command-line companion of package kyccb: it runs a
// verifying receiver, sends signed test callbacks and explains why a
// callback is accepted or rejected.
//
// Usage:
//
//	kyccb demo       receiver, anchor and XGateway on loopback, no configuration
//	kyccb listen     run a verifying receiver and print every callback with its verdict
//	kyccb send       send a signed (SEP-12) or hashed (XGateway) callback, as the sender does
//	kyccb verify     check a captured callback offline and explain the verdict
//	kyccb register   register a callback URL with an anchor (SEP-12 PUT /customer/callback)
//	kyccb anchor     run a local SEP-10 and SEP-12 anchor that sends signed callbacks, for tests
//	kyccb keygen     make a throwaway anchor key pair
//	kyccb version    print the version of kyccb (also: kyccb --version)
//
// Run "kyccb <command> -h" for a command's flags and examples. Exit codes:
// 0 ok, 1 a callback was rejected or a command failed, 2 usage error.
// Ctrl-C and SIGTERM stop a command the same way: listen finishes the
// callbacks in flight and exits 0, anchor the deliveries in flight.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"syscall"
)

// Exit codes.
const (
	exitOK       = 0
	exitRejected = 1 // a callback was rejected or a command failed
	exitUsage    = 2
)

type command struct {
	name, summary string
	run           func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

var commands = []command{
	{"demo", "run a receiver, an anchor and XGateway on loopback and show their verdicts", runDemo},
	{"listen", "run a verifying receiver; print every callback with its verdict and diagnosis", runListen},
	{"send", "send a signed SEP-12 or hashed XGateway callback, as the sender does", runSend},
	{"verify", "check a captured callback offline and explain the verdict", runVerify},
	{"register", "register a callback URL with an anchor (SEP-12 PUT /customer/callback)", runRegister},
	{"anchor", "run a local SEP-10 and SEP-12 anchor on loopback that sends signed callbacks", runAnchor},
	{"keygen", "make a throwaway anchor key pair for tests", runKeygen},
	{"version", "print the version of kyccb (also: kyccb --version)", runVersion},
}

// stdin is where "-" reads from; tests replace it.
var stdin io.Reader = os.Stdin

func main() {
	// SIGTERM is how service managers and container runtimes stop a
	// program: the same clean stop as Ctrl-C.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// errUsage marks errors caused by how the command was called;
// errUsageShown, those the flag package has already printed.
var (
	errUsage      = errors.New("usage")
	errUsageShown = errors.New("usage shown")
	// errSilent fails a command whose output already says why.
	errSilent = errors.New("failed")
)

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	if args[0] == "--version" || args[0] == "-version" {
		args = append([]string{"version"}, args[1:]...)
	}
	for _, c := range commands {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, args[1:], stdout, stderr)
		switch {
		case err == nil:
			return exitOK
		case errors.Is(err, flag.ErrHelp):
			return exitOK
		case errors.Is(err, errUsageShown):
			return exitUsage
		case errors.Is(err, errSilent):
			return exitRejected
		case errors.Is(err, errUsage):
			fmt.Fprintf(stderr, "kyccb %s: %s\n", c.name, termSafe(err.Error()))
			return exitUsage
		default:
			fmt.Fprintf(stderr, "kyccb %s: %s\n", c.name, termSafe(err.Error()))
			return exitRejected
		}
	}
	fmt.Fprintf(stderr, "kyccb: unknown command %s\n\n", termSafe(strconv.Quote(args[0])))
	usage(stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "kyccb authenticates KYC status callbacks (SEP-12 and XGateway) and explains verdicts.")
	fmt.Fprintln(w, "\nUsage: kyccb <command> [flags]\n\nCommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'kyccb <command> -h' for a command's flags and examples.")
}
