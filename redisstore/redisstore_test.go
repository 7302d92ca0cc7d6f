package redisstore_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kyccb/kyccb"
	"github.com/kyccb/kyccb/internal/killtest"
	"github.com/kyccb/kyccb/kyccbtest"
	"github.com/kyccb/kyccb/redisstore"
	"github.com/redis/go-redis/v9"
)

// addrEnv names the variable that gives the tests a Redis to use; with
// requiredEnv set to 1, as CI sets it, a missing Redis or redis-server
// fails the tests instead of skipping them.
const (
	addrEnv     = "KYCCB_REDIS_ADDR"
	requiredEnv = "KYCCB_REDIS_REQUIRED"
)

// skip skips the test, or fails it when Redis is required. The message
// says why, and how to run the test.
func skip(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv(requiredEnv) == "1" {
		t.Fatalf(format+" (failing, not skipping: "+requiredEnv+"=1)", args...)
	}
	t.Skipf(format+" (set "+requiredEnv+"=1 to make this a failure)", args...)
}

// The Anchor Platform's own test key pair, from PROTOCOLS.md.
const (
	testSeed    = "SAX3AH622R2XT6DXWWSRIDCMMUCCMATBZ5U6XKJWDO7M2EJUBFC3AW5X"
	testAddress = "GCHLHDBOKG2JWMJQBTLSL5XG6NO7ESXI2TAQKZXCXWXB5WI2X6W233PR"
)

// TestMain quiets the client's log of failed dials, which the tests that
// kill Redis make by the hundred, and runs a replica instead of the tests
// when TestKillReplicasAndRedis started the binary as one.
func TestMain(m *testing.M) {
	redis.SetLogger(quiet{})
	killtest.Main(m, replica)
}

type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

// sharedRedis returns a client of the Redis at $KYCCB_REDIS_ADDR, or skips
// the test when there is none.
func sharedRedis(t *testing.T) *redis.Client {
	t.Helper()
	addr := os.Getenv(addrEnv)
	if addr == "" {
		skip(t, "%s is not set: skipping this test, which needs a running Redis; to run it, start one "+
			"(redis-server --port 6379 --bind 127.0.0.1 --save '' --appendonly no) and set %s=127.0.0.1:6379, as .ci/run does",
			addrEnv, addrEnv)
	}
	c := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		skip(t, "%s=%s is not reachable (%v): skipping this test, which needs a running Redis; to run it, start redis-server there or point %s at one",
			addrEnv, addr, err, addrEnv)
	}
	return c
}

// needServer skips the test unless redis-server is on PATH, to start
// Redis servers of the test's own.
func needServer(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		skip(t, "redis-server is not on PATH: skipping this test, which starts Redis servers of its own; to run it, install redis-server (apt-get install redis-server)")
	}
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

