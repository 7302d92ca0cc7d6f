package redisstore_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kyccb/kyccb"
	"github.com/kyccb/kyccb/kyccbtest"
	"github.com/kyccb/kyccb/redisstore"
	"github.com/redis/go-redis/v9"
)

// addrEnv names the variable that gives the tests a Redis to use; with
// requiredEnv set to 1, as CI sets it, a missing Redis fails the tests
// instead of skipping them.
const (
	addrEnv     = "KYCCB_REDIS_ADDR"
	requiredEnv = "KYCCB_REDIS_REQUIRED"
)

// skip skips the test, or fails it when Redis is required.
func skip(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv(requiredEnv) == "1" {
		t.Fatalf(format+" ("+requiredEnv+"=1)", args...)
	}
	t.Skipf(format, args...)
}

// The Anchor Platform's own test key pair, from PROTOCOLS.md.
const (
	testSeed    = "SAX3AH622R2XT6DXWWSRIDCMMUCCMATBZ5U6XKJWDO7M2EJUBFC3AW5X"
	testAddress = "GCHLHDBOKG2JWMJQBTLSL5XG6NO7ESXI2TAQKZXCXWXB5WI2X6W233PR"
)

// TestMain quiets the client's log of failed dials, which the test that
// kills Redis makes by the hundred.
func TestMain(m *testing.M) {
	redis.SetLogger(quiet{})
	os.Exit(m.Run())
}

type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

// sharedRedis returns a client of the Redis at $KYCCB_REDIS_ADDR, or skips
// the test when there is none.
func sharedRedis(t *testing.T) *redis.Client {
	t.Helper()
	addr := os.Getenv(addrEnv)
	if addr == "" {
		skip(t, "%s is not set: skipping the tests against a real Redis (start redis-server on loopback and set %s=127.0.0.1:6379)", addrEnv, addrEnv)
	}
	c := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		skip(t, "%s=%s is not reachable (%v): skipping the tests against a real Redis", addrEnv, addr, err)
	}
	return c
}

// testPrefix returns a key prefix no other test run uses, so that tests
// share a Redis without flushing it.
func testPrefix(t *testing.T) string {
	var b [6]byte
	rand.Read(b[:])
	return fmt.Sprintf("kyccbtest:%x:", b)
}

func TestStoreContract(t *testing.T) {
	c := sharedRedis(t)
	kyccbtest.TestStore(t, redisstore.New(c, redisstore.WithPrefix(testPrefix(t))))
}

func TestKeysExpireInRedis(t *testing.T) {
	c := sharedRedis(t)
	prefix := testPrefix(t)
	s := redisstore.New(c, redisstore.WithPrefix(prefix))
	const key, lease, ttl = "sep12:abc", 30 * time.Second, 2 * time.Hour
	pttl := func() time.Duration {
		t.Helper()
		d, err := c.PTTL(t.Context(), prefix+key).Result()
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	tok, state, err := s.Reserve(t.Context(), key, lease)
	if err != nil || state != kyccb.StateReserved {
		t.Fatalf("Reserve = %v, %v", state, err)
	}
	if d := pttl(); d <= 0 || d > lease {
		t.Errorf("a lease's key expires in %s, want within %s", d, lease)
	}
	if err := s.Confirm(t.Context(), key, tok, ttl); err != nil {
		t.Fatal(err)
	}
	if d := pttl(); d <= lease || d > ttl {
		t.Errorf("a done key expires in %s, want within %s and more than the lease", d, ttl)
	}
	if n, err := c.Exists(t.Context(), key).Result(); err != nil || n != 0 {
		t.Errorf("the key was written without its prefix (%d, %v)", n, err)
	}
}

func TestNewPanics(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer c.Close()
	tests := []struct {
		name   string
		client redis.UniversalClient
		opts   []redisstore.Option
	}{
		{"a nil client", nil, nil},
		{"an empty prefix", c, []redisstore.Option{redisstore.WithPrefix("")}},
		{"a nil option", c, []redisstore.Option{nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if err, _ := recover().(error); !errors.Is(err, kyccb.ErrConfig) {
					t.Errorf("panic value %v, want an error matching ErrConfig", err)
				}
			}()
			redisstore.New(tt.client, tt.opts...)
		})
	}
}

