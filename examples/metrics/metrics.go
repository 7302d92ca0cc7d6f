// Package metrics counts kyccb's verdicts with Prometheus: a worked example
// of kyccb.WithObserver, in a module of its own so that the library does not
// depend on a metrics client.
//
// Prometheus' client_golang is the fit here: callbacks are served over HTTP
// by a process that usually already exposes /metrics, and the alert that
// matters, "every callback rejected since 10:32", is one PromQL rule over a
// counter with an outcome label. An OpenTelemetry meter would be wired to
// the same observer in the same few lines.
package metrics

import (
	"net/http"

	"github.com/kyccb/kyccb"
	"github.com/prometheus/client_golang/prometheus"
)

// Observer returns a function for [kyccb.WithObserver] that counts callbacks
// by mode and outcome in kyccb_callbacks_total and records how long each
// took in kyccb_callback_duration_seconds, registered with reg. The outcome
// label has a fixed, small set of values ([kyccb.Verdict.Outcome]), so the
// number of series stays bounded whatever the senders send.
//
// An alert for "callbacks arrive, none is accepted":
//
//	sum(rate(kyccb_callbacks_total[10m])) > 0
//	and sum(rate(kyccb_callbacks_total{outcome="accepted"}[10m])) == 0
func Observer(reg prometheus.Registerer) func(*http.Request, kyccb.Verdict) {
	total := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "kyccb_callbacks_total",
		Help: "KYC callbacks received, by mode (sep12, xgateway) and outcome (accepted, duplicate, or the reason for a rejection).",
	}, []string{"mode", "outcome"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "kyccb_callback_duration_seconds",
		Help:    "Time from the start of a callback's handler to its reply, the application's function included.",
		Buckets: prometheus.ExponentialBuckets(0.0001, 4, 8), // 100 µs to 1.6 s
	}, []string{"mode"})
	reg.MustRegister(total, duration)
	return func(_ *http.Request, v kyccb.Verdict) {
		total.WithLabelValues(v.Mode, v.Outcome()).Inc()
		duration.WithLabelValues(v.Mode).Observe(v.Duration.Seconds())
	}
}