func TestKeysInRedis(t *testing.T) {
	c := sharedRedis(t)
	prefix := testPrefix(t)
	s := redisstore.New(c, redisstore.WithPrefix(prefix))
	// A key and signature as long as the handler's: SHA-256 in hex.
	const key, fp, sig = "sep12:id:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae", "f1",
		"fcde2b2edba56bf408601fb721fe9b5c338d10ee429ea04fae5511b68fbf8fb9"
	const lease, ttl, sigTTL = 30 * time.Second, 2 * time.Hour, 4 * time.Minute
	updated := time.Date(2026, 12, 2, 10, 5, 0, 123456789, time.UTC)
	leaseKey, doneKey, sigKey := prefix+"{"+key+"}:lease", prefix+"{"+key+"}:done", prefix+"{"+key+"}:sig:"+sig
	expires := func(name string, within, above time.Duration) {
		t.Helper()
		d, err := c.PTTL(t.Context(), name).Result()
		if err != nil {
			t.Fatal(err)
		}
		if d <= above || d > within {
			t.Errorf("%s expires in %s, want more than %s and at most %s", name, d, above, within)
		}
	}
	check := func(name string, wantValue string, within, above time.Duration) {
		t.Helper()
		v, err := c.Get(t.Context(), name).Result()
		if err != nil {
			t.Fatalf("GET %s: %v", name, err)
		}
		if v != wantValue {
			t.Errorf("%s holds %q, want %q", name, v, wantValue)
		}
		expires(name, within, above)
	}
	checkDone := func(want map[string]string) {
		t.Helper()
		got, err := c.HGetAll(t.Context(), doneKey).Result()
		if err != nil {
			t.Fatalf("HGETALL %s: %v", doneKey, err)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s holds %v, want %v", doneKey, got, want)
		}
		expires(doneKey, ttl, lease)
	}
	applied := kyccb.Delivery{Fingerprint: fp, Signature: sig, SignatureTTL: sigTTL, UpdatedAt: updated}

	tok, err := s.Reserve(t.Context(), key, applied, lease)
	if err != nil {
		t.Fatalf("Reserve: %v", err)
	}
	check(leaseKey, tok, lease, 0)
	if n, err := c.Exists(t.Context(), sigKey).Result(); err != nil || n != 0 {
		t.Errorf("Reserve recorded the signature (EXISTS = %d, %v)", n, err)
	}
	if err := s.Confirm(t.Context(), key, tok, applied, ttl); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"fp": fp, "s": strconv.FormatInt(updated.Unix(), 10), "ns": "123456789"}
	checkDone(want)
	check(sigKey, "1", sigTTL, sigTTL-time.Minute)
	if n, err := c.Exists(t.Context(), leaseKey).Result(); err != nil || n != 0 {
		t.Errorf("the lease outlived Confirm (EXISTS = %d, %v)", n, err)
	}
	// A new lease leaves the record, and its TTL, as they are.
	tok, err = s.Reserve(t.Context(), key, kyccb.Delivery{Fingerprint: "f2"}, lease)
	if err != nil {
		t.Fatalf("Reserve: %v", err)
	}
	checkDone(want)
	// A delivery without a signature or updated_at records neither, and
	// leaves the watermark.
	if err := s.Confirm(t.Context(), key, tok, kyccb.Delivery{Fingerprint: "f2"}, ttl); err != nil {
		t.Fatal(err)
	}
	want["fp"] = "f2"
	checkDone(want)
	if n, err := c.Exists(t.Context(), key, "{"+key+"}:done").Result(); err != nil || n != 0 {
		t.Errorf("a key was written without its prefix (%d, %v)", n, err)
	}
	keys, err := c.Keys(t.Context(), prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 {
		t.Errorf("keys in Redis: %q, want the record and one signature", keys)
	}
	mem, err := c.MemoryUsage(t.Context(), sigKey).Result()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("MEMORY USAGE of a signature's key with the default prefix: %d bytes (the expiry's entry not counted)", mem+int64(len(redisstore.DefaultPrefix)-len(prefix)))
}

// hashTag returns the part of a Redis key that Redis Cluster hashes.
func hashTag(name string) string {
	if i := strings.IndexByte(name, '{'); i >= 0 {
		if j := strings.IndexByte(name[i+1:], '}'); j > 0 {
			return name[i+1 : i+1+j]
		}
	}
	return name
}

// TestRedisCluster runs the contract against a Redis Cluster of one node:
// it owns every slot, but refuses a script over keys of two slots all the
// same, as a cluster of many does.
func TestRedisCluster(t *testing.T) {
	needServer(t)
	srv := startServer(t, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf")
	admin := redis.NewClient(&redis.Options{Addr: srv.addr})
	defer admin.Close()
	slots := []any{"CLUSTER", "ADDSLOTS"}
	for i := range 16384 {
		slots = append(slots, i)
	}
	if err := admin.Do(t.Context(), slots...).Err(); err != nil {
		t.Fatalf("CLUSTER ADDSLOTS: %v", err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		info, err := admin.ClusterInfo(t.Context()).Result()
		if err == nil && strings.Contains(info, "cluster_state:ok") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the cluster is not ok after 10s: %q, %v", info, err)
		}
	}
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{srv.addr}})
	defer c.Close()
	// That the cluster refuses what it should, or this test proves nothing.
	if err := c.Eval(t.Context(), "return redis.call('GET', KEYS[2])", []string{"{a}x", "{b}x"}).Err(); err == nil || !strings.Contains(err.Error(), "CROSSSLOT") {
		t.Fatalf("a script over two slots = %v, want CROSSSLOT", err)
	}

	s := redisstore.New(c)
	kyccbtest.TestStore(t, s)
	// Keys that would move or empty a plain hash tag.
	for _, key := range []string{"", "{", "}", "}x", "a{b}c", "{}", "x{"} {
		tok, err := s.Reserve(t.Context(), key, kyccb.Delivery{Fingerprint: "f"}, time.Minute)
		if err != nil {
			t.Errorf("Reserve(%q): %v", key, err)
			continue
		}
		if err := s.Confirm(t.Context(), key, tok, kyccb.Delivery{Fingerprint: "f"}, time.Minute); err != nil {
			t.Errorf("Confirm(%q): %v", key, err)
		}
		if _, err := s.Reserve(t.Context(), key, kyccb.Delivery{Fingerprint: "f"}, time.Minute); !errors.Is(err, kyccb.ErrDuplicate) {
			t.Errorf("Reserve(%q) again = %v, want ErrDuplicate", key, err)
		}
	}
	// Each odd key has a record of its own, under a hash tag.
	keys, err := c.Keys(t.Context(), redisstore.DefaultPrefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	escaped := 0
	for _, k := range keys {
		if hashTag(k) == "" || hashTag(k) == k {
			t.Errorf("key %q has no hash tag", k)
		}
		if strings.HasPrefix(k, redisstore.DefaultPrefix+"}") {
			escaped++
		}
	}
	if escaped != 7 {
		t.Errorf("%d records for 7 odd keys, want 7", escaped)
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
		{"a prefix with a brace", c, []redisstore.Option{redisstore.WithPrefix("{kyccb}:")}},
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

// freeAddr returns a loopback address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func TestUnreachableRedisFails(t *testing.T) {
	// A port nothing listens on: the store must say so, not guess.
	c := redis.NewClient(&redis.Options{Addr: freeAddr(t), MaxRetries: -1})
	defer c.Close()
	s := redisstore.New(c)
	// The client's error, a refused connection: not one of the store's
	// answers, which the handler would take for a verdict.
	var refused *net.OpError
	if _, err := s.Reserve(t.Context(), "sep12:id:abc", kyccb.Delivery{Fingerprint: "f"}, time.Minute); !errors.As(err, &refused) {
		t.Errorf("Reserve against no Redis = %v, want the client's error", err)
	}
	// Confirm keeps trying until its context ends.
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := s.Confirm(ctx, "sep12:id:abc", "t", kyccb.Delivery{Fingerprint: "f"}, time.Minute); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Confirm against no Redis = %v, want its context's deadline", err)
	}
	if d := time.Since(start); d < 250*time.Millisecond || d > 5*time.Second {
		t.Errorf("Confirm against no Redis gave up after %s, want when its context ended, after 300ms", d)
	}
	if err := s.Release(t.Context(), "sep12:id:abc", "t"); !errors.As(err, &refused) {
		t.Errorf("Release against no Redis = %v, want the client's error", err)
	}
}

// proxy relays loopback TCP connections to Redis, and can hold back or cut
// Redis's replies: a slow network, or one that fails after the command
// arrived.
type proxy struct {
	addr  string
	delay atomic.Int64 // nanoseconds to hold each reply back
	cut   atomic.Int32 // replies still to drop, closing their connection
}

func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{addr: l.Addr().String()}
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			client, err := l.Accept()
			if err != nil {
				return
			}
			server, err := net.Dial("tcp", target)
			if err != nil {
				client.Close()
				continue
			}
			wg.Go(func() { io.Copy(server, client); server.Close() })
			wg.Go(func() { p.replies(client, server) })
		}
	})
	return p
}

func (p *proxy) replies(client, server net.Conn) {
	defer client.Close()
	defer server.Close()
	buf := make([]byte, 64<<10)
	for {
		n, err := server.Read(buf)
		if err != nil {
			return
		}
		if c := p.cut.Load(); c > 0 && p.cut.CompareAndSwap(c, c-1) {
			return
		}
		time.Sleep(time.Duration(p.delay.Load()))
		if _, err := client.Write(buf[:n]); err != nil {
			return
		}
	}
}

// leased reports whether key is leased: whether a Reserve of a fingerprint
// never applied is refused as in progress.
func leased(t *testing.T, s kyccb.Store, key string) bool {
	t.Helper()
	tok, err := s.Reserve(t.Context(), key, kyccb.Delivery{Fingerprint: "never applied"}, time.Minute)
	switch {
	case errors.Is(err, kyccb.ErrDuplicateInProgress):
		return true
	case err != nil:
		t.Fatalf("Reserve: %v", err)
	}
	if err := s.Release(t.Context(), key, tok); err != nil {
		t.Fatal(err)
	}
	return false
}

