package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/kyccb/kyccb"
	"github.com/kyccb/kyccb/wallet"
)

const listenUsage = `
Usage: kyccb listen --mode sep12 --signing-key G... [--host HOST] [--addr 127.0.0.1:8080] [--forward URL]
       kyccb listen --mode sep12 --anchor-domain DOMAIN [--host HOST] [...]
       kyccb listen --mode xgateway --secret S [--addr 127.0.0.1:8080] [--forward URL]

Runs a verifying receiver on every path of --addr and prints each
callback: its verdict, the decoded customer or transaction (SEP-6,
SEP-24, SEP-31) and its status, and for a rejection the library's reason
and a diagnosis (wrong host or port, another key, clock offset, body
changed). A rejected callback's customer and status are what its body
claims: marked "(unverified)", and in JSON under "unverified" instead of
customer_id and status. Verified callbacks are answered 200, or passed
to --forward, whose reply goes back to the sender. With --json, one JSON
object per line and callback (verdict, reason, customer_id, status,
diagnosis, ...). Ctrl-C or SIGTERM stops it, with exit status 0.

--forward passes the body byte for byte with only these headers: the
sender's Content-Type, Signature, X-Stellar-Signature and User-Agent,
X-Forwarded-For set to the sender's address as listen saw it,
X-Forwarded-Host set to listen's host (SEP-12), and Content-Length. The
signature does not cover headers, so no other header of the sender's
reaches the app: hop-by-hop ones (Connection and those it
names, Keep-Alive, TE, Upgrade, Proxy-*, ...), the sender's own
X-Forwarded-*, X-Real-Ip and Forwarded, cookies, authorization, and the
rest are dropped. The app behind --forward must verify SEP-12 callbacks
for listen's host (--host: the host of the URL registered with the
anchor), not for its own address: the anchor signed that host, and listen
passes the signature on. Configured with its own, the app refuses every
callback (listen prints a hint beside its 401), and kyccb in the app names
the X-Forwarded-Host in its reason.

--diagnose says which rejections get a diagnosis. A diagnosis tries the
usual mistakes, hundreds of signature checks over the body, so anyone who
can reach the port could make listen do that work: "cheap" (the default)
diagnoses bodies up to 64 KiB, at most 10 at once and 5 a second, and
says "diagnosis skipped" for the others; "all" diagnoses every rejection,
for a receiver only you can reach; "off" prints the library's reason only.

Replies never wait for long on standard output: while it keeps up, a
reply goes out once its callback is printed; when it stalls (a pager at
its prompt, Ctrl-S, a pipe nobody reads), replies go out at once, up to
1 MiB of lines wait, and the lines beyond that are dropped, counted in the
output once it drains ({"not_printed": N} with --json) and on stopping.

--anchor-domain reads the signing key from the SIGNING_KEY of the anchor's
stellar.toml instead, and reads it again when a signature fails (a key
rotation), at most every --refresh-interval. The domain is a host name,
whose stellar.toml is fetched over https (https://HOST is read as HOST), or
a local anchor's loopback host:port (kyccb anchor's, such as
127.0.0.1:8000), fetched over plain http.

--host is the host of the callback URL registered with the anchor, exactly
as the anchor signs it (host, or host:port when the URL has a port); by
default the listening address, right for a sender that posts to it
directly. An --addr on every interface (0.0.0.0:PORT, [::]:PORT, :PORT)
needs --host. The secret may come from KYCCB_SECRET.

The server reads a request's headers within 5 s and all of it within 10 s,
writes the reply within 30 s, and keeps an idle connection 60 s (the
settings docs/security.md recommends).

Examples:
  kyccb listen --signing-key GCHL... --addr 127.0.0.1:8080
  kyccb listen --signing-key GCHL... --host wallet.example.org --forward http://127.0.0.1:3000/kyc
  kyccb listen --anchor-domain testanchor.stellar.org --host wallet.example.org
  kyccb listen --anchor-domain 127.0.0.1:8000 --addr 127.0.0.1:8080 --json
  kyccb listen --mode xgateway --secret "$SECRET" --addr 127.0.0.1:9090 --json
  kyccb listen --signing-key GCHL... --diagnose all
`

// serverLimits are the server settings docs/security.md recommends for a callback
// URL ("Recommended server settings"): listen's port is a callback URL,
// open to whoever finds it. Tests shorten them.
var serverLimits = struct {
	readHeader, read, write, idle time.Duration
	maxHeaderBytes                int
}{
	readHeader:     5 * time.Second,  // the headers, however slowly they trickle
	read:           10 * time.Second, // the whole request, body included
	write:          30 * time.Second, // from the end of the headers: body, forwarding, the reply
	idle:           60 * time.Second, // a kept-alive connection between callbacks
	maxHeaderBytes: 16 << 10,         // a callback's headers are a few hundred bytes
}

