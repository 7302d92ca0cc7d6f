package pgstore_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/kyccb/kyccb"
	"github.com/kyccb/kyccb/kyccbtest"
	"github.com/kyccb/kyccb/pgstore"
)

// urlEnv names the variable that gives the tests a PostgreSQL to use, as a
// connection string; with requiredEnv set to 1, as CI sets it, a missing
// server fails the tests instead of skipping them.
const (
	urlEnv      = "KYCCB_PG_URL"
	requiredEnv = "KYCCB_PG_REQUIRED"
)

// skip skips the test, or fails it when PostgreSQL is required.
func skip(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv(requiredEnv) == "1" {
		t.Fatalf(format+" (failing, not skipping: "+requiredEnv+"=1)", args...)
	}
	t.Skipf(format+" (set "+requiredEnv+"=1 to make this a failure)", args...)
}

// pgURL returns $KYCCB_PG_URL, or skips the test when it is not set.
func pgURL(t testing.TB) string {
	t.Helper()
	url := os.Getenv(urlEnv)
	if url == "" {
		skip(t, "%s is not set: skipping this test, which needs a running PostgreSQL; to run it, start one "+
			"and set %s=postgres://postgres@127.0.0.1:5432/postgres, as .ci/run does", urlEnv, urlEnv)
	}
	return url
}

// newPool returns a pool on url, closed when the test ends, or skips the
// test when the server does not answer.
func newPool(t testing.TB, url string, maxConns int32) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatalf("%s: %v", urlEnv, err)
	}
	cfg.MaxConns = maxConns
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Not closed: Close waits for every connection, and the contract test
	// leaves leases, each a connection in a transaction, for the server to
	// end after their minute. The process's exit closes them.
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := pool.Ping(ctx); err != nil {
		skip(t, "%s is not reachable (%v): skipping this test, which needs a running PostgreSQL", urlEnv, err)
	}
	return pool
}

// sharedPool is newPool on $KYCCB_PG_URL.
func sharedPool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	return newPool(t, pgURL(t), 100)
}

// testTable returns a table name no other test run uses, so that tests
// share a database without dropping each other's tables.
func testTable() string {
	var b [6]byte
	rand.Read(b[:])
	return fmt.Sprintf("kyccbtest_%x", b)
}

// migrated returns a store on a table of its own, created.
func migrated(t testing.TB, pool *pgxpool.Pool, table string) *pgstore.Store {
	t.Helper()
	s := pgstore.New(pool, pgstore.WithTable("", table))
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return s
}

func TestStoreContract(t *testing.T) {
	pool := sharedPool(t)
	kyccbtest.TestStore(t, migrated(t, pool, testTable()))
}

func TestStoreContractSQL(t *testing.T) {
	pool := sharedPool(t)
	db := stdlib.OpenDBFromPool(pool)
	t.Cleanup(func() { db.Close() })
	s := pgstore.NewSQL(db, pgstore.WithTable("", testTable()))
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	kyccbtest.TestStore(t, s)
}

func TestNewPanics(t *testing.T) {
	pool, err := pgxpool.New(t.Context(), "postgres://127.0.0.1:1/none")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	tests := []struct {
		name string
		new  func()
	}{
		{"a nil pool", func() { pgstore.New(nil) }},
		{"a nil db", func() { pgstore.NewSQL(nil) }},
		{"a nil option", func() { pgstore.New(pool, nil) }},
		{"an empty table name", func() { pgstore.New(pool, pgstore.WithTable("app", "")) }},
		{"a table name too long for its index's name", func() { pgstore.New(pool, pgstore.WithTable("", strings.Repeat("t", 53))) }},
		{"a schema name longer than 63 bytes", func() { pgstore.New(pool, pgstore.WithTable(strings.Repeat("s", 64), "t")) }},
		{"a NUL in the table name", func() { pgstore.New(pool, pgstore.WithTable("", "a\x00b")) }},
		{"a schema name that is not UTF-8", func() { pgstore.New(pool, pgstore.WithTable("\xff", "t")) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if err, _ := recover().(error); !errors.Is(err, kyccb.ErrConfig) {
					t.Errorf("panic value %v, want an error matching ErrConfig", err)
				}
			}()
			tt.new()
		})
	}
	// The longest name allowed is accepted.
	pgstore.New(pool, pgstore.WithTable("", strings.Repeat("t", 52)))
}

