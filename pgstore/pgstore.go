// Package pgstore is a [kyccb.Store] in PostgreSQL that commits the
// record of each callback in the same transaction as the function's own
// writes, so that a callback's effect is kept exactly once: both commit,
// or neither does and the sender's retry runs the function again.
//
// For most uses, pass New the pool the service already has, create the
// table once, and write through [Tx] in the function:
//
//	store := pgstore.New(pool)
//	if err := store.Migrate(ctx); err != nil { ... }
//	h := kyccb.SEP12(key, host, func(ctx context.Context, c kyccb.Customer) error {
//		_, err := pgstore.Tx(ctx).Exec(ctx, "UPDATE accounts SET kyc = $1 WHERE id = $2", c.Status, c.ID)
//		return err
//	}, kyccb.WithDedup(store))
//
// Code on database/sql (pgx's stdlib driver, lib/pq, sqlx, GORM, ent) uses
// [NewSQL] and [SQLTx] instead, with the same guarantee. The package lives
// in a module of its own so that the kyccb module itself depends on no
// database driver.
//
// # How a callback runs
//
// Reserve begins a transaction and takes a transaction-scoped advisory
// lock named by the table and the customer's key
// (pg_try_advisory_xact_lock), then reads the customer's record. A
// redelivery of the body last applied, a signed request already processed
// or an older transaction status is answered at once (ErrDuplicate,
// ErrReplay, ErrStale: 200) and the transaction rolled back. When another
// delivery holds the lock, Reserve does not wait: it answers
// [kyccb.ErrDuplicateInProgress], which the handler replies 503 with
// Retry-After, as every kyccb store does, so that a slow function never
// holds a second connection of the pool waiting for it.
//
// The function then runs with the transaction in its context ([Tx],
// [SQLTx]). When it returns nil, Confirm writes the record in that
// transaction and commits; the handler answers 200 only after the commit
// succeeded, and 503 when it failed, so that the sender delivers again and
// finds either the committed record (200, the function not run) or
// nothing (the function runs again on a clean slate). When the function
// fails or panics, Release rolls the transaction back, its writes with it.
// The function must not commit or roll back the transaction itself: the
// pgx.Tx of [Tx] refuses to, with [ErrTxOwned]; a *sql.Tx cannot refuse,
// and a function that commits it loses the guarantee. It may use
// savepoints (Begin on the pgx.Tx). A handler refuses
// [kyccb.WithDedupFailOpen] with this store: without the database the
// function has no transaction to write in.
//
// The transaction has the pool's default isolation. The checks are made
// for READ COMMITTED, PostgreSQL's default, where the read that follows
// the lock sees what the lock's previous holder committed. Under
// REPEATABLE READ or SERIALIZABLE the read may miss a commit made just
// before the lock was taken; the upsert of the record then fails with a
// serialization error, the transaction rolls back, and the sender's retry
// finds the record.
//
// # Leases
//
// The lock is held by the transaction, so it ends when the transaction
// ends or its connection dies: a replica that crashes, or loses its
// connection, leaves no lease for retries to wait out. The lease the
// handler asks for ([kyccb.WithDedupLease], a minute by default) is
// enforced by the server: Reserve sets idle_in_transaction_session_timeout
// and statement_timeout to it, for this transaction only. A function that
// leaves the transaction idle, or runs one statement, for longer than the
// lease loses its connection or its statement; its writes are rolled back
// and the handler answers 503, so that a retry runs it again. A function
// that never touches the transaction but runs longer than the lease
// (waiting on another service) fails the same way.
//
// Each delivery in progress holds one connection of the pool from Reserve
// to Confirm or Release: size the pool (pgxpool's MaxConns, database/sql's
// SetMaxOpenConns) for the callbacks you process at once, plus the
// service's other queries. Reserve waits for a free connection until its
// context ends.
//
// # Table
//
// One table holds every record; [DefaultTable] unless [WithTable] says
// otherwise. [Store.Migrate] creates it if it does not exist, taking an
// advisory lock so that replicas starting together do not race. Teams that
// run their own migrations create it with:
//
//	CREATE TABLE IF NOT EXISTS kyccb_dedup (
//		key         text        NOT NULL,
//		signature   text        NOT NULL DEFAULT '',
//		fingerprint text        NOT NULL DEFAULT '',
//		watermark   bigint,
//		expires_at  timestamptz NOT NULL,
//		PRIMARY KEY (key, signature)
//	);
//	CREATE INDEX IF NOT EXISTS kyccb_dedup_expires_at ON kyccb_dedup (expires_at);
//
// A customer's key has one row with an empty signature, which holds the
// fingerprint of the body last applied and the newest updated_at applied
// (the watermark), and one row per signed request processed, kept until
// the request could no longer pass the verifier's freshness check. Every
// row expires at expires_at, by the server's clock.
//
// The watermark is in unix nanoseconds, since timestamptz keeps only
// microseconds and the store compares updated_at to the nanosecond. An
// updated_at outside what int64 nanoseconds hold (before 1678 or after
// 2262) is kept as the nearest end of that range: two such times beyond
// the same end are equal, and neither is stale for the other.
//
// # Expiry
//
// Expired rows are ignored at once and deleted a batch at a time, by the
// store itself and without a goroutine: after every 64th commit, Confirm
// deletes up to 1,000 expired rows (skipping rows another transaction
// holds) in a statement of its own. A callback adds at most two rows, so
// the sweeps outpace any rate of callbacks, and the table holds the
// records still unexpired plus a bounded backlog. A failed sweep is
// ignored; the next one catches up.
//
// # Durability and cost
//
// A callback is acknowledged only after PostgreSQL committed its record
// with the function's writes, so exactly once holds across a crash of a
// replica, of the connection or of PostgreSQL itself, with the server's
// default synchronous_commit = on (and fsync on). With synchronous_commit
// = off a crash of the server can lose the last commits it acknowledged,
// the function's writes with their records: the function then runs again
// on redelivery, and its effect is kept once all the same. Replication is
// the database's affair: a failover to an asynchronous standby loses the
// last commits in the same way.
//
// On top of the function's own statements, a callback costs four round
// trips to the server with [New] (BEGIN; the lock and the read, sent
// together; the record; COMMIT), five with [NewSQL], which cannot send two
// statements together, and one more every 64th callback for the sweep.
// docs/performance.md has the figures measured.
package pgstore

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/kyccb/kyccb"
)

