package localanchor

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"

	"github.com/kyccb/kyccb/internal/httpx"
	"net"
	"net/http"
	"time"

	"github.com/kyccb/kyccb"
)

// parseStatus returns the SEP-12 status named s.
func parseStatus(s string) (kyccb.Status, bool) {
	switch st := kyccb.Status(s); st {
	case kyccb.StatusAccepted, kyccb.StatusProcessing, kyccb.StatusNeedsInfo, kyccb.StatusRejected:
		return st, true
	}
	return "", false
}

// final reports whether st ends the callbacks, as SEP-12 says.
func final(st kyccb.Status) bool {
	return st == kyccb.StatusAccepted || st == kyccb.StatusRejected
}

// outcome is how a review ends: the script's last status if it ends the
// script (ACCEPTED or REJECTED), else ACCEPTED.
func (a *Anchor) outcome() kyccb.Status {
	if last := a.statuses[len(a.statuses)-1]; final(last) {
		return last
	}
	return kyccb.StatusAccepted
}

// startScriptLocked stops c's script, if one runs, and starts statuses
// for it. a.mu must be held.
func (a *Anchor) startScriptLocked(c *customer, statuses []kyccb.Status) {
	c.gen++
	c.scripted = true
	a.wg.Add(1)
	go a.runScript(c, c.gen, statuses)
}

// runScript moves c through statuses, one step every Every, until they
// end, the anchor closes or c.gen moves on (a new script, a status set by
// hand, a deletion).
func (a *Anchor) runScript(c *customer, gen uint64, statuses []kyccb.Status) {
	defer a.wg.Done()
	t := time.NewTimer(a.cfg.Every)
	defer t.Stop()
	for i, st := range statuses {
		select {
		case <-a.ctx.Done():
			return
		case <-t.C:
		}
		a.mu.Lock()
		if c.gen != gen {
			a.mu.Unlock()
			return
		}
		a.setStatusLocked(c, st, "")
		last := i == len(statuses)-1 || final(st)
		if last {
			c.scripted = false
		}
		a.mu.Unlock()
		if last {
			return
		}
		t.Reset(a.cfg.Every)
	}
}

// Why no callback goes out for a status change, as the events and the
// admin endpoint say it.
const (
	noCallbackURL    = "no callback: no callback URL is registered"
	noCallbackEnded  = "no callback: the registration ended at ACCEPTED or REJECTED, as SEP-12 says; PUT /customer/callback again to hear of this customer"
	noCallbackClosed = "no callback: the anchor is closing"
)

// setStatusLocked sets c's status and message, reports it, and queues its
// new body for its callback URL, if one is registered. After ACCEPTED or
// REJECTED the URL is dropped: SEP-12 anchors send nothing more until the
// wallet registers again. It returns why no callback was queued, or "".
// a.mu must be held.
func (a *Anchor) setStatusLocked(c *customer, st kyccb.Status, message string) string {
	if st == kyccb.StatusRejected && message == "" {
		message = defaultRejection
	}
	c.status, c.message = st, message
	why := ""
	switch {
	case a.closed:
		why = noCallbackClosed
	case c.url == "" && c.ended:
		why = noCallbackEnded
	case c.url == "":
		why = noCallbackURL
	}
	a.emit(Event{Kind: EventStatus, Customer: c.id, Account: c.subject, Status: string(st), Message: message, NoCallback: why})
	a.customerChangedLocked(c)
	if why != "" {
		return why
	}
	a.queueLocked(c, outgoing{url: c.url, body: c.body(), status: string(st)})
	if final(st) {
		c.url = ""
		c.ended = true
	}
	return ""
}

// queueLocked queues o among c's callbacks, which are sent one at a time,
// in order. a.mu must be held.
func (a *Anchor) queueLocked(c *customer, o outgoing) {
	c.outbox = append(c.outbox, o)
	if !c.sending {
		c.sending = true
		a.wg.Add(1)
		go a.drain(c)
	}
}

// drain sends c's queued callbacks until none is left: one at a time and
// in order, or, with Config.Delay, each after its own random wait, at
// once, so that they may arrive out of order.
func (a *Anchor) drain(c *customer) {
	defer a.wg.Done()
	for {
		a.mu.Lock()
		if len(c.outbox) == 0 || c.deleted {
			c.outbox = nil
			c.sending = false
			a.mu.Unlock()
			return
		}
		o := c.outbox[0]
		c.outbox = c.outbox[1:]
		a.mu.Unlock()
		if a.cfg.Delay > 0 {
			a.wg.Add(1)
			go func() {
				defer a.wg.Done()
				a.sendOne(c, o, rand.N(a.cfg.Delay))
			}()
			continue
		}
		a.sendOne(c, o, 0)
	}
}

