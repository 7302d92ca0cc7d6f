package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/kyccb/kyccb"
	"github.com/kyccb/kyccb/pgstore"
	"github.com/kyccb/kyccb/send"
)

// The Anchor Platform's own test key pair, from PROTOCOLS.md.
const (
	testSeed    = "SAX3AH622R2XT6DXWWSRIDCMMUCCMATBZ5U6XKJWDO7M2EJUBFC3AW5X"
	testAddress = "GCHLHDBOKG2JWMJQBTLSL5XG6NO7ESXI2TAQKZXCXWXB5WI2X6W233PR"
)

func body(id string, st kyccb.Status) []byte {
	return []byte(`{"id":"` + id + `","status":"` + string(st) + `"}`)
}

// app is a wallet's own table of effects: one row per status applied.
type app struct {
	pool  *pgxpool.Pool
	table string // quoted
}

func newApp(t testing.TB, pool *pgxpool.Pool) *app {
	t.Helper()
	a := &app{pool: pool, table: pgx.Identifier{"app_" + testTable()}.Sanitize()}
	if _, err := pool.Exec(t.Context(), `CREATE TABLE `+a.table+` (customer text NOT NULL, status text NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	return a
}

// rows returns the effects kept for customer, in no order.
func (a *app) rows(t *testing.T, customer string) []string {
	t.Helper()
	rows, err := a.pool.Query(t.Context(), `SELECT status FROM `+a.table+` WHERE customer = $1`, customer)
	if err != nil {
		t.Fatal(err)
	}
	st, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// flavour is one of the store's two constructors, and how its function
// writes an effect in the callback's transaction.
type flavour struct {
	name  string
	store func(t *testing.T, pool *pgxpool.Pool) *pgstore.Store
	// write writes the effect through the transaction in ctx, and returns
	// the backend's pid, so that a test can cut its connection.
	write func(ctx context.Context, a *app, c kyccb.Customer) (pid int, err error)
}

var flavours = []flavour{
	{
		name:  "pgx",
		store: func(t *testing.T, pool *pgxpool.Pool) *pgstore.Store { return migrated(t, pool, testTable()) },
		write: func(ctx context.Context, a *app, c kyccb.Customer) (int, error) {
			tx := pgstore.Tx(ctx)
			if tx == nil {
				return 0, errors.New("no pgx.Tx in the function's context")
			}
			var pid int
			err := tx.QueryRow(ctx, `INSERT INTO `+a.table+` (customer, status) VALUES ($1, $2) RETURNING pg_backend_pid()`,
				c.ID, string(c.Status)).Scan(&pid)
			return pid, err
		},
	},
	{
		name: "database/sql",
		store: func(t *testing.T, pool *pgxpool.Pool) *pgstore.Store {
			db := stdlib.OpenDBFromPool(pool)
			t.Cleanup(func() { db.Close() })
			s := pgstore.NewSQL(db, pgstore.WithTable("", testTable()))
			if err := s.Migrate(t.Context()); err != nil {
				t.Fatal(err)
			}
			return s
		},
		write: func(ctx context.Context, a *app, c kyccb.Customer) (int, error) {
			tx := pgstore.SQLTx(ctx)
			if tx == nil {
				return 0, errors.New("no *sql.Tx in the function's context")
			}
			var pid int
			err := tx.QueryRowContext(ctx, `INSERT INTO `+a.table+` (customer, status) VALUES ($1, $2) RETURNING pg_backend_pid()`,
				c.ID, string(c.Status)).Scan(&pid)
			return pid, err
		},
	},
}

// cuttingStore terminates, when cut is set, the connection of the
// transaction the function wrote in, after the function returned nil and
// before the store commits.
type cuttingStore struct {
	*pgstore.Store
	pool *pgxpool.Pool
	pid  atomic.Int64
	cut  atomic.Bool
}

func (s *cuttingStore) Confirm(ctx context.Context, key, token string, d kyccb.Delivery, ttl time.Duration) error {
	if s.cut.Load() {
		var ok bool
		if err := s.pool.QueryRow(ctx, `SELECT pg_terminate_backend($1, 5000)`, s.pid.Load()).Scan(&ok); err != nil || !ok {
			return fmt.Errorf("the test could not terminate the connection: %v, %w", ok, err)
		}
	}
	return s.Store.Confirm(ctx, key, token, d, ttl)
}

// serve runs fn behind kyccb.SEP12 with store on a loopback server, and
// returns its URL.
func serve(t testing.TB, store kyccb.Store, fn func(context.Context, kyccb.Customer) error, opts ...kyccb.Option) string {
	t.Helper()
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	h = kyccb.SEP12(testAddress, srv.URL, fn, append([]kyccb.Option{kyccb.WithDedup(store)}, opts...)...)
	return srv.URL
}

// once sends body in a single attempt, signed at signingTime, and returns
// the status.
func once(t *testing.T, url string, body []byte) int {
	t.Helper()
	at := signingTime(url, body)
	s, err := send.NewSEP12(testSeed, send.WithAttempts(1), send.WithClock(func() time.Time { return at }))
	if err != nil {
		t.Fatal(err)
	}
	d, _ := s.Send(t.Context(), url, body)
	return d.StatusCode
}

// signed holds, by URL and body, the time the last delivery was signed at.
var signed struct {
	sync.Mutex
	last map[string]time.Time
}

// signingTime returns the time to sign a delivery of body to url at: now,
// or a second after the last delivery of the same body to the same URL.
// A SEP-12 signature covers whole seconds, the host and the body: two
// deliveries of one body in one second would be one signed request, the
// second a replay of the first, where an anchor signs each delivery anew,
// with the time it sends it, seconds or more apart.
func signingTime(url string, body []byte) time.Time {
	signed.Lock()
	defer signed.Unlock()
	if signed.last == nil {
		signed.last = make(map[string]time.Time)
	}
	k := url + " " + string(body)
	at := time.Now()
	if last, ok := signed.last[k]; ok && at.Before(last.Add(time.Second)) {
		at = last.Add(time.Second)
	}
	signed.last[k] = at
	return at
}

func TestEffectsCommitWithTheRecord(t *testing.T) {
	pool := sharedPool(t)
	for _, fl := range flavours {
		t.Run(fl.name, func(t *testing.T) {
			a := newApp(t, pool)
			store := fl.store(t, pool)
			var fail atomic.Bool
			cs := &cuttingStore{Store: store, pool: pool}
			url := serve(t, cs, func(ctx context.Context, c kyccb.Customer) error {
				pid, err := fl.write(ctx, a, c)
				if err != nil {
					return err
				}
				cs.pid.Store(int64(pid))
				if fail.Load() {
					return errors.New("the function failed after its write")
				}
				return nil
			})
			cut := &cs.cut

			t.Run("a function that writes and fails leaves no row; its retry leaves one", func(t *testing.T) {
				fail.Store(true)
				if code := once(t, url, body("fails", kyccb.StatusAccepted)); code != http.StatusInternalServerError {
					t.Errorf("the failing delivery got %d, want 500", code)
				}
				fail.Store(false)
				if got := a.rows(t, "fails"); len(got) != 0 {
					t.Fatalf("a failed function left %v", got)
				}
				if code := once(t, url, body("fails", kyccb.StatusAccepted)); code != http.StatusOK {
					t.Errorf("the retry got %d, want 200", code)
				}
				if got := a.rows(t, "fails"); len(got) != 1 {
					t.Errorf("the retry left %v, want one row", got)
				}
			})
			t.Run("a redelivery of the applied body leaves one row", func(t *testing.T) {
				for range 3 {
					if code := once(t, url, body("again", kyccb.StatusAccepted)); code != http.StatusOK {
						t.Errorf("a delivery got %d, want 200", code)
					}
				}
				if got := a.rows(t, "again"); len(got) != 1 {
					t.Errorf("three deliveries of one body left %v, want one row", got)
				}
			})
			t.Run("ACCEPTED, NEEDS_INFO, ACCEPTED again leaves three rows", func(t *testing.T) {
				for _, st := range []kyccb.Status{kyccb.StatusAccepted, kyccb.StatusNeedsInfo, kyccb.StatusAccepted} {
					if code := once(t, url, body("aba", st)); code != http.StatusOK {
						t.Errorf("%s got %d, want 200", st, code)
					}
				}
				if got := a.rows(t, "aba"); len(got) != 3 {
					t.Errorf("A, B, A left %v, want three rows", got)
				}
			})
			t.Run("a connection cut after the function returned nil: 503, no row; the retry leaves one", func(t *testing.T) {
				cut.Store(true)
				if code := once(t, url, body("cut", kyccb.StatusAccepted)); code != http.StatusServiceUnavailable {
					t.Errorf("the delivery whose commit was lost got %d, want 503", code)
				}
				cut.Store(false)
				if got := a.rows(t, "cut"); len(got) != 0 {
					t.Fatalf("the lost transaction left %v", got)
				}
				if code := once(t, url, body("cut", kyccb.StatusAccepted)); code != http.StatusOK {
					t.Errorf("the retry got %d, want 200", code)
				}
				if code := once(t, url, body("cut", kyccb.StatusAccepted)); code != http.StatusOK {
					t.Errorf("the redelivery got %d, want 200", code)
				}
				if got := a.rows(t, "cut"); len(got) != 1 {
					t.Errorf("the retry left %v, want one row", got)
				}
			})
		})
	}
}

// Two replicas, each with a pool of its own, and 16 deliveries of one body
// at once, eight to each, with a sender that retries: the function's
// effect is kept once, and every delivery ends in 200.
func TestTwoReplicasSixteenDeliveries(t *testing.T) {
	url := pgURL(t)
	a := newApp(t, sharedPool(t))
	table := testTable()
	var urls []string
	var runs, refused atomic.Int64
	for range 2 {
		pool := newPool(t, url, 20)
		store := migrated(t, pool, table)
		urls = append(urls, serve(t, store, func(ctx context.Context, c kyccb.Customer) error {
			runs.Add(1)
			if _, err := pgstore.Tx(ctx).Exec(ctx, `INSERT INTO `+a.table+` VALUES ($1, $2)`, c.ID, string(c.Status)); err != nil {
				return err
			}
			// Hold the lock until others were refused meanwhile, so that
			// the deliveries overlap.
			for deadline := time.Now().Add(2 * time.Second); refused.Load() < 4 && time.Now().Before(deadline); {
				time.Sleep(time.Millisecond)
			}
			return nil
		}, kyccb.WithErrorHook(func(_ *http.Request, err error) {
			if errors.Is(err, kyccb.ErrDuplicateInProgress) {
				refused.Add(1)
			}
		})))
	}
	s, err := send.NewSEP12(testSeed, send.WithBackoff(10*time.Millisecond, 100*time.Millisecond), send.WithAttempts(10))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var retried atomic.Int64
	for i := range 16 {
		wg.Go(func() {
			d, err := s.Send(t.Context(), urls[i%2], body("sixteen", kyccb.StatusAccepted))
			if err != nil || d.StatusCode != http.StatusOK {
				t.Errorf("delivery %d: %d, %v after %d attempts", i, d.StatusCode, err, len(d.Attempts))
			}
			retried.Add(int64(len(d.Attempts) - 1))
		})
	}
	wg.Wait()
	if got := a.rows(t, "sixteen"); len(got) != 1 {
		t.Errorf("16 deliveries of one body left %v, want one row", got)
	}
	if n := runs.Load(); n != 1 {
		t.Errorf("the function ran %d times, want once", n)
	}
	if refused.Load() < 4 {
		t.Errorf("%d deliveries were refused while the function ran, want at least 4: the test did not overlap them", refused.Load())
	}
	t.Logf("%d retries after 503 among the 16 deliveries", retried.Load())
}

// The middleware form: next writes through pgstore.Tx of its request's
// context, and its 200 reaches the sender only after the commit.
func TestMiddlewareRepliesAfterTheCommit(t *testing.T) {
	pool := sharedPool(t)
	a := newApp(t, pool)
	store := migrated(t, pool, testTable())
	var cut atomic.Bool
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		tx := pgstore.Tx(ctx)
		if tx == nil {
			http.Error(w, "no transaction", http.StatusInternalServerError)
			return
		}
		var pid int
		if err := tx.QueryRow(ctx, `INSERT INTO `+a.table+` VALUES ('mw', 'ACCEPTED') RETURNING pg_backend_pid()`).Scan(&pid); err != nil {
			http.Error(w, "insert failed", http.StatusInternalServerError)
			return
		}
		if cut.Load() {
			if _, err := pool.Exec(context.Background(), `SELECT pg_terminate_backend($1, 5000)`, pid); err != nil {
				t.Error(err)
			}
		}
		w.Write([]byte("applied\n"))
	})
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	keys, err := kyccb.ParseKeys(testAddress)
	if err != nil {
		t.Fatal(err)
	}
	v, err := kyccb.NewSEP12Verifier(keys, srv.URL, kyccb.WithDedup(store))
	if err != nil {
		t.Fatal(err)
	}
	h = v.Middleware(next)

	cut.Store(true)
	if code := once(t, srv.URL, body("mw", kyccb.StatusAccepted)); code != http.StatusServiceUnavailable {
		t.Errorf("next's 200 over a lost commit reached the sender as %d, want 503", code)
	}
	cut.Store(false)
	if got := a.rows(t, "mw"); len(got) != 0 {
		t.Fatalf("the lost transaction left %v", got)
	}
	for range 2 {
		if code := once(t, srv.URL, body("mw", kyccb.StatusAccepted)); code != http.StatusOK {
			t.Errorf("a retry got %d, want 200", code)
		}
	}
	if got := a.rows(t, "mw"); len(got) != 1 {
		t.Errorf("the retries left %v, want one row", got)
	}
}

// The function cannot end the transaction the store commits.
func TestTxRefusesCommitAndRollback(t *testing.T) {
	pool := sharedPool(t)
	a := newApp(t, pool)
	url := serve(t, migrated(t, pool, testTable()), func(ctx context.Context, c kyccb.Customer) error {
		tx := pgstore.Tx(ctx)
		if _, err := tx.Exec(ctx, `INSERT INTO `+a.table+` VALUES ($1, $2)`, c.ID, string(c.Status)); err != nil {
			return err
		}
		if err := tx.Commit(ctx); !errors.Is(err, pgstore.ErrTxOwned) {
			t.Errorf("Commit = %v, want ErrTxOwned", err)
		}
		if err := tx.Rollback(ctx); !errors.Is(err, pgstore.ErrTxOwned) {
			t.Errorf("Rollback = %v, want ErrTxOwned", err)
		}
		// A savepoint is the function's own.
		sp, err := tx.Begin(ctx)
		if err != nil {
			return err
		}
		if _, err := sp.Exec(ctx, `INSERT INTO `+a.table+` VALUES ($1, 'rolled back')`, c.ID); err != nil {
			return err
		}
		return sp.Rollback(ctx)
	})
	for range 2 {
		if code := once(t, url, body("owned", kyccb.StatusAccepted)); code != http.StatusOK {
			t.Errorf("got %d, want 200", code)
		}
	}
	if got := a.rows(t, "owned"); len(got) != 1 || got[0] != "ACCEPTED" {
		t.Errorf("the app's table holds %v, want [ACCEPTED]", got)
	}
}
