package pgstore_test

import (
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

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/kyccb/kyccb"
	"github.com/kyccb/kyccb/pgstore"
	"github.com/kyccb/kyccb/send"
)

// binEnv names the directory of PostgreSQL's server binaries (initdb,
// pg_ctl) for the tests that start servers of their own; without it they
// look in /usr/lib/postgresql/*/bin, where Debian puts them.
const binEnv = "KYCCB_PG_BIN"

var killRuns = flag.Int("pgstore.killruns", 1, "how many times TestKillReplicasAndPostgres runs its 600 callbacks")

// The environment of a replica process: the test binary run again.
const (
	replicaEnv      = "KYCCB_PG_REPLICA" // the address to listen on
	replicaURLEnv   = "KYCCB_PG_REPLICA_URL"
	replicaTableEnv = "KYCCB_PG_REPLICA_TABLE"
	replicaAppEnv   = "KYCCB_PG_REPLICA_APP"
)

// TestMain runs a replica instead of the tests when the kill test started
// the binary as one.
func TestMain(m *testing.M) {
	if addr := os.Getenv(replicaEnv); addr != "" {
		if err := replica(addr); err != nil {
			fmt.Fprintln(os.Stderr, "replica:", err)
			os.Exit(1)
		}
		return
	}
	os.Exit(m.Run())
}