func TestUnreachableRedisFails(t *testing.T) {
	// A port nothing listens on: the store must say so, not guess.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer c.Close()
	s := redisstore.New(c)
	if _, _, err := s.Reserve(t.Context(), "sep12:abc", time.Minute); err == nil {
		t.Error("Reserve against no Redis returned no error")
	}
	if err := s.Confirm(t.Context(), "sep12:abc", "t", time.Minute); err == nil {
		t.Error("Confirm against no Redis returned no error")
	}
	if err := s.Release(t.Context(), "sep12:abc", "t"); err == nil {
		t.Error("Release against no Redis returned no error")
	}
}

// replicas is a service run as two replicas on loopback, each with its own
// Redis client, sharing one Redis through the store.
type replicas struct {
	urls []string
	mu   sync.Mutex
	runs map[string]int // customer id -> runs of the function

	unavailable, inProgress atomic.Int64 // reasons reported
}

func newReplicas(t *testing.T, addr, prefix string) *replicas {
	rs := &replicas{runs: map[string]int{}}
	for range 2 {
		c := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: time.Second})
		t.Cleanup(func() { c.Close() })
		var h http.Handler
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
		t.Cleanup(srv.Close)
		h = kyccb.SEP12(testAddress, srv.URL, rs.process,
			kyccb.WithDedup(redisstore.New(c, redisstore.WithPrefix(prefix))),
			kyccb.WithErrorHook(func(_ *http.Request, err error) {
				switch {
				case errors.Is(err, kyccb.ErrStoreUnavailable):
					rs.unavailable.Add(1)
				case errors.Is(err, kyccb.ErrDuplicateInProgress):
					rs.inProgress.Add(1)
				default:
					t.Errorf("reported %v", err)
				}
			}))
		rs.urls = append(rs.urls, srv.URL)
	}
	return rs
}

func (rs *replicas) process(_ context.Context, c kyccb.Customer) error {
	rs.mu.Lock()
	rs.runs[c.ID]++
	rs.mu.Unlock()
	time.Sleep(2 * time.Millisecond) // long enough for the twin delivery to overlap
	return nil
}

// deliverAll sends callbacks ids[i] for each i, each twice at once, one
// delivery to each replica, with up to 16 callbacks in flight. Every
// delivery retries its 503s, re-signed as the Anchor Platform does, until
// it gets 200.
func (rs *replicas) deliverAll(t *testing.T, ids []string) {
	t.Helper()
	work := make(chan string)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for id := range work {
				var twins sync.WaitGroup
				for _, url := range rs.urls {
					twins.Go(func() { deliver(t, url, id) })
				}
				twins.Wait()
			}
		})
	}
	for _, id := range ids {
		work <- id
	}
	close(work)
	wg.Wait()
}

func deliver(t *testing.T, url, id string) {
	body := []byte(`{"id":"` + id + `","status":"ACCEPTED"}`)
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		sig, err := kyccb.SignSEP12(testSeed, url, body, time.Now())
		if err != nil {
			t.Error(err)
			return
		}
		req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			t.Error(err)
			return
		}
		req.Header.Set(kyccb.SignatureHeader, sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			return
		}
		resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusOK:
			return
		case http.StatusServiceUnavailable:
			time.Sleep(20 * time.Millisecond)
		default:
			t.Errorf("callback %s: replied %d", id, resp.StatusCode)
			return
		}
	}
	t.Errorf("callback %s: still refused after a minute", id)
}

func ids(from, to int) []string {
	var s []string
	for i := from; i < to; i++ {
		s = append(s, "c-"+strconv.Itoa(i))
	}
	return s
}