func TestMigrate(t *testing.T) {
	pool := sharedPool(t)
	t.Run("replicas migrating at once all succeed, and again", func(t *testing.T) {
		table := testTable()
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				if err := pgstore.New(pool, pgstore.WithTable("", table)).Migrate(t.Context()); err != nil {
					t.Errorf("Migrate: %v", err)
				}
			})
		}
		wg.Wait()
		if err := pgstore.New(pool, pgstore.WithTable("", table)).Migrate(t.Context()); err != nil {
			t.Errorf("Migrate of an existing table: %v", err)
		}
	})
	t.Run("a schema and a name that need quoting", func(t *testing.T) {
		schema := `Sch"ema ` + testTable()
		if _, err := pool.Exec(t.Context(), `CREATE SCHEMA `+pgx.Identifier{schema}.Sanitize()); err != nil {
			t.Fatal(err)
		}
		const name = `Rec'ords"; DROP TABLE x; --`
		s := pgstore.New(pool, pgstore.WithTable(schema, name))
		if err := s.Migrate(t.Context()); err != nil {
			t.Fatalf("Migrate: %v", err)
		}
		d := kyccb.Delivery{Fingerprint: "f"}
		tok, err := s.Reserve(t.Context(), "k", d, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Confirm(t.Context(), "k", tok, d, time.Hour); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := pool.QueryRow(t.Context(), `SELECT count(*) FROM `+pgx.Identifier{schema, name}.Sanitize()).Scan(&n); err != nil || n != 1 {
			t.Errorf("the table in the schema holds %d rows (%v), want 1", n, err)
		}
		if _, err := s.Reserve(t.Context(), "k", d, time.Minute); !errors.Is(err, kyccb.ErrDuplicate) {
			t.Errorf("Reserve of the recorded body = %v, want ErrDuplicate", err)
		}
	})
	t.Run("a missing table is an error, not a lease", func(t *testing.T) {
		s := pgstore.New(pool, pgstore.WithTable("", testTable()))
		tok, err := s.Reserve(t.Context(), "k", kyccb.Delivery{Fingerprint: "f"}, time.Minute)
		if err == nil || errors.Is(err, kyccb.ErrDuplicateInProgress) {
			t.Errorf("Reserve before Migrate = %q, %v; want the server's error", tok, err)
		}
	})
}

