//go:build loadtest

package kyccb_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/metrics"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kyccb/kyccb"
)

// TestLoad is the load test of the README's Performance section. It is
// built only with -tags loadtest, so that go test ./... stays fast:
//
//	go test -tags loadtest -run '^TestLoad$' -v -count=1 .
//
// It runs a real http.Server on 127.0.0.1 with the recommended settings and
// drives it from concurrent clients in the same process, phase by phase, for
// a bounded time each. Client and server share the machine's cores, so the
// absolute figures say as much about the machine as about kyccb; the ratio
// to the bare handler, measured in the same run, is the figure to compare.

var (
	loadPhase      = flag.Duration("kyccb.load.phase", 5*time.Second, "how long each phase of TestLoad runs")
	loadClients    = flag.Int("kyccb.load.clients", 64, "concurrent clients in TestLoad's throughput phases")
	loadBigClients = flag.Int("kyccb.load.bigclients", 500, "concurrent clients sending 1 MiB bodies in TestLoad's heap phase")
)

// recommendedServer is the README's "Recommended server settings".
func recommendedServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
	}
}

// loadRequest is a request prepared before a phase starts: clients only
// send, so that signing is not measured.
type loadRequest struct {
	path, signature string
	body            []byte
}

// phase is what the clients of one phase saw.
type phase struct {
	name    string
	elapsed time.Duration
	codes   map[int]int
	errors  int
	latency []time.Duration
}

func (p *phase) add(q *phase) {
	p.elapsed += q.elapsed
	for c, n := range q.codes {
		p.codes[c] += n
	}
	p.errors += q.errors
	p.latency = append(p.latency, q.latency...)
}

func (p *phase) requests() int { return len(p.latency) }
func (p *phase) perSecond() float64 {
	return float64(p.requests()) / p.elapsed.Seconds()
}

func (p *phase) percentile(q float64) time.Duration {
	if len(p.latency) == 0 {
		return 0
	}
	slices.Sort(p.latency)
	return p.latency[min(len(p.latency)-1, int(q*float64(len(p.latency))))]
}

