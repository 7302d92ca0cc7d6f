package localanchor

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/kyccb/kyccb/internal/httpx"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/kyccb/kyccb"
	"github.com/stellar/go-stellar-sdk/keypair"
	"github.com/stellar/go-stellar-sdk/network"
)

// NetworkPassphrase is the NETWORK_PASSPHRASE of the local anchor's
// stellar.toml, the Stellar test network's: challenges are signed for it.
// Nothing is ever submitted to a network.
const NetworkPassphrase = network.TestNetworkPassphrase

// OrgName is the ORG_NAME of the stellar.toml's [DOCUMENTATION] table.
const OrgName = "kyccb local anchor"

// The anchor's fixed lifetimes.
const (
	// ChallengeTimeout is how long a SEP-10 challenge stays valid, the
	// time SEP-10 recommends.
	ChallengeTimeout = 5 * time.Minute
	// TokenLifetime is how long a JWT the anchor issues stays valid.
	TokenLifetime = time.Hour
	// DefaultEvery is the time between two steps of the status script
	// unless [Config.Every] says otherwise.
	DefaultEvery = 2 * time.Second
)

// Config configures an [Anchor]. Only Addr is required.
type Config struct {
	// Addr is the address the caller listens on, host:port, such as
	// "127.0.0.1:8000": the anchor's domain, in its stellar.toml, its
	// challenges and its URLs. The host must be loopback (127.0.0.0/8,
	// ::1 or localhost) and the port given: to use a free port, listen
	// on "127.0.0.1:0" first and pass the listener's address.
	Addr string
	// Seed is the anchor's secret seed ("S..."), whose public key is its
	// SIGNING_KEY: it signs challenges and callbacks. Empty means a fresh
	// random key for this anchor only: read its public key with
	// [Anchor.SigningKey].
	Seed string
	// Statuses is the status script: the statuses a customer goes
	// through, one every Every, once it registers a callback. Each is
	// ACCEPTED, PROCESSING, NEEDS_INFO or REJECTED; the script ends at the
	// first ACCEPTED or REJECTED, so none may follow one. Empty means
	// NEEDS_INFO, PROCESSING, ACCEPTED.
	Statuses []string
	// Every is the time between two steps of the script, the first one
	// included. Zero means [DefaultEvery].
	Every time.Duration
	// Client delivers the callbacks. Its redirect policy is replaced: no
	// redirect is followed. Nil means a client whose dialer refuses every
	// address but a loopback one and which uses no proxy; a client given
	// here is trusted to reach only what it should.
	Client *http.Client
	// Attempts is how many times a callback is sent at most, the first
	// attempt included. Zero means 4, as the Anchor Platform: up to 3
	// retries.
	Attempts int
	// Backoff and MaxBackoff are the wait before the first retry (each
	// next one twice as long, with jitter) and the longest wait. Zero
	// means 1 s and 30 s; tests set them short.
	Backoff, MaxBackoff time.Duration
	// Now is the anchor's clock, for the JWTs' times and the callbacks'
	// signatures. Nil means time.Now. Challenges' time bounds follow the
	// system clock whatever Now says, as go-stellar-sdk makes and checks
	// them with it.
	Now func() time.Time
	// Duplicates, Delay and Coalesce make deliveries as messy as real
	// ones, so that a wallet can watch its dedup and ordering at work.
	// All are off by default.
	//
	// Duplicates is how many times each callback is delivered again,
	// each delivery signed anew, as a sender that did not hear the first
	// reply does: 0 to 10. The n-th copy is signed n seconds after the
	// clock, within any tolerance, so that it is a redelivery with a
	// signature of its own, not a copy of the first request (which a
	// wallet's replay protection answers without its dedup).
	Duplicates int
	// Delay, if not zero, holds each callback a random time up to Delay
	// before it is sent, and sends a customer's callbacks at once rather
	// than one after the other, so that they may arrive out of order.
	Delay time.Duration
	// Coalesce makes a callback carry the state of its customer or
	// transaction when it is sent, not when it changed: with quick
	// changes (and a Delay, as an event processor's latency) several
	// callbacks carry the same, latest, body, and an intermediate status
	// such as PROCESSING may never be seen, as ANCHOR-746 describes of the
	// Anchor Platform.
	Coalesce bool
	// WebAuthDomain is the value of the challenges' web_auth_domain
	// operation, which a wallet compares with the host of the
	// WEB_AUTH_ENDPOINT. Empty means Addr, host and port, as the Anchor
	// Platform does by default and package sep10 expects. The TypeScript
	// wallet SDK (@stellar/typescript-wallet-sdk) compares it with the
	// endpoint's host without its port: set the host alone, such as
	// "127.0.0.1", for it. It must be a loopback host, with or without a
	// port.
	WebAuthDomain string
	// Events, if not nil, receives what the anchor does (see [Event]),
	// one event at a time, in the order they happened, from a goroutine
	// of the anchor's. The anchor never waits for it: a slow hook delays
	// only the events after it.
	Events func(Event)
}

