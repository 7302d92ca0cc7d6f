package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/kyccb/kyccb"
)

// receiverConfig configures the verifying receiver that listen and demo run.
type receiverConfig struct {
	mode      string          // "sep12" or "xgateway"
	keys      kyccb.KeySource // SEP-12: the trusted signing keys
	host      string          // SEP-12: the host of the registered callback URL
	tolerance time.Duration   // SEP-12; 0 for kyccb.DefaultTolerance
	secret    string          // XGateway: the merchant secret
	forward   string          // where verified callbacks go on to, "" for nowhere
	client    *http.Client    // for forwarding; nil for a default one
	now       func() time.Time
	// onReport receives the verdict on every request, before the reply is
	// sent. It must be safe for concurrent use.
	onReport func(*report)
}

// receiver verifies callbacks on any path with the library's middleware,
// reports every verdict with its diagnosis, and answers the sender: 200,
// the library's rejection, or the reply of the app it forwards to.
type receiver struct {
	cfg  receiverConfig
	xgw  *kyccb.XGatewayVerifier
	next http.Handler // the library's middleware around r.verified
}

// reqState carries what the library decided about one request from its
// error hook and the next handler back to ServeHTTP.
type reqState struct {
	err     error
	forward *forwardResult
}

type stateKey struct{}

func newReceiver(cfg receiverConfig) (*receiver, error) {
	if cfg.now == nil {
		cfg.now = time.Now
	}
	if cfg.tolerance == 0 {
		cfg.tolerance = kyccb.DefaultTolerance
	}
	if cfg.client == nil {
		cfg.client = &http.Client{
			Timeout: 30 * time.Second,
			// The sender gets the app's redirect as it is.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if cfg.forward != "" {
		u, err := url.Parse(cfg.forward)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("%w: --forward must be an http or https URL", errUsage)
		}
	}
	r := &receiver{cfg: cfg}
	opts := []kyccb.Option{
		kyccb.WithClock(cfg.now),
		kyccb.WithErrorHook(func(req *http.Request, err error) {
			if st, ok := req.Context().Value(stateKey{}).(*reqState); ok {
				st.err = err
			}
		}),
	}
	verified := http.HandlerFunc(r.verified)
	switch cfg.mode {
	case "sep12":
		v, err := kyccb.NewSEP12Verifier(cfg.keys, cfg.host, append(opts, kyccb.WithTolerance(cfg.tolerance))...)
		if err != nil {
			return nil, err
		}
		r.cfg.host, r.next = v.Host(), v.Middleware(verified)
	case "xgateway":
		v, err := kyccb.NewXGatewayVerifier(cfg.secret, opts...)
		if err != nil {
			return nil, err
		}
		r.xgw, r.next = v, v.Middleware(verified)
	default:
		return nil, fmt.Errorf("%w: unknown mode %q (sep12 or xgateway)", errUsage, cfg.mode)
	}
	return r, nil
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// A copy of the body for the diagnosis; the library reads the same
	// bytes and enforces its own limit.
	body, _ := io.ReadAll(io.LimitReader(r.Body, kyccb.DefaultMaxBodyBytes+1))
	r.Body = readCloser{io.MultiReader(bytes.NewReader(body), r.Body), r.Body}
	st := &reqState{}
	r = r.WithContext(context.WithValue(r.Context(), stateKey{}, st))

	// The reply is held back until the verdict is reported, so whoever
	// sent the callback finds it reported when the reply arrives.
	rec := &heldReply{header: http.Header{}}
	rc.next.ServeHTTP(rec, r)
	rep := rc.report(r, st, body)
	rep.HTTPStatus = rec.code
	if rc.cfg.onReport != nil {
		rc.cfg.onReport(rep)
	}
	rec.sendTo(w)
}

// verified runs for callbacks the library authenticated.
func (rc *receiver) verified(w http.ResponseWriter, r *http.Request) {
	st, _ := r.Context().Value(stateKey{}).(*reqState)
	body := kyccb.RawBody(r.Context())
	if rc.cfg.mode == "sep12" {
		// The middleware leaves decoding to its next handler; refuse what
		// kyccb.SEP12 would refuse.
		var c kyccb.Customer
		if t := bytes.TrimLeft(body, " \t\r\n"); len(t) == 0 || t[0] != '{' || json.Unmarshal(body, &c) != nil {
			st.err = fmt.Errorf("%w: not a JSON object", kyccb.ErrMalformedBody)
			http.Error(w, http.StatusText(http.StatusBadRequest), http.StatusBadRequest)
			return
		}
	}
	if rc.cfg.forward == "" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
		return
	}
	st.forward = rc.forwardTo(w, r, body)
}