// The records kyccb.Store asks for besides the fingerprint: signatures for
// their own TTL, and the watermark of transaction callbacks.
func TestReplayAndStale(t *testing.T) {
	s := migrated(t, sharedPool(t), testTable())
	ctx := t.Context()
	apply := func(key string, d kyccb.Delivery) {
		t.Helper()
		tok, err := s.Reserve(ctx, key, d, time.Minute)
		if err != nil {
			t.Fatalf("Reserve: %v", err)
		}
		if err := s.Confirm(ctx, key, tok, d, time.Hour); err != nil {
			t.Fatalf("Confirm: %v", err)
		}
	}
	t.Run("a signature applied is a replay until its TTL ends, whatever the body", func(t *testing.T) {
		apply("replay", kyccb.Delivery{Fingerprint: "a", Signature: "sig1", SignatureTTL: time.Second})
		if _, err := s.Reserve(ctx, "replay", kyccb.Delivery{Fingerprint: "b", Signature: "sig1"}, time.Minute); !errors.Is(err, kyccb.ErrReplay) {
			t.Errorf("Reserve of a recorded signature = %v, want ErrReplay", err)
		}
		// Replay comes before duplicate.
		if _, err := s.Reserve(ctx, "replay", kyccb.Delivery{Fingerprint: "a", Signature: "sig1"}, time.Minute); !errors.Is(err, kyccb.ErrReplay) {
			t.Errorf("Reserve of a recorded signature and body = %v, want ErrReplay", err)
		}
		if _, err := s.Reserve(ctx, "other key", kyccb.Delivery{Fingerprint: "b", Signature: "sig1"}, time.Minute); err != nil {
			t.Errorf("Reserve of another key's signature = %v, want a lease", err)
		}
		time.Sleep(1200 * time.Millisecond)
		tok, err := s.Reserve(ctx, "replay", kyccb.Delivery{Fingerprint: "b", Signature: "sig1"}, time.Minute)
		if err != nil {
			t.Fatalf("Reserve after the signature's TTL = %v, want a lease", err)
		}
		s.Release(ctx, "replay", tok)
	})
	t.Run("an older updated_at is stale; the watermark only rises", func(t *testing.T) {
		t0 := time.Date(2026, 12, 2, 10, 0, 0, 123456789, time.UTC)
		apply("stale", kyccb.Delivery{Fingerprint: "a", UpdatedAt: t0})
		apply("stale", kyccb.Delivery{Fingerprint: "b"}) // no time: the watermark stays
		if _, err := s.Reserve(ctx, "stale", kyccb.Delivery{Fingerprint: "c", UpdatedAt: t0.Add(-time.Microsecond)}, time.Minute); !errors.Is(err, kyccb.ErrStale) {
			t.Errorf("Reserve of an older updated_at = %v, want ErrStale", err)
		}
		// To the nanosecond, finer than a timestamptz keeps.
		if _, err := s.Reserve(ctx, "stale", kyccb.Delivery{Fingerprint: "c", UpdatedAt: t0.Add(-time.Nanosecond)}, time.Minute); !errors.Is(err, kyccb.ErrStale) {
			t.Errorf("Reserve of an updated_at a nanosecond older = %v, want ErrStale", err)
		}
		tok, err := s.Reserve(ctx, "stale", kyccb.Delivery{Fingerprint: "c", UpdatedAt: t0}, time.Minute)
		if err != nil {
			t.Fatalf("Reserve of the watermark's own updated_at = %v, want a lease", err)
		}
		if err := s.Confirm(ctx, "stale", tok, kyccb.Delivery{Fingerprint: "c", UpdatedAt: t0.Add(-time.Hour)}, time.Hour); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Reserve(ctx, "stale", kyccb.Delivery{Fingerprint: "d", UpdatedAt: t0.Add(-time.Second)}, time.Minute); !errors.Is(err, kyccb.ErrStale) {
			t.Errorf("after a confirm of an older time, Reserve = %v, want ErrStale: the watermark went down", err)
		}
		// A duplicate is answered as one before stale.
		if _, err := s.Reserve(ctx, "stale", kyccb.Delivery{Fingerprint: "c", UpdatedAt: t0.Add(-time.Hour)}, time.Minute); !errors.Is(err, kyccb.ErrDuplicate) {
			t.Errorf("Reserve of the body last applied = %v, want ErrDuplicate", err)
		}
	})
	t.Run("an updated_at outside int64 nanoseconds counts as the nearest end of that range", func(t *testing.T) {
		now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
		apply("year 9999", kyccb.Delivery{Fingerprint: "a", UpdatedAt: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)})
		if _, err := s.Reserve(ctx, "year 9999", kyccb.Delivery{Fingerprint: "b", UpdatedAt: now}, time.Minute); !errors.Is(err, kyccb.ErrStale) {
			t.Errorf("after 9999, Reserve of %v = %v, want ErrStale", now, err)
		}
		// Beyond the same end, two times are one.
		tok, err := s.Reserve(ctx, "year 9999", kyccb.Delivery{Fingerprint: "b", UpdatedAt: time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)}, time.Minute)
		if err != nil {
			t.Errorf("after 9999, Reserve of 3000 = %v, want a lease: both are past 2262", err)
		} else {
			s.Release(ctx, "year 9999", tok)
		}
		apply("year 1000", kyccb.Delivery{Fingerprint: "a", UpdatedAt: now})
		if _, err := s.Reserve(ctx, "year 1000", kyccb.Delivery{Fingerprint: "b", UpdatedAt: time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC)}, time.Minute); !errors.Is(err, kyccb.ErrStale) {
			t.Errorf("after %v, Reserve of 1000 = %v, want ErrStale", now, err)
		}
	})
}

// Expired rows are deleted by the 64th commit's sweep; live ones stay.
func TestSweepDeletesExpiredRows(t *testing.T) {
	pool := sharedPool(t)
	table := testTable()
	s := migrated(t, pool, table)
	count := func() int {
		t.Helper()
		var n int
		if err := pool.QueryRow(t.Context(), `SELECT count(*) FROM `+pgx.Identifier{table}.Sanitize()).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	confirm := func(key string, ttl time.Duration) {
		t.Helper()
		d := kyccb.Delivery{Fingerprint: "f", Signature: "s" + key, SignatureTTL: ttl}
		tok, err := s.Reserve(t.Context(), key, d, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Confirm(t.Context(), key, tok, d, ttl); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 63 {
		confirm(fmt.Sprint("short", i), time.Millisecond)
	}
	time.Sleep(10 * time.Millisecond)
	if n := count(); n != 126 {
		t.Fatalf("63 confirms of signed deliveries left %d rows, want 126 before any sweep", n)
	}
	confirm("long", time.Hour) // the 64th commit
	if n := count(); n != 2 {
		t.Errorf("after the 64th commit the table holds %d rows, want the 2 unexpired", n)
	}
}

func TestTxOutsideAFunction(t *testing.T) {
	if tx := pgstore.Tx(t.Context()); tx != nil {
		t.Errorf("Tx outside a function = %v, want nil", tx)
	}
	if tx := pgstore.SQLTx(t.Context()); tx != nil {
		t.Errorf("SQLTx outside a function = %v, want nil", tx)
	}
}