// Anchor is a local SEP-10 and SEP-12 anchor. It is an [http.Handler]; build
// it with [New]. It is safe for concurrent use.
type Anchor struct {
	cfg      Config
	kp       *keypair.Full
	domain   string // cfg.Addr
	port     string // of cfg.Addr
	authDom  string // the challenges' web_auth_domain
	base     string // http://domain
	webAuth  string // base + "/auth"
	statuses []kyccb.Status
	// jwtKey is behind a pointer, as kp is: fmt prints a pointer in a
	// struct as an address, so that %+v of an Anchor prints no secret.
	jwtKey *[32]byte
	send   *deliverer
	toml   []byte
	mux    *http.ServeMux

	ctx    context.Context // ends when the anchor is closed
	cancel context.CancelFunc
	wg     sync.WaitGroup // scripts and deliveries

	evMu      sync.Mutex
	evIdle    *sync.Cond // signalled when the queue is empty
	evQueue   []Event
	evRunning bool // a goroutine drains evQueue

	mu        sync.Mutex
	closed    bool
	used      map[string]time.Time    // hashes of challenges exchanged for a JWT, until they expire
	txs       map[string]*transaction // SEP-6 transactions by id
	customers map[string]*customer    // by id
	bySubject map[string]*customer    // by JWT subject: account or account:memo
}

var defaultStatuses = []kyccb.Status{kyccb.StatusNeedsInfo, kyccb.StatusProcessing, kyccb.StatusAccepted}