// DefaultTable is the table a store keeps its records in unless
// [WithTable] says otherwise, in the first schema of the search_path.
const DefaultTable = "kyccb_dedup"

const (
	// sweepEvery is how many commits of a store pass between two sweeps
	// of expired rows, and sweepBatch how many rows a sweep deletes at
	// most: 1000/64, about 15 rows a callback, well above the two a
	// callback adds.
	sweepEvery = 64
	sweepBatch = 1000
	// sweepTimeout bounds a sweep, which runs before the handler replies.
	sweepTimeout = 5 * time.Second
	// maxTableName leaves room for the index's suffix in PostgreSQL's
	// 63-byte identifiers.
	maxTableName = 63 - len("_expires_at")
)

// An Option configures a store made by [New] or [NewSQL].
type Option func(*Store) error

// WithTable sets the table the store keeps its records in: name, in
// schema, or in the first schema of the search_path when schema is empty.
// The default is [DefaultTable]. Both are taken as they are spelt (quoted,
// so case counts); name must not be empty and must fit in 52 bytes, so
// that the index's name, name + "_expires_at", fits PostgreSQL's 63. The
// schema must exist: Migrate creates only the table and its index.
func WithTable(schema, name string) Option {
	return func(s *Store) error {
		switch {
		case name == "":
			return fmt.Errorf("%w: pgstore.WithTable: empty table name", kyccb.ErrConfig)
		case len(name) > maxTableName:
			return fmt.Errorf("%w: pgstore.WithTable: a table name longer than %d bytes", kyccb.ErrConfig, maxTableName)
		case len(schema) > 63:
			return fmt.Errorf("%w: pgstore.WithTable: a schema name longer than 63 bytes", kyccb.ErrConfig)
		case !identifier(name) || !identifier(schema):
			return fmt.Errorf("%w: pgstore.WithTable: a name must be valid UTF-8 without NUL", kyccb.ErrConfig)
		}
		s.schema, s.table = schema, name
		return nil
	}
}

// identifier reports whether PostgreSQL can hold name as a quoted
// identifier.
func identifier(name string) bool {
	for _, r := range name {
		if r == 0 {
			return false
		}
	}
	return utf8.ValidString(name)
}