// checkRuns asserts that each callback of ids ran at least min and at most
// max times, and returns how many ran more than once.
func (rs *replicas) checkRuns(t *testing.T, ids []string, min, max int) (again int) {
	t.Helper()
	rs.mu.Lock()
	defer rs.mu.Unlock()
	total := 0
	for _, id := range ids {
		n := rs.runs[id]
		total += n
		if n < min || n > max {
			t.Errorf("callback %s ran %d times, want %d to %d", id, n, min, max)
		}
		if n > 1 {
			again++
		}
	}
	t.Logf("%d callbacks, %d runs of the function", len(ids), total)
	return again
}

func TestTwoReplicasProcessEachCallbackOnce(t *testing.T) {
	c := sharedRedis(t)
	rs := newReplicas(t, c.Options().Addr, testPrefix(t))
	callbacks := ids(0, 1000)
	rs.deliverAll(t, callbacks)
	rs.checkRuns(t, callbacks, 1, 1)
	if n := rs.unavailable.Load(); n != 0 {
		t.Errorf("the store failed %d times", n)
	}
	t.Logf("%d twin deliveries answered 503 while the other ran", rs.inProgress.Load())
}

// server is a redis-server process of the test's own, so that the test can
// kill it and start it again.
type server struct {
	addr string
	cmd  *exec.Cmd
}

func startServer(t *testing.T) *server {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		skip(t, "redis-server is not on PATH: skipping the test that kills Redis")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	s := &server{addr: addr}
	t.Cleanup(s.kill)
	if err := s.start(t.Context()); err != nil {
		t.Fatal(err)
	}
	return s
}

// start starts the server, with no persistence: a restart loses all.
func (s *server) start(ctx context.Context) error {
	_, port, _ := net.SplitHostPort(s.addr)
	s.cmd = exec.Command("redis-server", "--port", port, "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--loglevel", "warning")
	if err := s.cmd.Start(); err != nil {
		return err
	}
	c := redis.NewClient(&redis.Options{Addr: s.addr, MaxRetries: -1})
	defer c.Close()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c.Ping(ctx).Err() == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("redis-server on %s did not answer within 10s", s.addr)
		}
	}
}

// kill stops the server at once, as a crash does.
func (s *server) kill() {
	if s.cmd != nil {
		s.cmd.Process.Kill()
		s.cmd.Wait()
		s.cmd = nil
	}
}

func TestRedisKilledMidRun(t *testing.T) {
	sharedRedis(t) // runs with the other Redis tests, or not at all
	srv := startServer(t)
	rs := newReplicas(t, srv.addr, testPrefix(t))

	// Kill Redis while the first callbacks are being delivered, and bring
	// it back, empty, three seconds later: longer than the client's own
	// dial and command retries (about two seconds by default) hide.
	during := ids(0, 300)
	killed := make(chan struct{})
	go func() {
		defer close(killed)
		for {
			rs.mu.Lock()
			n := len(rs.runs)
			rs.mu.Unlock()
			if n >= 100 {
				break
			}
			time.Sleep(time.Millisecond)
		}
		srv.kill()
		time.Sleep(3 * time.Second)
		if err := srv.start(t.Context()); err != nil {
			t.Error(err)
		}
	}()
	rs.deliverAll(t, during)
	<-killed
	// No callback is lost. A callback processed before the kill may run
	// again after it, since the new Redis has forgotten it.
	again := rs.checkRuns(t, during, 1, 2)
	if rs.unavailable.Load() == 0 {
		t.Error("no delivery was refused while Redis was down")
	}
	t.Logf("while Redis was down: %d deliveries refused with 503; %d callbacks ran again after it came back empty", rs.unavailable.Load(), again)

	// Once it is back, each callback runs once again.
	after := ids(300, 600)
	rs.deliverAll(t, after)
	rs.checkRuns(t, after, 1, 1)
}
