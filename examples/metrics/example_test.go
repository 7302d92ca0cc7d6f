package metrics_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/kyccb/kyccb"
	"github.com/kyccb/kyccb/examples/metrics"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// The Anchor Platform's test key pair.
const (
	anchorSeed       = "SAX3AH622R2XT6DXWWSRIDCMMUCCMATBZ5U6XKJWDO7M2EJUBFC3AW5X"
	anchorSigningKey = "GCHLHDBOKG2JWMJQBTLSL5XG6NO7ESXI2TAQKZXCXWXB5WI2X6W233PR"
)

// A wallet serves its callback URL and /metrics; one genuine callback, one
// forged and one stale arrive, and Prometheus sees each outcome.
func Example() {
	reg := prometheus.NewRegistry()
	mux := http.NewServeMux()
	mux.Handle("/kyc", kyccb.SEP12(anchorSigningKey, "wallet.example.org",
		func(context.Context, kyccb.Customer) error { return nil },
		kyccb.WithObserver(metrics.Observer(reg)),
		kyccb.WithLogger(slog.New(slog.DiscardHandler))))
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	body := `{"id":"cust-1","status":"ACCEPTED"}`
	post := func(sig string) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/kyc", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Signature", sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		resp.Body.Close()
	}
	genuine, _ := kyccb.SignSEP12(anchorSeed, "wallet.example.org", []byte(body), time.Now())
	stale, _ := kyccb.SignSEP12(anchorSeed, "wallet.example.org", []byte(body), time.Now().Add(-time.Hour))
	post(genuine)
	forged, _ := kyccb.SignSEP12(anchorSeed, "wallet.example.org", []byte(`{"id":"cust-1","status":"REJECTED"}`), time.Now())
	post(forged) // the signature of another body
	post(stale)

	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	text, _ := io.ReadAll(resp.Body)
	for line := range strings.SplitSeq(string(text), "\n") {
		if strings.HasPrefix(line, "kyccb_callbacks_total") || strings.HasPrefix(line, "kyccb_callback_duration_seconds_count") {
			fmt.Println(line)
		}
	}
	// Output:
	// kyccb_callback_duration_seconds_count{mode="sep12"} 3
	// kyccb_callbacks_total{mode="sep12",outcome="accepted"} 1
	// kyccb_callbacks_total{mode="sep12",outcome="bad_signature"} 1
	// kyccb_callbacks_total{mode="sep12",outcome="expired"} 1
}