// The finding "orphan lease": a Reserve whose reply never reached the
// caller left a lease nobody would release, and every retry of the
// callback got 503 for the whole lease.
func TestReserveLeavesNoOrphanLease(t *testing.T) {
	shared := sharedRedis(t)
	prefix := testPrefix(t)
	direct := redisstore.New(shared, redisstore.WithPrefix(prefix))
	p := newProxy(t, shared.Options().Addr)
	// through returns a store that talks to Redis through the proxy, with
	// the script already loaded, so that the first command of the test is
	// the one that takes the lease.
	through := func(opt redis.Options) kyccb.Store {
		opt.Addr = p.addr
		c := redis.NewClient(&opt)
		t.Cleanup(func() { c.Close() })
		s := redisstore.New(c, redisstore.WithPrefix(prefix))
		key := "warm-up:" + testPrefix(t)
		tok, err := s.Reserve(t.Context(), key, kyccb.Delivery{Fingerprint: "f"}, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Release(t.Context(), key, tok); err != nil {
			t.Fatal(err)
		}
		return s
	}

	t.Run("the context ends before Redis replies", func(t *testing.T) {
		// A client that honours context deadlines, and a reply slower
		// than the request's deadline: the lease is taken, and the
		// request is over before it hears so.
		s := through(redis.Options{ContextTimeoutEnabled: true, MaxRetries: -1})
		const key = "sep12:id:slow"
		p.delay.Store(int64(300 * time.Millisecond))
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		tok, err := s.Reserve(ctx, key, kyccb.Delivery{Fingerprint: "f"}, time.Minute)
		cancel()
		p.delay.Store(0)
		if err != nil {
			if leased(t, direct, key) {
				t.Fatalf("Reserve returned %v and left a lease behind: every retry gets 503 until it runs out", err)
			}
			t.Fatalf("Reserve gave up when its context ended (%v), want it to wait for Redis's reply", err)
		}
		// The lease is the caller's, who ends it.
		if !leased(t, direct, key) {
			t.Fatal("Reserve returned a token but Redis holds no lease")
		}
		if err := s.Release(t.Context(), key, tok); err != nil {
			t.Fatal(err)
		}
		if leased(t, direct, key) {
			t.Error("the lease Reserve returned was not the token's")
		}
	})
	t.Run("the reply is lost", func(t *testing.T) {
		// No retries by the client: Reserve cannot learn whether the
		// lease was taken, and must release it by its token.
		s := through(redis.Options{MaxRetries: -1})
		const key = "sep12:id:lost"
		p.cut.Store(1)
		_, err := s.Reserve(t.Context(), key, kyccb.Delivery{Fingerprint: "f"}, time.Minute)
		p.cut.Store(0)
		if err == nil {
			t.Fatal("Reserve whose reply was cut returned no error")
		}
		if leased(t, direct, key) {
			t.Errorf("Reserve returned %v and left a lease behind: every retry gets 503 until it runs out", err)
		}
	})
	t.Run("the client retries after a lost reply", func(t *testing.T) {
		// The client's retry runs the script again with the same token:
		// the lease it finds is its own.
		s := through(redis.Options{})
		const key = "sep12:id:retried"
		p.cut.Store(1)
		tok, err := s.Reserve(t.Context(), key, kyccb.Delivery{Fingerprint: "f"}, time.Minute)
		p.cut.Store(0)
		if err != nil {
			t.Fatalf("Reserve retried by the client: %v, want the lease", err)
		}
		if !leased(t, direct, key) {
			t.Fatal("Reserve returned a token but Redis holds no lease")
		}
		if err := s.Release(t.Context(), key, tok); err != nil {
			t.Fatal(err)
		}
		if leased(t, direct, key) {
			t.Error("the lease the retry found was not the token's")
		}
	})
}

// server is a redis-server process of the test's own, in a directory of
// the test's own, so that the test can kill it and start it again on the
// same data.
type server struct {
	addr  string
	dir   string
	flags []string
	cmd   *exec.Cmd
}

// startServer starts redis-server on a free loopback port with flags,
// without RDB snapshots, and stops it when the test ends.
func startServer(t *testing.T, flags ...string) *server {
	t.Helper()
	needServer(t)
	s := &server{addr: freeAddr(t), dir: t.TempDir(), flags: flags}
	t.Cleanup(s.kill)
	if err := s.start(t.Context()); err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *server) start(ctx context.Context) error {
	_, port, _ := net.SplitHostPort(s.addr)
	log := filepath.Join(s.dir, "redis.log")
	args := append([]string{"--port", port, "--bind", "127.0.0.1", "--dir", s.dir,
		"--save", "", "--logfile", log, "--loglevel", "notice"}, s.flags...)
	s.cmd = exec.Command("redis-server", args...)
	if err := s.cmd.Start(); err != nil {
		return err
	}
	c := redis.NewClient(&redis.Options{Addr: s.addr, MaxRetries: -1})
	defer c.Close()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		err := c.Ping(ctx).Err()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(log)
			return fmt.Errorf("redis-server %s on %s did not answer within 10s (%v); its log:\n%s", strings.Join(s.flags, " "), s.addr, err, b)
		}
	}
}