// newServer returns a server for h with serverLimits.
func newServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: serverLimits.readHeader,
		ReadTimeout:       serverLimits.read,
		WriteTimeout:      serverLimits.write,
		IdleTimeout:       serverLimits.idle,
		MaxHeaderBytes:    serverLimits.maxHeaderBytes,
	}
}

func runListen(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("listen", listenUsage, stderr)
	mode := fs.String("mode", "sep12", "sep12 or xgateway")
	var keys listFlag
	fs.Var(&keys, "signing-key", "SEP-12: the anchor's SIGNING_KEY G... (repeat or comma-separate for several)")
	domain := fs.String("anchor-domain", "", "SEP-12: read the signing key from this anchor's stellar.toml instead of --signing-key")
	refresh := fs.Duration("refresh-interval", wallet.DefaultRefreshInterval, "SEP-12 with --anchor-domain: the least time between two reads of the stellar.toml")
	host := fs.String("host", "", "SEP-12: the host of the registered callback URL, or the URL (default: the listening address)")
	secretFlag := fs.String("secret", "", "XGateway: the merchant secret key (or KYCCB_SECRET)")
	addr := fs.String("addr", "127.0.0.1:8080", "the address to listen on; port 0 picks a free one")
	forward := fs.String("forward", "", "pass verified callbacks on to this URL, your app's callback endpoint")
	tolerance := fs.Duration("tolerance", kyccb.DefaultTolerance, "SEP-12: how far the signing time may be from the clock")
	asJSON := fs.Bool("json", false, "print one JSON object per callback and line")
	diagnose := fs.String("diagnose", diagnoseCheap, "which rejections get a diagnosis: cheap (small bodies, rate limited), all or off")
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	if err := checkMode(*mode); err != nil {
		return err
	}
	cfg := receiverConfig{mode: *mode, tolerance: *tolerance, forward: *forward, diagnose: *diagnose}
	switch *mode {
	case "sep12":
		switch {
		case len(keys) > 0 && *domain != "":
			return fmt.Errorf("%w: give --signing-key or --anchor-domain, not both", errUsage)
		case *domain != "":
			src, err := wallet.NewTOMLKeys(*domain, append(anchorOptions(), wallet.WithRefreshInterval(*refresh))...)
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
			trusted, err := parseSigningKeys(keys)
			if err != nil {
				return err
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

	if *mode == "sep12" && *host == "" && unspecifiedHost(*addr) {
		// The listener's own address would be 0.0.0.0:PORT or [::]:PORT,
		// which no callback URL has: every callback would be rejected.
		return fmt.Errorf("%w: --addr listens on every interface, so listen cannot tell the host callbacks are signed for: give --host, the host of the callback URL registered with the anchor", errUsage)
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
	// Lines go through a bounded queue, so that a stdout that does not
	// drain holds no reply (see output).
	out := newOutput(stdout, *asJSON)
	cfg.onReport = func(r *report) {
		var b bytesWriter
		if *asJSON {
			js, err := json.Marshal(r)
			if err != nil {
				return
			}
			b = append(jsonSafe(js), '\n')
		} else {
			r.writeText(&b, st, st.dim(r.Time.Local().Format("15:04:05"))+"  ")
		}
		out.print(b)
	}
	rc, err := newReceiver(cfg)
	if err != nil {
		return err
	}
	srv := newServer(rc)
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
		fmt.Fprintf(stderr, "  %s%s for host %s, tolerance %s\n", keyCount(keys), termSafe(from), termSafe(strconv.Quote(rc.cfg.host)), *tolerance)
	} else {
		fmt.Fprintln(stderr, "  XGateway callbacks hashed with the given secret")
	}
	if *forward != "" {
		fmt.Fprintf(stderr, "  verified callbacks go on to %s\n", termSafe(displayURL(*forward)))
		if *mode == "sep12" {
			fmt.Fprintf(stderr, "  the app there must verify for host %s (listen's, the registered URL's), not its own\n", termSafe(strconv.Quote(rc.cfg.host)))
		}
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
	if n := out.close(2 * time.Second); n > 0 {
		fmt.Fprintf(stderr, "%s not printed: standard output did not keep up\n", plural(n, "callback"))
	}
	fmt.Fprintln(stderr, "stopped")
	return nil
}

// unspecifiedHost reports whether addr's host is empty or an unspecified
// address (0.0.0.0, ::): a listener on every interface.
func unspecifiedHost(addr string) bool {
	h, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(h)
	return h == "" || ip != nil && ip.IsUnspecified()
}

// bytesWriter collects writes.
type bytesWriter []byte

func (b *bytesWriter) Write(p []byte) (int, error) {
	*b = append(*b, p...)
	return len(p), nil
}
