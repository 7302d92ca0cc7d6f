package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/kyccb/kyccb"
)

const listenUsage = `
Usage: kyccb listen --mode sep12 --signing-key G... [--host HOST] [--addr 127.0.0.1:8080] [--forward URL]
       kyccb listen --mode sep12 --anchor-domain DOMAIN [--host HOST] [...]
       kyccb listen --mode xgateway --secret S [--addr 127.0.0.1:8080] [--forward URL]

Runs a verifying receiver on every path of --addr and prints each callback:
its verdict, the decoded customer and status, and for a rejection the
library's reason and a diagnosis (wrong host or port, another key, clock
offset, body changed). Verified callbacks are answered 200, or passed with
their body byte for byte and their headers to --forward, whose reply goes
back to the sender. With --json, one JSON object per line and callback
(verdict, reason, customer_id, status, diagnosis, ...). Ctrl-C stops it.

--anchor-domain reads the signing key from the SIGNING_KEY of the anchor's
stellar.toml instead, and reads it again when a signature fails (a key
rotation), at most every --refresh-interval.

--host is the host of the callback URL registered with the anchor, exactly
as the anchor signs it (host, or host:port when the URL has a port); by
default the listening address, right for a sender that posts to it
directly. The secret may come from KYCCB_SECRET.

Examples:
  kyccb listen --signing-key GCHL... --addr 127.0.0.1:8080
  kyccb listen --signing-key GCHL... --host wallet.example.org --forward http://127.0.0.1:3000/kyc
  kyccb listen --anchor-domain testanchor.stellar.org --host wallet.example.org
  kyccb listen --mode xgateway --secret "$SECRET" --addr 127.0.0.1:9090 --json
`

func runListen(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("listen", listenUsage, stderr)
	mode := fs.String("mode", "sep12", "sep12 or xgateway")
	var keys listFlag
	fs.Var(&keys, "signing-key", "SEP-12: the anchor's SIGNING_KEY G... (repeat or comma-separate for several)")
	domain := fs.String("anchor-domain", "", "SEP-12: read the signing key from this anchor's stellar.toml instead of --signing-key")
	refresh := fs.Duration("refresh-interval", kyccb.DefaultRefreshInterval, "SEP-12 with --anchor-domain: the least time between two reads of the stellar.toml")
	host := fs.String("host", "", "SEP-12: the host of the registered callback URL, or the URL (default: the listening address)")
	secretFlag := fs.String("secret", "", "XGateway: the merchant secret key (or KYCCB_SECRET)")
	addr := fs.String("addr", "127.0.0.1:8080", "the address to listen on; port 0 picks a free one")
	forward := fs.String("forward", "", "pass verified callbacks on to this URL, your app's callback endpoint")
	tolerance := fs.Duration("tolerance", kyccb.DefaultTolerance, "SEP-12: how far the signing time may be from the clock")
	asJSON := fs.Bool("json", false, "print one JSON object per callback and line")
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	if err := checkMode(*mode); err != nil {
		return err
	}
	cfg := receiverConfig{mode: *mode, tolerance: *tolerance, forward: *forward}
	switch *mode {
	case "sep12":
		switch {
		case len(keys) > 0 && *domain != "":
			return fmt.Errorf("%w: give --signing-key or --anchor-domain, not both", errUsage)
		case *domain != "":
			src, err := kyccb.NewTOMLKeys(*domain, append(anchorOptions(), kyccb.WithRefreshInterval(*refresh))...)
			if err != nil {
				return fmt.Errorf("%w: %w", errUsage, err)
			}
			// Fetched now, so that a wrong domain fails at once rather than
			// with a 503 to every callback.
			if _, err := src.SigningKeys(ctx); err != nil {
				return fmt.Errorf("reading the signing key of %s: %w", *domain, err)
			}
			cfg.keys = src
		case len(keys) > 0:
			trusted, err := kyccb.ParseKeys(keys...)
			if err != nil {
				return fmt.Errorf("%w: %w", errUsage, err)
			}
			cfg.keys = trusted
		default:
			return fmt.Errorf("%w: --signing-key or --anchor-domain is required in sep12 mode", errUsage)
		}
	case "xgateway":
		if cfg.secret = secretValue(*secretFlag, "KYCCB_SECRET"); cfg.secret == "" {
			return fmt.Errorf("%w: --secret (or KYCCB_SECRET) is required in xgateway mode", errUsage)
		}
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	cfg.host = *host
	if cfg.host == "" {
		cfg.host = ln.Addr().String()
	}

	st := newStyle(stdout)
	lines := &jsonLines{w: stdout}
	cfg.onReport = func(r *report) {
		if *asJSON {
			lines.write(r)
			return
		}
		// One write per callback, so that concurrent ones do not mix.
		var b bytesWriter
		r.writeText(&b, st, st.dim(r.Time.Local().Format("15:04:05"))+"  ")
		lines.mu.Lock()
		stdout.Write(b)
		lines.mu.Unlock()
	}
	rc, err := newReceiver(cfg)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: rc, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	es := newStyle(stderr)
	fmt.Fprintf(stderr, "%s http://%s (any path)\n", es.bold("listening on"), ln.Addr())
	if *mode == "sep12" {
		keys, _ := cfg.keys.SigningKeys(ctx)
		from := ""
		if *domain != "" {
			from = " from the stellar.toml of " + *domain
		}
		fmt.Fprintf(stderr, "  %s%s for host %q, tolerance %s\n", keyCount(keys), from, rc.cfg.host, *tolerance)
	} else {
		fmt.Fprintln(stderr, "  XGateway callbacks hashed with the given secret")
	}
	if *forward != "" {
		fmt.Fprintf(stderr, "  verified callbacks go on to %s\n", *forward)
	}
	fmt.Fprintln(stderr, es.dim("  Ctrl-C to stop"))

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	// Finish the callbacks in flight, then stop.
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("stopping: %w", err)
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	fmt.Fprintln(stderr, "stopped")
	return nil
}

// bytesWriter collects writes.
type bytesWriter []byte

func (b *bytesWriter) Write(p []byte) (int, error) {
	*b = append(*b, p...)
	return len(p), nil
}