// kill stops the server at once with SIGKILL, as a crash does.
func (s *server) kill() {
	if s.cmd != nil {
		s.cmd.Process.Kill()
		s.cmd.Wait()
		s.cmd = nil
	}
}

// The configuration the package doc asks for.
var durable = []string{"--appendonly", "yes", "--appendfsync", "always"}

// The finding "Redis restart", first half: a Confirm made while Redis is
// down used to fail after the client's few retries, and the callback,
// whose function had run, ran again after its lease ended.
func TestConfirmRidesOutARestart(t *testing.T) {
	srv := startServer(t, durable...)
	c := redis.NewClient(&redis.Options{Addr: srv.addr})
	defer c.Close()
	s := redisstore.New(c)
	const key = "sep12:id:restart"
	tok, err := s.Reserve(t.Context(), key, kyccb.Delivery{Fingerprint: "f"}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	srv.kill()
	confirmed := make(chan error, 1)
	go func() {
		confirmed <- s.Confirm(context.Background(), key, tok, kyccb.Delivery{Fingerprint: "f"}, time.Hour)
	}()
	time.Sleep(2 * time.Second)
	if err := srv.start(t.Context()); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-confirmed:
		if err != nil {
			t.Fatalf("Confirm across a 2s restart: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Confirm did not return within 20s of Redis coming back")
	}
	if _, err := s.Reserve(t.Context(), key, kyccb.Delivery{Fingerprint: "f"}, time.Minute); !errors.Is(err, kyccb.ErrDuplicate) {
		t.Errorf("Reserve of the confirmed body after the restart = %v, want ErrDuplicate", err)
	}
}

// Each customer's callbacks, in order: a review accepted, reopened and
// accepted again. The third body is byte for byte the first.
var statuses = []kyccb.Status{kyccb.StatusAccepted, kyccb.StatusNeedsInfo, kyccb.StatusAccepted}

func body(id string, st kyccb.Status) []byte {
	if st == kyccb.StatusNeedsInfo {
		return []byte(`{"id":"` + id + `","status":"NEEDS_INFO","fields":{"photo_id_front":{"type":"binary","description":"A photo of the front of your ID"}}}`)
	}
	return []byte(`{"id":"` + id + `","status":"` + string(st) + `"}`)
}

// replicas is a service run as two replicas on loopback, each with its own
// Redis client, sharing one Redis through the store.
type replicas struct {
	urls []string
	mu   sync.Mutex
	runs map[string][]kyccb.Status // customer id -> the function's runs

	unavailable, inProgress atomic.Int64 // reasons reported
}

func newReplicas(t *testing.T, addr, prefix string, opts ...kyccb.Option) *replicas {
	rs := &replicas{runs: map[string][]kyccb.Status{}}
	for range 2 {
		c := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: time.Second})
		t.Cleanup(func() { c.Close() })
		var h http.Handler
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
		t.Cleanup(srv.Close)
		h = kyccb.SEP12(testAddress, srv.URL, rs.process, append([]kyccb.Option{
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
			})}, opts...)...)
		rs.urls = append(rs.urls, srv.URL)
	}
	return rs
}

func (rs *replicas) process(_ context.Context, c kyccb.Customer) error {
	rs.mu.Lock()
	rs.runs[c.ID] = append(rs.runs[c.ID], c.Status)
	rs.mu.Unlock()
	time.Sleep(2 * time.Millisecond) // long enough for the twin delivery to overlap
	return nil
}

// started returns how many customers' functions have run at least once.
func (rs *replicas) started() int {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return len(rs.runs)
}

// deliverAll sends each customer its callbacks in order, each one twice at
// once, one delivery to each replica, the next once both got 200, with up
// to 16 customers in flight. Every delivery retries its 503s and
// connection errors, re-signed as the Anchor Platform does, until it gets
// 200.
//
// The i-th callback is signed i seconds ahead of the clock. A customer's
// three come here within a second, where an anchor sends a return to
// ACCEPTED seconds or more after the first; and a SEP-12 signature covers
// whole seconds, the host and the body, so that the third would often be,
// byte for byte, the request signed for the first to the same replica: a
// replay, answered 200 without running the function. Signed ahead, each
// is a request of its own, and no delivery is a replay.
func (rs *replicas) deliverAll(t *testing.T, customers []string) {
	t.Helper()
	work := make(chan string)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for id := range work {
				for i, st := range statuses {
					var twins sync.WaitGroup
					for _, url := range rs.urls {
						twins.Go(func() { deliver(t, url, id, body(id, st), time.Duration(i)*time.Second) })
					}
					twins.Wait()
				}
			}
		})
	}
	for _, id := range customers {
		work <- id
	}
	close(work)
	wg.Wait()
}

// sender keeps a connection open to each replica for every delivery in
// flight, rather than dialling anew for most of them.
var sender = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

// deliver sends body to url, signed ahead of the clock, until it gets 200.
func deliver(t *testing.T, url, id string, body []byte, ahead time.Duration) {
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		sig, err := kyccb.SignSEP12(testSeed, url, body, time.Now().Add(ahead))
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
		resp, err := sender.Do(req)
		if err != nil {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusOK:
			return
		case http.StatusServiceUnavailable:
			time.Sleep(20 * time.Millisecond)
		default:
			t.Errorf("customer %s: replied %d", id, resp.StatusCode)
			return
		}
	}
	t.Errorf("customer %s: callback still refused after a minute", id)
}

func customers(from, to int) []string {
	var s []string
	for i := from; i < to; i++ {
		s = append(s, "c-"+strconv.Itoa(i))
	}
	return s
}

// checkRuns fails the test for a callback of customers that never ran or
// ran out of order, and, when exact, for one that ran more than once. It
// returns how many callbacks ran more than once.
func (rs *replicas) checkRuns(t *testing.T, customers []string, exact bool) (again int) {
	t.Helper()
	rs.mu.Lock()
	defer rs.mu.Unlock()
	total := 0
	for _, id := range customers {
		runs := rs.runs[id]
		total += len(runs)
		// Deliveries are in order, so statuses must be a subsequence of
		// runs; any other run is a callback run again.
		i := 0
		for _, st := range runs {
			if i < len(statuses) && st == statuses[i] {
				i++
			}
		}
		switch {
		case i < len(statuses):
			t.Errorf("customer %s: the function ran for %v, want each of %v in order", id, runs, statuses)
		case exact && len(runs) != len(statuses):
			t.Errorf("customer %s: the function ran for %v, want %v, each once", id, runs, statuses)
		}
		again += len(runs) - i
	}
	t.Logf("%d customers, %d callbacks, %d runs of the function", len(customers), len(customers)*len(statuses), total)
	return again
}

func TestTwoReplicasProcessEachCallbackOnce(t *testing.T) {
	c := sharedRedis(t)
	rs := newReplicas(t, c.Options().Addr, testPrefix(t))
	all := customers(0, 200)
	rs.deliverAll(t, all)
	rs.checkRuns(t, all, true)
	if n := rs.unavailable.Load(); n != 0 {
		t.Errorf("the store failed %d times", n)
	}
	t.Logf("%d twin deliveries answered 503 while the other ran", rs.inProgress.Load())
}

// The finding "Redis restart", second half: with Redis killed and
// restarted mid-delivery, exactly once holds under the configuration the
// package doc asks for, and the weaker ones are measured.
func TestRedisKilledMidRun(t *testing.T) {
	needServer(t)
	if testing.Short() {
		t.Skip("-short: skipping this test, which kills and restarts Redis three times and takes about half a minute; run it without -short")
	}
	tests := []struct {
		name  string
		flags []string
		exact bool // whether every callback must run exactly once
	}{
		{"AOF, fsync always", durable, true},
		{"AOF, fsync every second", []string{"--appendonly", "yes", "--appendfsync", "everysec"}, false},
		{"no persistence", []string{"--appendonly", "no"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startServer(t, tt.flags...)
			// A lease far longer than the function, and short enough that
			// one left behind by a Reserve cut by the kill delays its
			// callback by seconds, not by the default minute.
			rs := newReplicas(t, srv.addr, testPrefix(t), kyccb.WithDedupLease(5*time.Second))

			// Kill Redis while the first customers' callbacks are being
			// delivered, and bring it back three seconds later: longer
			// than the client's own dial and command retries hide.
			during := customers(0, 200)
			killed := make(chan struct{})
			go func() {
				defer close(killed)
				for rs.started() < 60 {
					time.Sleep(time.Millisecond)
				}
				srv.kill()
				time.Sleep(3 * time.Second)
				if err := srv.start(context.Background()); err != nil {
					t.Error(err)
				}
			}()
			rs.deliverAll(t, during)
			<-killed
			again := rs.checkRuns(t, during, tt.exact)
			if rs.unavailable.Load() == 0 {
				t.Error("no delivery was refused while Redis was down")
			}
			t.Logf("redis-server %s, killed with SIGKILL and restarted 3s later: %d deliveries refused with 503 meanwhile; "+
				"%d of %d callbacks (%.1f%%) ran more than once",
				strings.Join(tt.flags, " "), rs.unavailable.Load(), again, len(during)*len(statuses),
				100*float64(again)/float64(len(during)*len(statuses)))

			// Once it is back, each callback runs once again.
			after := customers(200, 250)
			rs.deliverAll(t, after)
			rs.checkRuns(t, after, true)
		})
	}
}