// A Store is a [kyccb.BindingStore] in PostgreSQL. It is safe for
// concurrent use, within a process and across processes.
type Store struct {
	db     backend
	schema string
	table  string

	// The statements, with the table's name quoted in.
	lockSQL, readSQL, recordSQL, sweepSQL, migrateSQL string
	lockSpace                                         string // what lock ids are hashed with

	mu     sync.Mutex
	leases map[string]*lease // by token
	// commits counts commits, for the sweep.
	commits atomic.Uint64
}

// A lease is one delivery's open transaction.
type lease struct {
	key string
	tx  txn
}

// New returns a store that keeps its records in PostgreSQL through pool,
// and gives each function a pgx.Tx ([Tx]). It panics with an error
// matching [kyccb.ErrConfig] for a nil pool or an unusable option.
func New(pool *pgxpool.Pool, opts ...Option) *Store {
	if pool == nil {
		panic(fmt.Errorf("pgstore.New: %w: nil pool", kyccb.ErrConfig))
	}
	return newStore("pgstore.New", pgxBackend{pool}, opts)
}

// NewSQL returns a store that keeps its records in PostgreSQL through db,
// a database/sql handle on a PostgreSQL driver (pgx's stdlib, lib/pq), and
// gives each function a *sql.Tx ([SQLTx]): sqlx, GORM (gorm.Config's
// ConnPool, or Session with the *sql.Tx) and ent (its sql.Driver over a
// Tx) can all write through it. It costs one round trip a callback more
// than [New]. It panics with an error matching [kyccb.ErrConfig] for a
// nil db or an unusable option.
//
// NewSQL is a second constructor rather than an interface New accepts so
// that the function's transaction comes back with its own type (a pgx.Tx,
// or a *sql.Tx that every database/sql library takes) without a type
// assertion in the user's code.
func NewSQL(db *sql.DB, opts ...Option) *Store {
	if db == nil {
		panic(fmt.Errorf("pgstore.NewSQL: %w: nil db", kyccb.ErrConfig))
	}
	return newStore("pgstore.NewSQL", sqlBackend{db}, opts)
}

func newStore(name string, db backend, opts []Option) *Store {
	s := &Store{db: db, table: DefaultTable, leases: make(map[string]*lease)}
	for _, o := range opts {
		if o == nil {
			panic(fmt.Errorf("%s: %w: nil option", name, kyccb.ErrConfig))
		}
		if err := o(s); err != nil {
			panic(fmt.Errorf("%s: %w", name, err))
		}
	}
	t := pgx.Identifier{s.table}
	if s.schema != "" {
		t = pgx.Identifier{s.schema, s.table}
	}
	table := t.Sanitize()
	index := pgx.Identifier{s.table + "_expires_at"}.Sanitize()
	s.lockSpace = s.schema + "\x00" + s.table + "\x00"

	// The lock is taken in a statement before the read, so that the read's
	// snapshot, taken when it starts, sees what the lock's previous holder
	// committed.
	s.lockSQL = `SELECT set_config('idle_in_transaction_session_timeout', $1, true),
	set_config('statement_timeout', $1, true),
	pg_try_advisory_xact_lock($2)`
	s.readSQL = `SELECT signature, fingerprint, watermark FROM ` + table + `
	WHERE key = $1 AND (signature = '' OR signature = $2) AND expires_at > clock_timestamp()`
	// The record: the fingerprint, the watermark raised (an expired row's
	// watermark no longer counts) and, for a signed request, its own row.
	s.recordSQL = `WITH record AS (
	INSERT INTO ` + table + ` AS r (key, signature, fingerprint, watermark, expires_at)
	VALUES ($1, '', $2, $3, clock_timestamp() + $4::bigint * interval '1 microsecond')
	ON CONFLICT (key, signature) DO UPDATE SET
		fingerprint = EXCLUDED.fingerprint,
		watermark = CASE WHEN r.expires_at > clock_timestamp()
			THEN greatest(r.watermark, EXCLUDED.watermark) ELSE EXCLUDED.watermark END,
		expires_at = EXCLUDED.expires_at
)
INSERT INTO ` + table + ` AS r (key, signature, expires_at)
SELECT $1, $5::text, clock_timestamp() + $6::bigint * interval '1 microsecond' WHERE $5::text <> ''
ON CONFLICT (key, signature) DO UPDATE SET expires_at = EXCLUDED.expires_at`
	s.sweepSQL = `DELETE FROM ` + table + ` WHERE ctid = ANY(ARRAY(
	SELECT ctid FROM ` + table + ` WHERE expires_at < clock_timestamp()
	LIMIT ` + strconv.Itoa(sweepBatch) + ` FOR UPDATE SKIP LOCKED))`
	s.migrateSQL = `CREATE TABLE IF NOT EXISTS ` + table + ` (
	key         text        NOT NULL,
	signature   text        NOT NULL DEFAULT '',
	fingerprint text        NOT NULL DEFAULT '',
	watermark   bigint,
	expires_at  timestamptz NOT NULL,
	PRIMARY KEY (key, signature)
);
CREATE INDEX IF NOT EXISTS ` + index + ` ON ` + table + ` (expires_at)`
	return s
}