// drive runs clients goroutines that send reqs round-robin to base for d,
// each waiting for its reply before sending the next.
func drive(t *testing.T, name, base string, clients int, d time.Duration, reqs []loadRequest) *phase {
	t.Helper()
	tr := &http.Transport{MaxIdleConnsPerHost: clients, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}

	results := make([]phase, clients)
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(d)
	for c := range clients {
		wg.Go(func() {
			res := &results[c]
			res.codes = make(map[int]int)
			for i := c; time.Now().Before(deadline); i += clients {
				q := reqs[i%len(reqs)]
				r, err := http.NewRequest(http.MethodPost, base+q.path, bytes.NewReader(q.body))
				if err != nil {
					res.errors++
					return
				}
				r.Header.Set("Content-Type", "application/json; charset=utf-8")
				if q.signature != "" {
					r.Header.Set(kyccb.SignatureHeader, q.signature)
				}
				t0 := time.Now()
				resp, err := client.Do(r)
				if err != nil {
					res.errors++
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				res.latency = append(res.latency, time.Since(t0))
				res.codes[resp.StatusCode]++
			}
		})
	}
	wg.Wait()
	total := &phase{name: name, codes: make(map[int]int)}
	for i := range results {
		total.add(&results[i])
	}
	total.elapsed = time.Since(start)
	return total
}

// check fails the test unless every request of p got want.
func (p *phase) check(t *testing.T, want int) {
	t.Helper()
	if p.errors > 0 || p.codes[want] != p.requests() || p.requests() == 0 {
		t.Errorf("%s: %d requests, statuses %v, %d transport errors; want all %d", p.name, p.requests(), p.codes, p.errors, want)
	}
}

// heapSampler records the peak of the Go heap and of all memory the Go
// runtime holds, sampled every 2 ms.
type heapSampler struct {
	stop             chan struct{}
	done             chan struct{}
	peakHeap, peakGo uint64
}

func startHeapSampler() *heapSampler {
	s := &heapSampler{stop: make(chan struct{}), done: make(chan struct{})}
	samples := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/total:bytes"}}
	go func() {
		defer close(s.done)
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(samples)
			s.peakHeap = max(s.peakHeap, samples[0].Value.Uint64())
			s.peakGo = max(s.peakGo, samples[1].Value.Uint64())
			select {
			case <-s.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

func (s *heapSampler) finish() { close(s.stop); <-s.done }

func heapNow() uint64 {
	runtime.GC()
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func TestLoad(t *testing.T) {
	anchor, forger := testSeed, otherSeed
	var accepted atomic.Int64
	mux := http.NewServeMux()
	mux.Handle("/bare", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "ok\n")
	}))
	var running, peakRunning atomic.Int64
	// Clients send each of 512 signed callbacks again and again: past the
	// first delivery of each, the handler verifies and decodes it as
	// before and answers it as a replay, without running fn.
	var replays atomic.Int64
	sep12 := kyccb.SEP12(testAddress, testHost, func(context.Context, kyccb.Customer) error {
		accepted.Add(1)
		return nil
	}, kyccb.WithObserver(func(_ *http.Request, v kyccb.Verdict) {
		if errors.Is(v.Err, kyccb.ErrReplay) {
			replays.Add(1)
		}
	}))
	mux.Handle("/kyc", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := running.Add(1)
		defer running.Add(-1)
		for p := peakRunning.Load(); n > p && !peakRunning.CompareAndSwap(p, n); p = peakRunning.Load() {
		}
		sep12.ServeHTTP(w, r)
	}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := recommendedServer(mux)
	go srv.Serve(ln)
	defer srv.Close()
	base := "http://" + ln.Addr().String()

	// A typical Anchor Platform callback, about 190 bytes, one per
	// customer so that no two bodies are alike.
	const nBodies = 512
	callbacks := func(path, seed string, at time.Time) []loadRequest {
		reqs := make([]loadRequest, nBodies)
		for i := range reqs {
			body := fmt.Sprintf(`{"id":"%08d-3ff1-495d-9240-7a50d806cfed","status":"NEEDS_INFO","fields":{"mobile_number":{"type":"string","description":"phone number of the customer"}},"message":"more information is needed"}`, i)
			reqs[i] = loadRequest{path, sign(t, seed, testHost, body, at), []byte(body)}
		}
		return reqs
	}
	d, clients := *loadPhase, *loadClients

	// Bare handler and SEP-12 alternate in two rounds each, so that a
	// burst of other work on the machine hits both alike.
	bare := &phase{name: "bare 200 handler", codes: make(map[int]int)}
	valid := &phase{name: "SEP-12, valid", codes: make(map[int]int)}
	before, beforeReplays := accepted.Load(), replays.Load()
	for range 2 {
		reqs := callbacks("/bare", anchor, time.Now())
		bare.add(drive(t, bare.name, base, clients, d/2, reqs))
		for i := range reqs {
			reqs[i].path = "/kyc"
		}
		valid.add(drive(t, valid.name, base, clients, d/2, reqs))
	}
	bare.check(t, 200)
	valid.check(t, 200)
	if got, again := accepted.Load()-before, replays.Load()-beforeReplays; got+again != int64(valid.requests()) || got > 2*nBodies {
		t.Errorf("fn ran %d times and %d replays were answered for %d valid callbacks of %d distinct requests", got, again, valid.requests(), 2*nBodies)
	}

	before = accepted.Load()
	forged := drive(t, "SEP-12, forged (another key)", base, clients, d, callbacks("/kyc", forger, time.Now()))
	forged.check(t, 401)
	stale := drive(t, "SEP-12, stale (1 h old)", base, clients, d, callbacks("/kyc", anchor, time.Now().Add(-time.Hour)))
	stale.check(t, 401)
	if got := accepted.Load() - before; got != 0 {
		t.Errorf("fn ran %d times for forged and stale callbacks", got)
	}

	// Peak heap while every big client sends bodies at the 1 MiB limit.
	big := paddedJSON(t, `{"id":"c-big","status":"ACCEPTED"`, kyccb.DefaultMaxBodyBytes)
	bigReq := []loadRequest{{"/kyc", sign(t, anchor, testHost, string(big), time.Now()), big}}
	baseline := heapNow()
	peakRunning.Store(0)
	sampler := startHeapSampler()
	heavy := drive(t, fmt.Sprintf("SEP-12, 1 MiB bodies, %d clients", *loadBigClients), base, *loadBigClients, d, bigReq)
	sampler.finish()
	heavy.check(t, 200)
	peakFast := peakRunning.Load()

	// The same bodies from senders that stall after the headers and the
	// first 64 KiB, until every handler is waiting for the rest: what a
	// slow network, or an attacker, does to the handlers' memory.
	baselineSlow := heapNow()
	peakRunning.Store(0)
	samplerSlow := startHeapSampler()
	slow := stallingSenders(t, ln.Addr().String(), *loadBigClients, bigReq[0], &running)
	samplerSlow.finish()
	slow.check(t, 200)

	var out strings.Builder
	fmt.Fprintf(&out, "\nTestLoad: %s, GOMAXPROCS=%d, %d CPUs, %s per phase, %d clients", runtime.Version(), runtime.GOMAXPROCS(0), runtime.NumCPU(), d, clients)
	if la, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Fprintf(&out, ", load average before the run's end: %s", strings.Join(strings.Fields(string(la))[:3], " "))
	}
	fmt.Fprintf(&out, "\n\n| phase | requests | per second | p50 | p99 | statuses |\n|---|---:|---:|---:|---:|---|\n")
	for _, p := range []*phase{bare, valid, forged, stale, heavy, slow} {
		fmt.Fprintf(&out, "| %s | %d | %.0f | %s | %s | %v |\n", p.name, p.requests(), p.perSecond(),
			p.percentile(0.50).Round(time.Microsecond), p.percentile(0.99).Round(time.Microsecond), p.codes)
	}
	fmt.Fprintf(&out, "\nvalid SEP-12 / bare handler throughput: %.2f\n", valid.perSecond()/bare.perSecond())
	fmt.Fprintf(&out, "forged rejections / valid callbacks per second: %.2f\n", forged.perSecond()/valid.perSecond())
	fmt.Fprintf(&out, "stale rejections / valid callbacks per second: %.2f\n", stale.perSecond()/valid.perSecond())
	fmt.Fprintf(&out, "peak Go heap with %d clients sending 1 MiB bodies: %.0f MiB (%.0f MiB before; %.2f MiB per client); peak memory held by the Go runtime: %.0f MiB\n",
		*loadBigClients, mib(sampler.peakHeap), mib(baseline), mib(sampler.peakHeap-min(baseline, sampler.peakHeap))/float64(*loadBigClients), mib(sampler.peakGo))
	fmt.Fprintf(&out, "  SEP-12 handlers running at once: at most %d\n", peakFast)
	fmt.Fprintf(&out, "peak Go heap with %d stalling senders of 1 MiB bodies: %.0f MiB (%.0f MiB before; %.2f MiB per client); peak memory held by the Go runtime: %.0f MiB\n",
		*loadBigClients, mib(samplerSlow.peakHeap), mib(baselineSlow), mib(samplerSlow.peakHeap-min(baselineSlow, samplerSlow.peakHeap))/float64(*loadBigClients), mib(samplerSlow.peakGo))
	fmt.Fprintf(&out, "  SEP-12 handlers running at once: at most %d\n", peakRunning.Load())
	fmt.Print(out.String())
}

// stallingSenders has n clients each send q's headers and the first 64 KiB
// of its body, waits until n handlers are running (or 5 s have passed),
// holds them there for 200 ms, then has every client send the rest and
// read the reply.
func stallingSenders(t *testing.T, addr string, n int, q loadRequest, running *atomic.Int64) *phase {
	t.Helper()
	const first = 64 << 10
	head := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nSignature: %s\r\nContent-Length: %d\r\n\r\n", q.path, testHost, q.signature, len(q.body))
	results := make([]phase, n)
	release := make(chan struct{})
	var wg sync.WaitGroup
	start := time.Now()
	for c := range n {
		wg.Go(func() {
			res := &results[c]
			res.codes = make(map[int]int)
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				res.errors++
				return
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(30 * time.Second))
			t0 := time.Now()
			if _, err := io.WriteString(conn, head); err != nil {
				res.errors++
				return
			}
			if _, err := conn.Write(q.body[:first]); err != nil {
				res.errors++
				return
			}
			<-release
			if _, err := conn.Write(q.body[first:]); err != nil {
				res.errors++
				return
			}
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				res.errors++
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			res.latency = append(res.latency, time.Since(t0))
			res.codes[resp.StatusCode]++
		})
	}
	for wait := time.Now().Add(5 * time.Second); running.Load() < int64(n) && time.Now().Before(wait); {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	close(release)
	wg.Wait()
	total := &phase{name: fmt.Sprintf("SEP-12, 1 MiB bodies, %d stalling senders", n), codes: make(map[int]int)}
	for i := range results {
		total.add(&results[i])
	}
	total.elapsed = time.Since(start)
	return total
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }
