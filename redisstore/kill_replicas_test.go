package redisstore_test

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/kyccb/kyccb"
	"github.com/kyccb/kyccb/redisstore"
	"github.com/kyccb/kyccb/send"
	"github.com/redis/go-redis/v9"
)

// This is pgstore's kill test (TestKillReplicasAndPostgres) run against
// this package, for the comparison in docs/security.md: the same
// callbacks, replicas and kills, with Redis killed and restarted where
// pgstore's test stops PostgreSQL. With Redis the record and the
// function's effect are written apart, so the test measures the effects
// kept twice rather than failing on them.

var killRuns = flag.Int("redisstore.killruns", 1, "how many times TestKillReplicasAndRedis runs its 600 callbacks")

// The environment of a replica process: the test binary run again.
const (
	replicaEnv       = "KYCCB_REDIS_REPLICA" // the address to listen on
	replicaRedisEnv  = "KYCCB_REDIS_REPLICA_REDIS"
	replicaPrefixEnv = "KYCCB_REDIS_REPLICA_PREFIX"
	replicaAppEnv    = "KYCCB_REDIS_REPLICA_APP"
)

// replica serves SEP-12 callbacks at addr with a function that appends
// its effect to the app's table, a file written with O_APPEND and synced
// before the function returns, as a committed row is. It kills itself
// now and then after the function's write (mid-function), and at a random
// moment of Confirm.
func replica(addr string) error {
	c := redis.NewClient(&redis.Options{Addr: os.Getenv(replicaRedisEnv), DialTimeout: time.Second})
	store := &killingStore{redisstore.New(c, redisstore.WithPrefix(os.Getenv(replicaPrefixEnv)))}
	app, err := os.OpenFile(os.Getenv(replicaAppEnv), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	var mu sync.Mutex
	fn := func(ctx context.Context, c kyccb.Customer) error {
		mu.Lock()
		_, err := app.WriteString(c.ID + " " + string(c.Status) + "\n")
		if err == nil {
			err = app.Sync()
		}
		mu.Unlock()
		if err != nil {
			return err
		}
		time.Sleep(time.Duration(rand.IntN(3000)) * time.Microsecond)
		if rand.IntN(60) == 0 {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
		}
		return nil
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return http.Serve(l, kyccb.SEP12(testAddress, "http://"+addr, fn, kyccb.WithDedup(store), kyccb.WithDedupLease(5*time.Second)))
}

// killingStore kills its process at a random moment of one Confirm in 60.
type killingStore struct{ kyccb.Store }

func (s *killingStore) Confirm(ctx context.Context, key, token string, d kyccb.Delivery, ttl time.Duration) error {
	if rand.IntN(60) == 0 {
		go func() {
			time.Sleep(time.Duration(rand.IntN(2000)) * time.Microsecond)
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
		}()
	}
	return s.Store.Confirm(ctx, key, token, d, ttl)
}

// replicaProc keeps one replica process running at addr, starting it
// again whenever it dies, until stop.
type replicaProc struct {
	addr   string
	env    []string
	mu     sync.Mutex
	cmd    *exec.Cmd
	deaths atomic.Int64
	done   chan struct{}
	wg     sync.WaitGroup
}

func startReplica(t *testing.T, env []string) *replicaProc {
	t.Helper()
	addr := freeAddr(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := &replicaProc{addr: addr, done: make(chan struct{}),
		env: append(append(os.Environ(), replicaEnv+"="+addr), env...)}
	p.wg.Go(func() {
		for {
			cmd := exec.Command(exe)
			cmd.Env = p.env
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Errorf("starting a replica: %v", err)
				return
			}
			p.mu.Lock()
			p.cmd = cmd
			p.mu.Unlock()
			err := cmd.Wait()
			select {
			case <-p.done:
				return
			default:
			}
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Errorf("a replica ended other than by SIGKILL: %v\n%s", err, stderr.String())
				return
			}
			p.deaths.Add(1)
		}
	})
	t.Cleanup(p.stop)
	return p
}

// kill sends the running replica SIGKILL; it is started again.
func (p *replicaProc) kill() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil && p.cmd.Process != nil {
		p.cmd.Process.Signal(syscall.SIGKILL)
	}
}

func (p *replicaProc) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	close(p.done)
	p.kill()
	p.wg.Wait()
}