// replica serves SEP-12 callbacks at addr, as a wallet's service does,
// with a function that writes its effect into the app's table through
// pgstore.Tx. It kills itself now and then: after the function's write
// (mid-function), and at a random moment of Confirm (mid-commit, before,
// during or after the COMMIT reaches the server).
func replica(addr string) error {
	cfg, err := pgxpool.ParseConfig(os.Getenv(replicaURLEnv))
	if err != nil {
		return err
	}
	cfg.MaxConns = 32
	cfg.ConnConfig.ConnectTimeout = 2 * time.Second
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		return err
	}
	store := &killingStore{pgstore.New(pool, pgstore.WithTable("", os.Getenv(replicaTableEnv)))}
	app := pgx.Identifier{os.Getenv(replicaAppEnv)}.Sanitize()
	fn := func(ctx context.Context, c kyccb.Customer) error {
		if _, err := pgstore.Tx(ctx).Exec(ctx, `INSERT INTO `+app+` (customer, status) VALUES ($1, $2)`, c.ID, string(c.Status)); err != nil {
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
	h := kyccb.SEP12(testAddress, "http://"+addr, fn, kyccb.WithDedup(store))
	return http.Serve(l, h)
}

// killingStore kills its process at a random moment of one Confirm in 60.
type killingStore struct{ *pgstore.Store }

func (s *killingStore) Confirm(ctx context.Context, key, token string, d kyccb.Delivery, ttl time.Duration) error {
	if rand.IntN(60) == 0 {
		go func() {
			time.Sleep(time.Duration(rand.IntN(2000)) * time.Microsecond)
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
		}()
	}
	return s.Store.Confirm(ctx, key, token, d, ttl)
}

// pgServer is a PostgreSQL server of the test's own, in a directory of its
// own, which the test can stop as a crash does and start again.
type pgServer struct {
	bin, dir string
	port     int
	url      string
}

// pgBin returns the directory of initdb and pg_ctl, or skips the test.
func pgBin(t *testing.T) string {
	t.Helper()
	if dir := os.Getenv(binEnv); dir != "" {
		return dir
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(matches) == 0 {
		skip(t, "no PostgreSQL server binaries in /usr/lib/postgresql/*/bin and %s is not set: skipping this test, "+
			"which starts servers of its own; to run it, apt-get install postgresql", binEnv)
	}
	return filepath.Dir(matches[len(matches)-1])
}

// asPostgres runs a server binary, as the postgres user when the test runs
// as root (initdb refuses root).
func asPostgres(name string, args ...string) *exec.Cmd {
	if os.Geteuid() == 0 {
		return exec.Command("runuser", append([]string{"-u", "postgres", "--", name}, args...)...)
	}
	return exec.Command(name, args...)
}

func startPostgres(t *testing.T) *pgServer {
	t.Helper()
	bin := pgBin(t)
	// Not t.TempDir: its parent is closed to the postgres user.
	dir, err := os.MkdirTemp("", "kyccb-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if os.Geteuid() == 0 {
		out, err := exec.Command("chown", "postgres", dir).CombinedOutput()
		if err != nil {
			t.Fatalf("chown postgres %s: %v\n%s", dir, err, out)
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	s := &pgServer{bin: bin, dir: dir, port: port,
		url: fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?connect_timeout=2", port)}
	if out, err := asPostgres(filepath.Join(bin, "initdb"), "-D", filepath.Join(dir, "data"), "-A", "trust", "-U", "postgres").CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	t.Cleanup(func() { s.crash() })
	if err := s.start(); err != nil {
		t.Fatal(err)
	}
	return s
}

// start starts the server, which recovers from its WAL after a crash.
func (s *pgServer) start() error {
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c max_connections=200", s.port, s.dir)
	out, err := asPostgres(filepath.Join(s.bin, "pg_ctl"), "-D", filepath.Join(s.dir, "data"), "-l", filepath.Join(s.dir, "log"),
		"-w", "-t", "30", "-o", opts, "start").CombinedOutput()
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(s.dir, "log"))
		return fmt.Errorf("pg_ctl start: %v\n%s\n%s", err, out, log)
	}
	return nil
}

// crash stops the server with -m immediate: every process quits at once,
// without a checkpoint, as after a crash; the next start replays the WAL.
func (s *pgServer) crash() error {
	out, err := asPostgres(filepath.Join(s.bin, "pg_ctl"), "-D", filepath.Join(s.dir, "data"), "-m", "immediate", "stop").CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctl stop -m immediate: %v\n%s", err, out)
	}
	return nil
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
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
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

// killStatuses are each customer's callbacks, in order; the third body is
// byte for byte the first.
var killStatuses = []kyccb.Status{kyccb.StatusAccepted, kyccb.StatusNeedsInfo, kyccb.StatusAccepted}

// killSenders returns a sender for each of killStatuses. A customer's
// three callbacks come here within a second, where an anchor sends a
// return to ACCEPTED seconds or more after the first; and a SEP-12
// signature covers whole seconds, the host and the body, so that the third
// would often be, byte for byte, a request signed for the first: a replay,
// answered 200 without running the function. Each sender therefore signs
// a second ahead of the one before it (two seconds at most, well within
// the verifier's tolerance), and the third callback is a request of its
// own.
func killSenders(t *testing.T) []*send.Sender {
	t.Helper()
	senders := make([]*send.Sender, len(killStatuses))
	for i := range senders {
		ahead := time.Duration(i) * time.Second
		s, err := send.NewSEP12(testSeed, send.WithAttempts(100), send.WithBackoff(20*time.Millisecond, 300*time.Millisecond),
			send.WithRequestTimeout(5*time.Second), send.WithClock(func() time.Time { return time.Now().Add(ahead) }))
		if err != nil {
			t.Fatal(err)
		}
		senders[i] = s
	}
	return senders
}

// The kill test: 600 callbacks (200 customers, three each, each delivered
// twice at once, to each replica), through two replica processes that
// kill themselves mid-function and mid-commit and are killed from outside
// every 250 ms, with PostgreSQL stopped with -m immediate and started
// again once, mid-run. The app's table must hold each effect exactly once.
func TestKillReplicasAndPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping this test, which kills replicas and PostgreSQL and takes about ten seconds a run")
	}
	srv := startPostgres(t)
	admin := newPool(t, srv.url, 4)
	for run := range *killRuns {
		t.Run(fmt.Sprint("run ", run+1), func(t *testing.T) {
			killRun(t, srv, admin)
		})
	}
}

func killRun(t *testing.T, srv *pgServer, admin *pgxpool.Pool) {
	table, app := testTable(), "app_"+testTable()
	migrated(t, admin, table)
	if _, err := admin.Exec(t.Context(), `CREATE TABLE `+pgx.Identifier{app}.Sanitize()+` (customer text NOT NULL, status text NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	env := []string{replicaURLEnv + "=" + srv.url, replicaTableEnv + "=" + table, replicaAppEnv + "=" + app}
	reps := []*replicaProc{startReplica(t, env), startReplica(t, env)}

	senders := killSenders(t)
	const customers = 200
	var completed atomic.Int64
	var external atomic.Int64
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
		if err := srv.crash(); err != nil {
			t.Error(err)
			return
		}
		start := time.Now()
		time.Sleep(2 * time.Second)
		if err := srv.start(); err != nil {
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
				for i, st := range killStatuses {
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

	rows, err := admin.Query(t.Context(), `SELECT customer, status, count(*) FROM `+pgx.Identifier{app}.Sanitize()+` GROUP BY 1, 2`)
	if err != nil {
		t.Fatal(err)
	}
	type effect struct{ customer, status string }
	got := map[effect]int{}
	var total int
	for rows.Next() {
		var e effect
		var n int
		if err := rows.Scan(&e.customer, &e.status, &n); err != nil {
			t.Fatal(err)
		}
		got[e] = n
		total += n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	wrong := 0
	for i := range customers {
		id := "k-" + strconv.Itoa(i)
		a, b := got[effect{id, "ACCEPTED"}], got[effect{id, "NEEDS_INFO"}]
		if a != 2 || b != 1 {
			wrong++
			if wrong <= 5 {
				t.Errorf("customer %s: ACCEPTED applied %d times, NEEDS_INFO %d; want 2 and 1", id, a, b)
			}
		}
	}
	deaths := reps[0].deaths.Load() + reps[1].deaths.Load()
	t.Logf("%d callbacks in %s; the app's table holds %d effects, %d customers wrong; replicas died %d times "+
		"(%d SIGKILLs sent from outside, the rest mid-function or mid-commit); PostgreSQL down %s",
		customers*len(killStatuses), elapsed.Round(time.Millisecond), total, wrong, deaths, external.Load(), outage.Round(time.Millisecond))
	if outage == 0 {
		t.Error("PostgreSQL was not stopped and started during the run")
	}
	if deaths < 10 {
		t.Errorf("replicas died %d times, want at least 10: the test killed too little to prove anything", deaths)
	}
}
