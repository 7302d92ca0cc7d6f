package localanchor

import (
	"fmt"
	"strings"
	"time"
)

// EventKind says what an [Event] reports.
type EventKind string

// The kinds of events.
const (
	// EventStart: Serve is serving. URL is the anchor's base URL, Message
	// says it is plain http on loopback and gives the SIGNING_KEY.
	EventStart EventKind = "start"
	// EventRegistered: a customer registered URL as its callback URL.
	EventRegistered EventKind = "registered"
	// EventRefused: a SEP-10 or SEP-12 request was refused; Error says why,
	// in more detail than the reply does.
	EventRefused EventKind = "refused"
	// EventStatus: a customer's status changed to Status, by its script or
	// by hand; Message is the customer's message, if any.
	EventStatus EventKind = "status"
	// EventTransaction: a SEP-6 transaction was made or changed status
	// (Transaction, Status), the customer's status driving it; NoCallback
	// says why no callback goes out, if none does.
	EventTransaction EventKind = "transaction"
	// EventAttempt: one delivery attempt to URL. StatusCode is the
	// wallet's reply, or 0 and Error when the request failed; RetryIn is
	// the wait before the next attempt, 0 when there is none.
	EventAttempt EventKind = "attempt"
	// EventDelivered: the callback was delivered, after Attempt attempts.
	EventDelivered EventKind = "delivered"
	// EventFailed: the anchor gave up on the callback after Attempt
	// attempts; Error says why.
	EventFailed EventKind = "failed"
)

// Event is something the anchor did, for [Config.Events]. Fields that do not
// apply to its Kind are zero. It marshals to one JSON object.
type Event struct {
	Time time.Time `json:"time"`
	Kind EventKind `json:"kind"`
	// Customer is the anchor's customer id.
	Customer string `json:"customer,omitempty"`
	// Transaction is a SEP-6 transaction's id: the event, or the
	// callback an attempt or an outcome is about, is the transaction's.
	Transaction string `json:"transaction,omitempty"`
	// Account is the customer's account, "G..." or "G...:memo".
	Account string `json:"account,omitempty"`
	// URL is the callback URL (the anchor's own for EventStart).
	URL string `json:"url,omitempty"`
	// Status is the customer's SEP-12 status.
	Status string `json:"status,omitempty"`
	// Attempt counts delivery attempts from 1.
	Attempt int `json:"attempt,omitempty"`
	// StatusCode is the HTTP status of the wallet's reply to an attempt,
	// or of the anchor's reply to a refused request.
	StatusCode int `json:"status_code,omitempty"`
	// RetryIn is how long the anchor waits before the next attempt.
	RetryIn time.Duration `json:"retry_in_ns,omitempty"`
	// Error says why an attempt or a delivery failed, or a request was
	// refused.
	Error string `json:"error,omitempty"`
	// Message is the customer's message, or explains the event.
	Message string `json:"message,omitempty"`
	// NoCallback, for EventStatus, says why no callback goes out for
	// the change, such as no URL being registered; empty when one does.
	NoCallback string `json:"no_callback,omitempty"`
}

// String returns the event as one line of text, without its time.
func (e Event) String() string {
	var b strings.Builder
	b.WriteString(string(e.Kind))
	if e.Customer != "" {
		fmt.Fprintf(&b, " customer %s", e.Customer)
	}
	if e.Account != "" {
		fmt.Fprintf(&b, " (%s)", e.Account)
	}
	if e.Transaction != "" {
		fmt.Fprintf(&b, " transaction %s", e.Transaction)
	}
	switch e.Kind {
	case EventStart:
		fmt.Fprintf(&b, " %s", e.URL)
	case EventRegistered:
		fmt.Fprintf(&b, ": callbacks to %s", e.URL)
	case EventStatus, EventTransaction:
		fmt.Fprintf(&b, ": %s", e.Status)
	case EventAttempt:
		fmt.Fprintf(&b, ": %s #%d to %s", e.Status, e.Attempt, e.URL)
		if e.Error != "" {
			fmt.Fprintf(&b, ": %s", e.Error)
		} else {
			fmt.Fprintf(&b, ": %d", e.StatusCode)
		}
		if e.RetryIn > 0 {
			fmt.Fprintf(&b, ", retry in %s", e.RetryIn.Round(time.Millisecond))
		}
	case EventDelivered, EventFailed:
		attempts := "1 attempt"
		if e.Attempt != 1 {
			attempts = fmt.Sprintf("%d attempts", e.Attempt)
		}
		fmt.Fprintf(&b, ": %s to %s after %s", e.Status, e.URL, attempts)
	case EventRefused:
		fmt.Fprintf(&b, ": %d", e.StatusCode)
	}
	if e.Kind != EventAttempt && e.Error != "" {
		fmt.Fprintf(&b, ": %s", e.Error)
	}
	if e.Message != "" {
		fmt.Fprintf(&b, " (%s)", e.Message)
	}
	if e.NoCallback != "" {
		fmt.Fprintf(&b, "; %s", e.NoCallback)
	}
	return b.String()
}