// TestKillReplicasAndRedis: 600 callbacks (200 customers, three each,
// each delivered twice at once, to each replica), through two replica
// processes that kill themselves mid-function and mid-commit and are
// killed from outside every 250 ms, with Redis (appendfsync always, as
// the package doc asks) killed with SIGKILL and started again once,
// mid-run. It fails if a callback's effect is missing, and reports how
// many were kept twice.
func TestKillReplicasAndRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping this test, which kills replicas and Redis and takes about ten seconds a run")
	}
	needServer(t)
	srv := startServer(t, durable...)
	for run := range *killRuns {
		t.Run(fmt.Sprint("run ", run+1), func(t *testing.T) {
			killRun(t, srv)
		})
	}
}

func killRun(t *testing.T, srv *server) {
	app := filepath.Join(t.TempDir(), "app")
	env := []string{replicaRedisEnv + "=" + srv.addr, replicaPrefixEnv + "=" + testPrefix(t), replicaAppEnv + "=" + app}
	reps := []*replicaProc{startReplica(t, env), startReplica(t, env)}

	// The i-th callback of a customer is signed i seconds ahead of the
	// clock, so that the third, byte for byte the first, is a request of
	// its own rather than a replay of the first's (see deliverAll).
	senders := make([]*send.Sender, len(statuses))
	for i := range senders {
		ahead := time.Duration(i) * time.Second
		s, err := send.NewSEP12(testSeed, send.WithAttempts(100), send.WithBackoff(20*time.Millisecond, 300*time.Millisecond),
			send.WithRequestTimeout(5*time.Second), send.WithClock(func() time.Time { return time.Now().Add(ahead) }))
		if err != nil {
			t.Fatal(err)
		}
		senders[i] = s
	}
	const customers = 200
	var completed, external atomic.Int64
	stopKilling := make(chan struct{})
	var killers sync.WaitGroup
	killers.Go(func() {
		for {
			select {
			case <-stopKilling:
				return
			case <-time.After(250 * time.Millisecond):
			}
			reps[rand.IntN(2)].kill()
			external.Add(1)
		}
	})
	var outage time.Duration
	killers.Go(func() {
		for completed.Load() < customers/4 {
			select {
			case <-stopKilling:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
		srv.kill()
		start := time.Now()
		time.Sleep(2 * time.Second)
		if err := srv.start(context.Background()); err != nil {
			t.Error(err)
		}
		outage = time.Since(start)
	})

	start := time.Now()
	work := make(chan int)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for i := range work {
				id := "k-" + strconv.Itoa(i)
				for i, st := range statuses {
					var twins sync.WaitGroup
					for _, r := range reps {
						twins.Go(func() {
							d, err := senders[i].Send(context.Background(), "http://"+r.addr+"/", body(id, st))
							if err != nil || d.StatusCode != http.StatusOK {
								t.Errorf("customer %s, %s: %d, %v after %d attempts", id, st, d.StatusCode, err, len(d.Attempts))
							}
						})
					}
					twins.Wait()
				}
				completed.Add(1)
			}
		})
	}
	for i := range customers {
		work <- i
	}
	close(work)
	wg.Wait()
	elapsed := time.Since(start)
	close(stopKilling)
	killers.Wait()
	for _, r := range reps {
		r.stop()
	}

	f, err := os.Open(app)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got := map[string]int{}
	total := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		got[sc.Text()]++
		total++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	twice := 0
	for i := range customers {
		id := "k-" + strconv.Itoa(i)
		a, b := got[id+" ACCEPTED"], got[id+" NEEDS_INFO"]
		if a < 2 || b < 1 {
			t.Errorf("customer %s: ACCEPTED applied %d times, NEEDS_INFO %d; want at least 2 and 1", id, a, b)
		}
		if a > 2 || b > 1 {
			twice++
		}
	}
	deaths := reps[0].deaths.Load() + reps[1].deaths.Load()
	t.Logf("%d callbacks in %s; the app's table holds %d effects (%d more than once), %d customers with an effect twice; "+
		"replicas died %d times (%d SIGKILLs sent from outside); Redis down %s",
		customers*len(statuses), elapsed.Round(time.Millisecond), total, total-customers*len(statuses), twice,
		deaths, external.Load(), outage.Round(time.Millisecond))
	if outage == 0 {
		t.Error("Redis was not killed and started during the run")
	}
	if deaths < 10 {
		t.Errorf("replicas died %d times, want at least 10: the test killed too little to prove anything", deaths)
	}
}