// pair is a service run as two replicas on loopback, each with its own
// Redis client, sharing one Redis through the store: the SEP-12 handler,
// or the middleware over a next handler, whose runs are recorded in
// order, and which fails when told to.
type pair struct {
	t       *testing.T
	urls    [2]string
	mu      sync.Mutex
	runs    []string
	reasons []error // every reply's Verdict.Err
	failN   int
}

func newPair(t *testing.T, middleware bool) *pair {
	c := sharedRedis(t)
	prefix := testPrefix(t)
	p := &pair{t: t}
	for i := range p.urls {
		client := redis.NewClient(&redis.Options{Addr: c.Options().Addr})
		t.Cleanup(func() { client.Close() })
		keys, err := kyccb.ParseKeys(testAddress)
		if err != nil {
			t.Fatal(err)
		}
		v, err := kyccb.NewSEP12Verifier(keys, "wallet.example.org",
			kyccb.WithDedup(redisstore.New(client, redisstore.WithPrefix(prefix))),
			kyccb.WithErrorHook(func(*http.Request, error) {}),
			kyccb.WithObserver(func(_ *http.Request, v kyccb.Verdict) {
				p.mu.Lock()
				p.reasons = append(p.reasons, v.Err)
				p.mu.Unlock()
			}))
		if err != nil {
			t.Fatal(err)
		}
		var h http.Handler
		if middleware {
			h = v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				var cb struct {
					Transaction struct{ ID, Status string } `json:"transaction"`
				}
				if err := json.NewDecoder(r.Body).Decode(&cb); err != nil {
					t.Error(err)
				}
				if err := p.run(cb.Transaction.ID + " " + cb.Transaction.Status); err != nil {
					http.Error(w, "failed", http.StatusInternalServerError)
				}
			}))
		} else {
			h = v.Handler(func(_ context.Context, c kyccb.Customer) error { return p.run(c.ID + " " + string(c.Status)) })
		}
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		p.urls[i] = srv.URL + "/callback"
	}
	return p
}

func (p *pair) run(got string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.failN > 0 {
		p.failN--
		return errors.New("the database is down")
	}
	p.runs = append(p.runs, got)
	return nil
}

