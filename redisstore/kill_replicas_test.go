package redisstore_test

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kyccb/kyccb"
	"github.com/kyccb/kyccb/internal/killtest"
	"github.com/kyccb/kyccb/redisstore"
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
		killtest.AfterEffect()
		return nil
	}
	return http.ListenAndServe(addr, kyccb.SEP12(testAddress, "http://"+addr, fn, kyccb.WithDedup(store), kyccb.WithDedupLease(5*time.Second)))
}

// killingStore kills its process at a random moment of one Confirm in 60.
type killingStore struct{ kyccb.Store }

func (s *killingStore) Confirm(ctx context.Context, key, token string, d kyccb.Delivery, ttl time.Duration) error {
	killtest.DuringConfirm()
	return s.Store.Confirm(ctx, key, token, d, ttl)
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
	killtest.Deliver(t, killtest.Setup{
		Seed:    testSeed,
		Body:    body,
		Env:     []string{replicaRedisEnv + "=" + srv.addr, replicaPrefixEnv + "=" + testPrefix(t), replicaAppEnv + "=" + app},
		Server:  "Redis",
		Crash:   func() error { srv.kill(); return nil },
		Restart: func() error { return srv.start(context.Background()) },
	})

	f, err := os.Open(app)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got := map[killtest.Effect]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		customer, status, _ := strings.Cut(sc.Text(), " ")
		got[killtest.Effect{Customer: customer, Status: kyccb.Status(status)}]++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	killtest.Check(t, got)
}