// New returns an anchor for cfg. It does not listen: the caller listens on
// cfg.Addr and serves the anchor, with [Anchor.Serve] or an http.Server of
// its own, and calls [Anchor.Close] when done.
func New(cfg Config) (*Anchor, error) {
	host, port, err := net.SplitHostPort(cfg.Addr)
	if err != nil || host == "" {
		return nil, errors.New("localanchor: the address must be host:port")
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		return nil, errors.New("localanchor: the address needs a port other than 0: listen first, then pass the listener's address")
	}
	if !httpx.IsLoopback(host) {
		return nil, errors.New("localanchor: the address must be on a loopback host (127.0.0.0/8, ::1, localhost): the anchor serves plain http")
	}
	authDom := cfg.WebAuthDomain
	if authDom == "" {
		authDom = cfg.Addr
	}
	adHost := authDom
	if h, _, err := net.SplitHostPort(authDom); err == nil {
		adHost = h
	}
	if !httpx.IsLoopback(strings.Trim(adHost, "[]")) {
		return nil, errors.New("localanchor: the web auth domain must be a loopback host, with or without a port")
	}
	a := &Anchor{
		cfg:       cfg,
		domain:    cfg.Addr,
		port:      port,
		authDom:   authDom,
		used:      make(map[string]time.Time),
		txs:       make(map[string]*transaction),
		base:      "http://" + cfg.Addr,
		customers: make(map[string]*customer),
		bySubject: make(map[string]*customer),
	}
	a.webAuth = a.base + "/auth"

	if cfg.Seed == "" {
		a.kp, err = keypair.Random()
		if err != nil {
			return nil, err
		}
	} else if a.kp, err = keypair.ParseFull(cfg.Seed); err != nil {
		// Not wrapped: keypair's error is not worth the risk of repeating
		// part of a seed.
		return nil, errors.New("localanchor: the seed is not an S... secret seed")
	}

	if len(cfg.Statuses) == 0 {
		a.statuses = defaultStatuses
	}
	for i, s := range cfg.Statuses {
		st, ok := parseStatus(s)
		if !ok {
			return nil, fmt.Errorf("localanchor: status %q is not ACCEPTED, PROCESSING, NEEDS_INFO or REJECTED", s)
		}
		if i > 0 && final(a.statuses[i-1]) {
			return nil, fmt.Errorf("localanchor: status %s follows %s, where the script ends", st, a.statuses[i-1])
		}
		a.statuses = append(a.statuses, st)
	}
	if cfg.Duplicates < 0 || cfg.Duplicates > 10 {
		return nil, errors.New("localanchor: Duplicates must be from 0 to 10")
	}
	if cfg.Delay < 0 {
		return nil, errors.New("localanchor: Delay must not be negative")
	}
	if a.cfg.Every < 0 {
		return nil, errors.New("localanchor: Every must not be negative")
	}
	if a.cfg.Every == 0 {
		a.cfg.Every = DefaultEvery
	}
	if a.cfg.Now == nil {
		a.cfg.Now = time.Now
	}

	so := sendOptions{client: cfg.Client, attempts: cfg.Attempts, backoff: cfg.Backoff, longest: cfg.MaxBackoff, now: a.cfg.Now}
	if so.client == nil {
		so.client = loopbackClient()
	}
	if so.attempts == 0 {
		so.attempts = 4
	}
	if so.backoff == 0 {
		so.backoff = time.Second
	}
	if so.longest == 0 {
		so.longest = max(30*time.Second, so.backoff)
	}
	if a.send, err = newDeliverer(a.kp.Seed(), so); err != nil {
		return nil, fmt.Errorf("localanchor: delivery settings: %w", err)
	}

	a.jwtKey = new([32]byte)
	rand.Read(a.jwtKey[:]) // never fails (crypto/rand, Go 1.24 and later)
	a.cfg.Seed = ""        // kept in kp and the sender only

	// TOML basic strings are JSON strings; every value here is ASCII.
	// The [DOCUMENTATION] table is optional in SEP-1, but every real
	// anchor has one, and the TypeScript wallet SDK reads ORG_NAME from it
	// without a guard: without it, none of that SDK works.
	a.toml = fmt.Appendf(nil, "# kyccb's local anchor: plain http on loopback, for tests only.\n"+
		"NETWORK_PASSPHRASE = %s\nSIGNING_KEY = %s\nWEB_AUTH_ENDPOINT = %s\nKYC_SERVER = %s\nTRANSFER_SERVER = %s\n"+
		"\n[DOCUMENTATION]\nORG_NAME = %s\nORG_DESCRIPTION = %s\n",
		quote(NetworkPassphrase), quote(a.kp.Address()), quote(a.webAuth), quote(a.base), quote(a.base),
		quote(OrgName), quote("A local test anchor (kyccb anchor): SEP-1, SEP-6, SEP-10 and SEP-12 on a loopback address, for tests only."))

	a.ctx, a.cancel = context.WithCancel(context.Background())
	a.evIdle = sync.NewCond(&a.evMu)
	a.routes()
	return a, nil
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func (a *Anchor) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /.well-known/stellar.toml", a.serveTOML)
	m.HandleFunc("GET /auth", a.challenge)
	m.HandleFunc("OPTIONS /auth", a.preflight)
	m.HandleFunc("POST /auth", a.token)
	m.HandleFunc("GET /customer", a.authorized(a.getCustomer))
	m.HandleFunc("PUT /customer", a.authorized(a.putCustomer))
	m.HandleFunc("PUT /customer/callback", a.authorized(a.putCallback))
	m.HandleFunc("DELETE /customer/{account}", a.authorized(a.deleteCustomer))
	m.HandleFunc("GET /info", a.info)
	m.HandleFunc("GET /deposit", a.authorized(a.transfer("deposit")))
	m.HandleFunc("GET /withdraw", a.authorized(a.transfer("withdrawal")))
	m.HandleFunc("GET /transaction", a.authorized(a.getTransaction))
	m.HandleFunc("GET /transactions", a.authorized(a.getTransactions))
	m.Handle("POST /admin/customers/{id}/status", a.adminOnly(http.HandlerFunc(a.setStatus)))
	a.mux = m
}

