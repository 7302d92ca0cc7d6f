package pgstore_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
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
func skip(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv(requiredEnv) == "1" {
		t.Fatalf(format+" (failing, not skipping: "+requiredEnv+"=1)", args...)
	}
	t.Skipf(format+" (set "+requiredEnv+"=1 to make this a failure)", args...)
}

// pgURL returns $KYCCB_PG_URL, or skips the test when it is not set.
func pgURL(t *testing.T) string {
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
func newPool(t *testing.T, url string, maxConns int32) *pgxpool.Pool {
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
func sharedPool(t *testing.T) *pgxpool.Pool {
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
func migrated(t *testing.T, pool *pgxpool.Pool, table string) *pgstore.Store {
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

var _ = sql.ErrNoRows