// sendOne delivers o after wait, 1 + Config.Duplicates times, each
// delivery signed anew and retried on its own, reporting each attempt and
// outcome. With Config.Coalesce the body is the customer's or the
// transaction's state when it is sent, not when it changed.
func (a *Anchor) sendOne(c *customer, o outgoing, wait time.Duration) {
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-a.ctx.Done():
			return
		case <-t.C:
		}
	}
	if a.cfg.Coalesce {
		a.mu.Lock()
		if t := a.txs[o.tx]; o.tx != "" && t != nil {
			o.body, o.status = t.body(), t.status
		} else if o.tx == "" && !c.deleted {
			o.body, o.status = c.body(), string(c.status)
		}
		a.mu.Unlock()
	}
	for i := range 1 + a.cfg.Duplicates {
		ev := Event{Customer: c.id, Account: c.subject, URL: o.url, Status: o.status, Transaction: o.tx}
		if i > 0 {
			ev.Message = fmt.Sprintf("duplicate %d of %d", i, a.cfg.Duplicates)
		}
		n, err := a.send.deliver(a.ctx, o.url, o.body, time.Duration(i)*time.Second, func(at attempt) {
			e := ev
			e.Kind, e.Attempt, e.StatusCode, e.RetryIn = EventAttempt, at.n, at.statusCode, at.retryIn
			if at.err != nil {
				e.Error = at.err.Error()
			}
			a.emit(e)
		})
		ev.Kind, ev.Attempt = EventDelivered, n
		if err != nil {
			ev.Kind, ev.Error = EventFailed, err.Error()
		}
		a.emit(ev)
		if a.ctx.Err() != nil {
			return
		}
	}
}

// adminReply is the reply of the admin endpoint.
type adminReply struct {
	// Customer is the customer's GET /customer body, the callback's.
	Customer json.RawMessage `json:"customer"`
	// Callback says whether the body is being sent, and to where, or why
	// not.
	Callback string `json:"callback"`
}

// setStatus serves POST /admin/customers/{id}/status with {"status",
// "message"?} as JSON or a form: it stops the customer's script, sets the
// status and delivers the new body to the callback URL, if one is
// registered, in the background. It answers 200 with an [adminReply]: the
// body, and whether a callback goes out, or why not.
func (a *Anchor) setStatus(w http.ResponseWriter, r *http.Request) {
	fields, _, err := readFields(w, r, maxBodyBytes)
	if err != nil {
		a.refuse(w, r, http.StatusBadRequest, `the body must be JSON or a form with a "status"`, err)
		return
	}
	st, ok := parseStatus(fields["status"])
	if !ok {
		a.refuse(w, r, http.StatusBadRequest, "status must be ACCEPTED, PROCESSING, NEEDS_INFO or REJECTED", nil)
		return
	}
	a.mu.Lock()
	c := a.customers[r.PathValue("id")]
	if c == nil {
		a.mu.Unlock()
		a.refuse(w, r, http.StatusNotFound, "customer not found", nil)
		return
	}
	c.gen++ // the script stops: the customer is driven by hand now
	c.scripted = false
	url := c.url
	why := a.setStatusLocked(c, st, fields["message"])
	body := c.body()
	a.mu.Unlock()
	if why == "" {
		why = "sending to " + url
	}
	writeJSON(w, http.StatusOK, adminReply{Customer: body, Callback: why})
}

// adminOnly guards the admin endpoint, which asks for no JWT: it answers
// 403 unless the request comes from a loopback address, names a loopback
// host in its Host header (a web page whose name was rebound to 127.0.0.1
// sends its own name), and is not a browser's cross-origin request.
func (a *Anchor) adminOnly(h http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.refuse(w, r, http.StatusForbidden, "cross-origin requests are refused", nil)
	}))
	guarded := cop.Handler(h)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		remote, _, err := net.SplitHostPort(r.RemoteAddr)
		if ip := net.ParseIP(remote); err != nil || ip == nil || !ip.IsLoopback() {
			a.refuse(w, r, http.StatusForbidden, "the admin endpoint answers loopback clients only", nil)
			return
		}
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if !httpx.IsLoopback(host) {
			a.refuse(w, r, http.StatusForbidden, "the admin endpoint answers requests for a loopback host only", nil)
			return
		}
		guarded.ServeHTTP(w, r)
	})
}