// Format prints the anchor as its URL and SIGNING_KEY, whatever the verb:
// never its seed or its JWT key.
func (a *Anchor) Format(f fmt.State, verb rune) {
	fmt.Fprintf(f, "localanchor.Anchor{URL: %s, SigningKey: %s}", a.base, a.kp.Address())
}

// LogValue is [Anchor.Format]'s text, for log/slog.
func (a *Anchor) LogValue() slog.Value { return slog.StringValue(fmt.Sprint(a)) }

// Format prints c with its Seed, if any, replaced by "[redacted]", for
// every verb (%x of the seed would be as good as the seed).
func (c Config) Format(f fmt.State, verb rune) {
	type plain Config // without the methods
	p := plain(c)
	if p.Seed != "" {
		p.Seed = "[redacted]"
	}
	fmt.Fprintf(f, fmt.FormatString(f, verb), p)
}

// LogValue is c as %+v prints it, the Seed redacted, for log/slog.
func (c Config) LogValue() slog.Value { return slog.StringValue(fmt.Sprintf("%+v", c)) }

// SigningKey returns the anchor's SIGNING_KEY, the "G..." public key that
// signs its challenges and callbacks.
func (a *Anchor) SigningKey() string { return a.kp.Address() }

// URL returns the anchor's base URL, "http://" + [Config.Addr]: its
// KYC_SERVER, with the stellar.toml at /.well-known/stellar.toml.
func (a *Anchor) URL() string { return a.base }

// WebAuthEndpoint returns the anchor's WEB_AUTH_ENDPOINT.
func (a *Anchor) WebAuthEndpoint() string { return a.webAuth }

// ServeHTTP serves the endpoints listed in the package documentation. A
// request whose Host header is not the anchor's own loopback address is
// answered 421 before anything else is done: see the package
// documentation's "DNS rebinding".
func (a *Anchor) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !a.ownHost(r.Host) {
		// The Host is not repeated, not even in the event: it is the
		// attacker's text.
		a.refuse(w, r, http.StatusMisdirectedRequest, "this anchor answers requests for its own loopback address only", nil)
		return
	}
	switch r.URL.Path {
	case "/auth", "/.well-known/stellar.toml", "/info":
		// SEP-10 (errors included), SEP-1 and SEP-6's public /info are
		// for browser wallets too.
		w.Header().Set("Access-Control-Allow-Origin", "*")
	}
	a.mux.ServeHTTP(&jsonErrors{ResponseWriter: w}, r)
}

// ownHost reports whether host, a request's Host header, names the anchor:
// a loopback host ("localhost" or a loopback IP address) with the
// anchor's port. A page whose name an attacker rebound to 127.0.0.1 sends
// its own name, which is refused.
func (a *Anchor) ownHost(host string) bool {
	h, port, err := net.SplitHostPort(host)
	return err == nil && port == a.port && httpx.IsLoopback(h)
}

// preflight answers a browser's CORS preflight for the SEP-10 endpoints,
// which SEP-10 requires. The authenticated endpoints answer none: a page
// of another origin cannot send them a JWT (see "DNS rebinding and
// browsers" in the package documentation).
func (a *Anchor) preflight(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
	w.Header().Set("Access-Control-Allow-Headers", "Content-Type")
	w.Header().Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
}

// jsonErrors turns the error replies http.ServeMux writes itself (404 for
// no route, 405 for a wrong method) into SEP error bodies: SEP-12 asks
// for application/json from every endpoint. The anchor's own handlers
// write JSON already, and mark it so.
type jsonErrors struct {
	http.ResponseWriter
	discard bool
}

func (j *jsonErrors) WriteHeader(code int) {
	h := j.Header()
	if code >= 400 && !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
		h.Set("Content-Type", "application/json; charset=utf-8")
		h.Del("X-Content-Type-Options")
		j.ResponseWriter.WriteHeader(code)
		b, _ := json.Marshal(errorReply{Error: strings.ToLower(http.StatusText(code))})
		j.ResponseWriter.Write(b)
		j.discard = true
		return
	}
	j.ResponseWriter.WriteHeader(code)
}

func (j *jsonErrors) Write(b []byte) (int, error) {
	if j.discard {
		return len(b), nil
	}
	return j.ResponseWriter.Write(b)
}