// Migrate creates the store's table and its index unless they exist (the
// SQL is in the package doc). Replicas may call it at once: it holds an
// advisory lock while it runs. It creates no schema.
func (s *Store) Migrate(ctx context.Context) error {
	tx, err := s.db.begin(ctx)
	if err != nil {
		return fmt.Errorf("pgstore: migrate: %w", err)
	}
	defer tx.rollback(context.WithoutCancel(ctx))
	if err := tx.exec(ctx, `SELECT pg_advisory_xact_lock($1)`, s.lockID("migrate")); err != nil {
		return fmt.Errorf("pgstore: migrate: %w", err)
	}
	if err := tx.exec(ctx, s.migrateSQL); err != nil {
		return fmt.Errorf("pgstore: migrate: %w", err)
	}
	if err := tx.commit(ctx); err != nil {
		return fmt.Errorf("pgstore: migrate: %w", err)
	}
	return nil
}

// lockID is the advisory lock of key: 64 bits of a SHA-256 over the table
// and the key, so that stores on two tables never share a lock.
func (s *Store) lockID(key string) int64 {
	sum := sha256.Sum256([]byte(s.lockSpace + key))
	return int64(binary.BigEndian.Uint64(sum[:8]))
}

// Reserve begins the delivery's transaction and takes key's lock in it,
// or answers why the function must not run (see the package doc).
func (s *Store) Reserve(ctx context.Context, key string, d kyccb.Delivery, leaseFor time.Duration) (string, error) {
	tx, err := s.db.begin(ctx)
	if err != nil {
		return "", fmt.Errorf("pgstore: reserve: %w", err)
	}
	// The lease in whole milliseconds, at least 1: 0 turns the timeouts off.
	ms := strconv.FormatInt(max(leaseFor.Milliseconds(), 1), 10)
	locked, recs, err := tx.lockAndRead(ctx, s.lockSQL, []any{ms, s.lockID(key)}, s.readSQL, []any{key, d.Signature})
	reason := err
	if err == nil {
		reason = check(recs, d, locked)
	}
	if reason != nil {
		// A rollback that fails closes the connection, which ends the
		// transaction and its lock all the same.
		tx.rollback(context.WithoutCancel(ctx))
		if err != nil {
			return "", fmt.Errorf("pgstore: reserve: %w", err)
		}
		return "", reason
	}
	var b [16]byte
	rand.Read(b[:]) // never fails
	token := hex.EncodeToString(b[:])
	s.mu.Lock()
	s.leases[token] = &lease{key: key, tx: tx}
	s.mu.Unlock()
	return token, nil
}

// A record is one unexpired row of a key, as Reserve reads it.
type record struct {
	signature   string
	fingerprint string
	watermark   sql.NullInt64 // unix nanoseconds
}

// check returns why the delivery d must not run, given key's unexpired
// rows and whether Reserve took its lock, in the order [kyccb.Store]
// gives.
func check(recs []record, d kyccb.Delivery, locked bool) error {
	var last *record
	for i := range recs {
		switch r := &recs[i]; {
		case r.signature == "":
			last = r
		case d.Signature != "" && r.signature == d.Signature:
			return kyccb.ErrReplay
		}
	}
	switch {
	case last != nil && last.fingerprint == d.Fingerprint:
		return kyccb.ErrDuplicate
	case last != nil && last.watermark.Valid && !d.UpdatedAt.IsZero() &&
		unixNano(d.UpdatedAt) < last.watermark.Int64:
		return kyccb.ErrStale
	case !locked:
		return kyccb.ErrDuplicateInProgress
	}
	return nil
}

// The instants int64 unix nanoseconds can hold.
var (
	minNano = time.Unix(0, math.MinInt64)
	maxNano = time.Unix(0, math.MaxInt64)
)