// send posts body with the header name: value to replica i, expects code,
// and returns the reply's reason.
func (p *pair) send(i int, name, value, body string, code int) error {
	p.t.Helper()
	req, err := http.NewRequest(http.MethodPost, p.urls[i], strings.NewReader(body))
	if err != nil {
		p.t.Fatal(err)
	}
	req.Header.Set(name, value)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != code {
		p.t.Fatalf("replica %d replied %d, want %d", i, resp.StatusCode, code)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.reasons[len(p.reasons)-1]
}

func (p *pair) checkRuns(want ...string) {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if !slices.Equal(p.runs, want) {
		p.t.Fatalf("the function ran for %q, want %q", p.runs, want)
	}
}

// signAt signs body for the replicas' host, n seconds from now.
func signAt(t *testing.T, body string, n int) string {
	t.Helper()
	h, err := kyccb.SignSEP12(testSeed, "wallet.example.org", []byte(body), time.Now().Add(time.Duration(n)*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// respelled returns spellings of the Signature header value h that carry
// its signature: verbatim, URL-safe base64, unpadded, pairs swapped, an
// extra pair, and all at once in the legacy header.
func respelled(t *testing.T, h string) [][2]string {
	ts, s, ok := strings.Cut(h, ", s=")
	if !ok {
		t.Fatalf("cannot respell %q", h)
	}
	urlSafe := strings.NewReplacer("+", "-", "/", "_").Replace(s)
	return [][2]string{
		{kyccb.SignatureHeader, h},
		{kyccb.SignatureHeader, ts + ", s=" + urlSafe},
		{kyccb.SignatureHeader, ts + ", s=" + strings.TrimRight(s, "=")},
		{kyccb.SignatureHeader, "s=" + s + ", " + ts},
		{kyccb.SignatureHeader, h + ", x=1"},
		{kyccb.LegacySignatureHeader, "x=1,s=" + strings.TrimRight(urlSafe, "=") + "," + ts},
	}
}

// The red-team finding "replay within the tolerance window", across
// replicas: the captured ACCEPTED request, sent again to either replica
// after REJECTED, verbatim and respelled, never runs.
func TestReplayAcrossReplicas(t *testing.T) {
	p := newPair(t, false)
	accepted, rejected := `{"id":"c-1","status":"ACCEPTED"}`, `{"id":"c-1","status":"REJECTED"}`
	captured := signAt(t, accepted, -10)
	for n := -11; !strings.ContainsAny(captured, "+/"); n-- {
		captured = signAt(t, accepted, n) // so that URL-safe base64 differs
	}
	if err := p.send(0, kyccb.SignatureHeader, captured, accepted, http.StatusOK); err != nil {
		t.Fatal(err)
	}
	if err := p.send(1, kyccb.SignatureHeader, signAt(t, rejected, 0), rejected, http.StatusOK); err != nil {
		t.Fatal(err)
	}
	for i, h := range respelled(t, captured) {
		if err := p.send(i%2, h[0], h[1], accepted, http.StatusOK); !errors.Is(err, kyccb.ErrReplay) {
			t.Errorf("replica %d, %s: %s: reason %v, want ErrReplay", i%2, h[0], h[1], err)
		}
	}
	p.checkRuns("c-1 ACCEPTED", "c-1 REJECTED")

	// A failed delivery stays retryable, on the other replica, by the same
	// request and by one signed anew.
	p.mu.Lock()
	p.failN = 1
	p.mu.Unlock()
	h := signAt(t, accepted, 1)
	p.send(0, kyccb.SignatureHeader, h, accepted, http.StatusInternalServerError)
	p.send(1, kyccb.SignatureHeader, h, accepted, http.StatusOK)
	p.checkRuns("c-1 ACCEPTED", "c-1 REJECTED", "c-1 ACCEPTED")
	p.mu.Lock()
	p.failN = 1
	p.mu.Unlock()
	p.send(1, kyccb.SignatureHeader, signAt(t, rejected, 2), rejected, http.StatusInternalServerError)
	p.send(0, kyccb.SignatureHeader, signAt(t, rejected, 3), rejected, http.StatusOK)
	p.checkRuns("c-1 ACCEPTED", "c-1 REJECTED", "c-1 ACCEPTED", "c-1 REJECTED")
}

// The sequence of issue 15 across two replicas: the watermark is shared.
func TestOrderAcrossReplicas(t *testing.T) {
	p := newPair(t, true)
	tx := func(id, status, updated string) string {
		return `{"transaction":{"id":"` + id + `","kind":"deposit","status":"` + status + `","updated_at":"` + updated + `"}}`
	}
	sent := 0
	send := func(i int, body string, want error) {
		t.Helper()
		sent++
		if err := p.send(i, kyccb.SignatureHeader, signAt(t, body, sent-60), body, http.StatusOK); !errors.Is(err, want) && (want != nil || err != nil) {
			t.Fatalf("replica %d, %s: reason %v, want %v", i, body, err, want)
		}
	}
	completed := tx("tx-1", "completed", "2026-12-02T10:05:00Z")
	send(0, completed, nil)
	send(1, tx("tx-1", "pending_anchor", "2026-12-02T10:01:00Z"), kyccb.ErrStale)
	send(1, completed, kyccb.ErrDuplicate)
	send(0, tx("tx-1", "refunded", "2026-12-02T10:07:00Z"), nil)
	p.checkRuns("tx-1 completed", "tx-1 refunded")
	stale := 0
	for _, err := range p.reasons {
		if errors.Is(err, kyccb.ErrStale) {
			stale++
		}
	}
	if stale != 1 {
		t.Errorf("the observers saw %d ErrStale, want 1", stale)
	}
	send(1, completed, kyccb.ErrStale)
	// Another transaction's watermark is its own.
	send(1, tx("tx-2", "pending_anchor", "2026-12-02T10:01:00Z"), nil)
	p.checkRuns("tx-1 completed", "tx-1 refunded", "tx-2 pending_anchor")
}
