package pgstore_test

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/kyccb/kyccb"
	"github.com/kyccb/kyccb/internal/killtest"
	"github.com/kyccb/kyccb/pgstore"
)

// binEnv names the directory of PostgreSQL's server binaries (initdb,
// pg_ctl) for the tests that start servers of their own; without it they
// look in /usr/lib/postgresql/*/bin, where Debian puts them.
const binEnv = "KYCCB_PG_BIN"

var killRuns = flag.Int("pgstore.killruns", 1, "how many times TestKillReplicasAndPostgres runs its 600 callbacks")

// The environment of a replica process: the test binary run again.
const (
	replicaURLEnv   = "KYCCB_PG_REPLICA_URL"
	replicaTableEnv = "KYCCB_PG_REPLICA_TABLE"
	replicaAppEnv   = "KYCCB_PG_REPLICA_APP"
)

// TestMain runs a replica instead of the tests when the kill test started
// the binary as one.
func TestMain(m *testing.M) {
	killtest.Main(m, replica)
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
		killtest.AfterEffect()
		return nil
	}
	return http.ListenAndServe(addr, kyccb.SEP12(testAddress, "http://"+addr, fn, kyccb.WithDedup(store)))
}

// killingStore kills its process at a random moment of one Confirm in 60.
// It embeds *pgstore.Store, not kyccb.Store, to keep the methods through
// which pgstore.Tx joins the function to the record's transaction.
type killingStore struct{ *pgstore.Store }

func (s *killingStore) Confirm(ctx context.Context, key, token string, d kyccb.Delivery, ttl time.Duration) error {
	killtest.DuringConfirm()
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
	killtest.Deliver(t, killtest.Setup{
		Seed:    testSeed,
		Body:    body,
		Env:     []string{replicaURLEnv + "=" + srv.url, replicaTableEnv + "=" + table, replicaAppEnv + "=" + app},
		Server:  "PostgreSQL",
		Crash:   srv.crash,
		Restart: srv.start,
	})

	rows, err := admin.Query(t.Context(), `SELECT customer, status, count(*) FROM `+pgx.Identifier{app}.Sanitize()+` GROUP BY 1, 2`)
	if err != nil {
		t.Fatal(err)
	}
	got := map[killtest.Effect]int{}
	for rows.Next() {
		var customer, status string
		var n int
		if err := rows.Scan(&customer, &status, &n); err != nil {
			t.Fatal(err)
		}
		got[killtest.Effect{Customer: customer, Status: kyccb.Status(status)}] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if twice := killtest.Check(t, got); twice != 0 {
		t.Errorf("%d customers with an effect applied more than once, want none: the record commits with the effect", twice)
	}
}