// unixNano returns t in unix nanoseconds, the watermark's unit, clamped to
// the range int64 holds, outside which t.UnixNano is undefined.
func unixNano(t time.Time) int64 {
	switch {
	case t.Before(minNano):
		return math.MinInt64
	case t.After(maxNano):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// take removes and returns the lease token holds on key, or nil.
func (s *Store) take(key, token string) *lease {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.leases[token]
	if l == nil || l.key != key {
		return nil
	}
	delete(s.leases, token)
	return l
}

// Confirm records d in the transaction token holds and commits it, with
// the function's writes. It returns an error when the transaction is lost
// (its lease ran out, its connection died, the function left it aborted)
// or the commit fails: the function's writes are then rolled back, and the
// handler answers 503 so that the sender delivers again. A token that
// holds no transaction on key changes nothing.
func (s *Store) Confirm(ctx context.Context, key, token string, d kyccb.Delivery, ttl time.Duration) error {
	l := s.take(key, token)
	if l == nil {
		return nil
	}
	var watermark sql.NullInt64
	if !d.UpdatedAt.IsZero() {
		watermark = sql.NullInt64{Int64: unixNano(d.UpdatedAt), Valid: true}
	}
	if err := l.tx.exec(ctx, s.recordSQL, key, d.Fingerprint, watermark, ttl.Microseconds(),
		d.Signature, d.SignatureTTL.Microseconds()); err != nil {
		l.tx.rollback(context.WithoutCancel(ctx))
		return fmt.Errorf("pgstore: confirm: %w", err)
	}
	if err := l.tx.commit(ctx); err != nil {
		return fmt.Errorf("pgstore: confirm: commit: %w", err)
	}
	if s.commits.Add(1)%sweepEvery == 0 {
		s.sweep(ctx)
	}
	return nil
}

// sweep deletes a batch of expired rows. Its failure is no one's concern:
// expired rows are ignored, and the next sweep takes them.
func (s *Store) sweep(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, sweepTimeout)
	defer cancel()
	s.db.exec(ctx, s.sweepSQL)
}

// Release rolls back the transaction token holds on key, the function's
// writes with it, which ends the lock. It returns nil even when the
// rollback fails: the connection is then closed, and the server ends the
// transaction when its connection closes.
func (s *Store) Release(ctx context.Context, key, token string) error {
	if l := s.take(key, token); l != nil {
		l.tx.rollback(ctx)
	}
	return nil
}

// Bind returns ctx with the transaction token holds on key, for [Tx] or
// [SQLTx] to find.
func (s *Store) Bind(ctx context.Context, key, token string) context.Context {
	s.mu.Lock()
	l := s.leases[token]
	s.mu.Unlock()
	if l == nil || l.key != key {
		return ctx
	}
	return context.WithValue(ctx, txKey{}, l.tx.value())
}

type txKey struct{}

// Tx returns the transaction in which the callback being processed is
// recorded, for a function that runs under [kyccb.WithDedup] with a store
// made by [New]: what the function writes through it commits if and only
// if the function returns nil and the commit succeeds. Its Commit and
// Rollback return [ErrTxOwned] and do nothing: the store ends it. Tx
// returns nil outside such a function, and with a store made by [NewSQL].
func Tx(ctx context.Context) pgx.Tx {
	tx, _ := ctx.Value(txKey{}).(pgx.Tx)
	return tx
}

// SQLTx is [Tx] for a store made by [NewSQL]: it returns the *sql.Tx in
// which the callback being processed is recorded, or nil. The function
// must not commit or roll it back: a commit would keep its writes without
// the record, and the sender's retry would run it again.
func SQLTx(ctx context.Context) *sql.Tx {
	tx, _ := ctx.Value(txKey{}).(*sql.Tx)
	return tx
}

// ErrTxOwned is what Commit and Rollback of the transaction [Tx] returns
// say: the store commits it, with the record of the callback, once the
// function returned nil, and rolls it back otherwise.
var ErrTxOwned = errors.New("pgstore: the callback's transaction is committed or rolled back by the store")

// ownedTx is the pgx.Tx a function gets: all of the transaction but its
// end.
type ownedTx struct{ pgx.Tx }

func (ownedTx) Commit(context.Context) error   { return ErrTxOwned }
func (ownedTx) Rollback(context.Context) error { return ErrTxOwned }

// A backend is a pgx pool or a database/sql handle.
type backend interface {
	// begin starts a transaction whose life the context does not bound.
	begin(ctx context.Context) (txn, error)
	exec(ctx context.Context, sql string, args ...any) error
}

// A txn is a transaction of a backend.
type txn interface {
	// lockAndRead runs lock, which returns a bool last, and then read,
	// which returns records.
	lockAndRead(ctx context.Context, lock string, lockArgs []any, read string, readArgs []any) (bool, []record, error)
	exec(ctx context.Context, sql string, args ...any) error
	commit(ctx context.Context) error
	rollback(ctx context.Context) error
	// value is what Bind puts in the function's context.
	value() any
}

type pgxBackend struct{ pool *pgxpool.Pool }

// begin's context bounds the wait for a connection and BEGIN; pgx ties
// nothing else to it.
func (b pgxBackend) begin(ctx context.Context) (txn, error) {
	tx, err := b.pool.Begin(ctx)
	if err != nil {
		return nil, err
	}
	return pgxTxn{tx}, nil
}

func (b pgxBackend) exec(ctx context.Context, sql string, args ...any) error {
	_, err := b.pool.Exec(ctx, sql, args...)
	return err
}

type pgxTxn struct{ tx pgx.Tx }

// lockAndRead sends both statements in one round trip.
func (t pgxTxn) lockAndRead(ctx context.Context, lock string, lockArgs []any, read string, readArgs []any) (locked bool, recs []record, err error) {
	var b pgx.Batch
	b.Queue(lock, lockArgs...)
	b.Queue(read, readArgs...)
	br := t.tx.SendBatch(ctx, &b)
	defer func() {
		if cerr := br.Close(); err == nil {
			err = cerr
		}
	}()
	var s1, s2 string
	if err := br.QueryRow().Scan(&s1, &s2, &locked); err != nil {
		return false, nil, err
	}
	rows, err := br.Query()
	if err != nil {
		return false, nil, err
	}
	recs, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (record, error) {
		var r record
		return r, row.Scan(&r.signature, &r.fingerprint, &r.watermark)
	})
	return locked, recs, err
}