// forwardTo passes a verified callback to the user's app, body byte for
// byte and headers as received, and answers the sender with the app's
// reply, so that the sender retries when the app fails.
func (rc *receiver) forwardTo(w http.ResponseWriter, r *http.Request, body []byte) *forwardResult {
	res := &forwardResult{URL: rc.cfg.forward}
	req, err := http.NewRequestWithContext(r.Context(), r.Method, rc.cfg.forward, bytes.NewReader(body))
	if err != nil {
		res.Error = err.Error()
		http.Error(w, "forwarding failed", http.StatusBadGateway)
		return res
	}
	for name, values := range r.Header {
		if !hopByHop(name) {
			req.Header[name] = append([]string(nil), values...)
		}
	}
	resp, err := rc.cfg.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		res.Error = err.Error()
		http.Error(w, "forwarding failed", http.StatusBadGateway)
		return res
	}
	defer resp.Body.Close()
	res.HTTPStatus = resp.StatusCode
	for _, name := range []string{"Content-Type", "Location", "Retry-After"} {
		if v := resp.Header.Get(name); v != "" {
			w.Header().Set(name, v)
		}
	}
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, io.LimitReader(resp.Body, 1<<20))
	return res
}

// hopByHop reports whether a header belongs to one connection only and so
// is not forwarded (RFC 9110, section 7.6.1).
func hopByHop(name string) bool {
	switch http.CanonicalHeaderKey(name) {
	case "Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
		"Proxy-Connection", "Te", "Trailer", "Transfer-Encoding", "Upgrade", "Content-Length":
		return true
	}
	return false
}

// report describes what happened to r.
func (rc *receiver) report(r *http.Request, st *reqState, body []byte) *report {
	now := rc.cfg.now()
	rep := reportFor(rc.cfg.mode, st.err, now)
	rep.Method, rep.Path = r.Method, r.URL.Path
	rep.Forward = st.forward
	switch rc.cfg.mode {
	case "sep12":
		rep.Host = rc.cfg.host
		rep.addSignature(r.Header, now)
		rep.addCustomer(body)
		if st.err != nil {
			keys, _ := rc.cfg.keys.SigningKeys(r.Context())
			rep.Diagnosis = diagnoseSEP12(sep12Evidence{
				keys: keys, host: rc.cfg.host, tolerance: rc.cfg.tolerance, now: now,
				method: r.Method, header: r.Header, body: body, requestHost: r.Host,
			}, st.err)
		}
	case "xgateway":
		var cb *kyccb.XGatewayCallback
		if st.err == nil {
			if c, err := rc.xgw.Verify(body); err == nil {
				cb = &c
			}
		}
		rep.addXGateway(cb, body)
		if st.err != nil {
			rep.Diagnosis = diagnoseXGateway(rc.cfg.secret, r.Method, body, st.err)
		}
	}
	return rep
}

type readCloser struct {
	io.Reader
	io.Closer
}

// heldReply is a reply written in full before it is sent.
type heldReply struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (h *heldReply) Header() http.Header { return h.header }

func (h *heldReply) WriteHeader(code int) {
	if h.code == 0 {
		h.code = code
	}
}

func (h *heldReply) Write(b []byte) (int, error) {
	h.WriteHeader(http.StatusOK)
	return h.body.Write(b)
}

func (h *heldReply) sendTo(w http.ResponseWriter) {
	if h.code == 0 {
		h.code = http.StatusOK
	}
	for name, values := range h.header {
		w.Header()[name] = values
	}
	w.WriteHeader(h.code)
	w.Write(h.body.Bytes())
}

// hostOf returns the host of a URL, or s itself when it is no URL.
func hostOf(s string) string {
	if strings.Contains(s, "://") {
		if u, err := url.Parse(s); err == nil {
			return u.Host
		}
	}
	return s
}