// Serve serves the anchor on l, which must listen on a loopback address,
// until ctx ends; then it shuts the server down, waiting up to 5 seconds for
// requests in progress, and closes the anchor. Its first event is
// [EventStart]. It returns nil after ctx ended, or the server's error.
func (a *Anchor) Serve(ctx context.Context, l net.Listener) error {
	if ta, ok := l.Addr().(*net.TCPAddr); !ok || !ta.IP.IsLoopback() {
		return errors.New("localanchor: Serve needs a listener on a loopback address: the anchor serves plain http")
	}
	srv := &http.Server{Handler: a, ReadHeaderTimeout: 10 * time.Second}
	a.emit(Event{Kind: EventStart, URL: a.base, Message: fmt.Sprintf(
		"plain http on loopback, for tests only (every URL in %s/.well-known/stellar.toml is http://); SIGNING_KEY %s",
		a.base, a.kp.Address())})
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		a.Close()
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(sctx)
	<-errc
	a.Close()
	if errors.Is(err, context.DeadlineExceeded) {
		srv.Close()
	}
	return nil
}

// Close stops the status scripts and the deliveries in progress, waits for
// them to end and for the Events hook to have seen every event so far. It
// does not stop a server serving the anchor. Requests made after Close are
// answered, but start no script and send nothing.
func (a *Anchor) Close() error {
	a.mu.Lock()
	a.closed = true
	a.mu.Unlock()
	a.cancel()
	a.wg.Wait()
	a.evMu.Lock()
	for a.evRunning {
		a.evIdle.Wait()
	}
	a.evMu.Unlock()
	return nil
}

// emit queues ev, stamped with the anchor's time, for the Events hook. It
// never waits for the hook, so it may be called with a.mu held: that is
// how a status change is reported before the attempts to deliver it.
func (a *Anchor) emit(ev Event) {
	if a.cfg.Events == nil {
		return
	}
	ev.Time = a.cfg.Now()
	a.evMu.Lock()
	defer a.evMu.Unlock()
	a.evQueue = append(a.evQueue, ev)
	if !a.evRunning {
		a.evRunning = true
		go a.dispatch()
	}
}

// dispatch calls the Events hook with each queued event, in order, until
// the queue is empty.
func (a *Anchor) dispatch() {
	a.evMu.Lock()
	defer a.evMu.Unlock()
	for len(a.evQueue) > 0 {
		ev := a.evQueue[0]
		a.evQueue[0] = Event{}
		a.evQueue = a.evQueue[1:]
		a.evMu.Unlock()
		a.cfg.Events(ev)
		a.evMu.Lock()
	}
	a.evQueue = nil
	a.evRunning = false
	a.evIdle.Broadcast()
}

func (a *Anchor) serveTOML(w http.ResponseWriter, r *http.Request) {
	// SEP-1 asks for CORS on the stellar.toml, so that web wallets can
	// read it: ServeHTTP sets it.
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write(a.toml)
}

var errNotLoopback = errors.New("localanchor: refusing to dial an address that is not loopback")

// loopbackClient returns the default delivery client: it dials loopback
// addresses only, checked after name resolution, and uses no proxy.
func loopbackClient() *http.Client {
	d := &net.Dialer{
		Timeout: 5 * time.Second,
		Control: func(_, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return err
			}
			if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
				return errNotLoopback
			}
			return nil
		},
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	t.DialContext = d.DialContext
	return &http.Client{Transport: t}
}

// writeJSON replies code with v as compact JSON.
func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `{"error":"internal error"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	w.Write(b)
}

// errorReply is the body of every error reply, as the SEPs define it.
type errorReply struct {
	Error string `json:"error"`
}

// refuse replies code with msg, a fixed text, and reports detail, which
// may hold what the client sent, only to the Events hook.
func (a *Anchor) refuse(w http.ResponseWriter, r *http.Request, code int, msg string, detail error) {
	ev := Event{Kind: EventRefused, StatusCode: code, Error: msg, Message: r.Method + " " + r.URL.Path}
	if detail != nil {
		ev.Error = msg + ": " + detail.Error()
	}
	a.emit(ev)
	writeJSON(w, code, errorReply{Error: msg})
}