func (t pgxTxn) exec(ctx context.Context, sql string, args ...any) error {
	_, err := t.tx.Exec(ctx, sql, args...)
	return err
}

func (t pgxTxn) commit(ctx context.Context) error   { return t.tx.Commit(ctx) }
func (t pgxTxn) rollback(ctx context.Context) error { return t.tx.Rollback(ctx) }
func (t pgxTxn) value() any                         { return ownedTx{t.tx} }

type sqlBackend struct{ db *sql.DB }

// begin takes a connection within ctx, and begins on it a transaction that
// ctx does not bound: database/sql rolls back a transaction when the
// context it began with ends, and the request's context may end (a client
// that went away) after the function succeeded.
func (b sqlBackend) begin(ctx context.Context) (txn, error) {
	conn, err := b.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	tx, err := conn.BeginTx(context.WithoutCancel(ctx), nil)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return sqlTxn{conn, tx}, nil
}

func (b sqlBackend) exec(ctx context.Context, sql string, args ...any) error {
	_, err := b.db.ExecContext(ctx, sql, args...)
	return err
}

type sqlTxn struct {
	conn *sql.Conn
	tx   *sql.Tx
}

func (t sqlTxn) lockAndRead(ctx context.Context, lock string, lockArgs []any, read string, readArgs []any) (bool, []record, error) {
	var s1, s2 string
	var locked bool
	if err := t.tx.QueryRowContext(ctx, lock, lockArgs...).Scan(&s1, &s2, &locked); err != nil {
		return false, nil, err
	}
	rows, err := t.tx.QueryContext(ctx, read, readArgs...)
	if err != nil {
		return false, nil, err
	}
	defer rows.Close()
	var recs []record
	for rows.Next() {
		var r record
		if err := rows.Scan(&r.signature, &r.fingerprint, &r.watermark); err != nil {
			return false, nil, err
		}
		recs = append(recs, r)
	}
	return locked, recs, rows.Err()
}

func (t sqlTxn) exec(ctx context.Context, sql string, args ...any) error {
	_, err := t.tx.ExecContext(ctx, sql, args...)
	return err
}

func (t sqlTxn) commit(context.Context) error {
	err := t.tx.Commit()
	return errors.Join(err, t.conn.Close())
}

func (t sqlTxn) rollback(context.Context) error {
	err := t.tx.Rollback()
	if errors.Is(err, sql.ErrTxDone) {
		err = nil
	}
	return errors.Join(err, t.conn.Close())
}

func (t sqlTxn) value() any { return t.tx }
