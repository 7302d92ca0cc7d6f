// Package redisstore is a [kyccb.Store] in Redis, so that every replica of
// a service behind a load balancer processes each callback once between
// them.
//
// For most uses, pass New the client the service already has:
//
//	client := redis.NewClient(&redis.Options{Addr: "redis:6379"})
//	h := kyccb.SEP12(key, host, onCustomer, kyccb.WithDedup(redisstore.New(client)))
//
// and run Redis with
//
//	appendonly yes
//	appendfsync always
//	maxmemory-policy noeviction
//
// (see Durability below for why, and for what each weaker setting
// costs). The package lives in a module of its own so that the kyccb
// module itself depends on no Redis client.
//
// # Keys
//
// A customer's key K is kept as Redis keys under one hash tag:
// "<prefix>{K}:lease", which holds the token of the delivery processing a
// callback; "<prefix>{K}:done", a hash of the fingerprint of the body last
// applied (field fp) and, for transaction callbacks, the newest updated_at
// applied (the watermark: fields s and ns, unix seconds and nanoseconds);
// and one "<prefix>{K}:sig:<signature>" for each signed request applied,
// so that a replay of it is recognised. Each expires by itself (PX): the
// lease after the lease, the record and its watermark after the TTL the
// handler gives from the last delivery applied, a signature once its
// request could no longer pass the handler's freshness check (a few
// minutes; about 250 bytes of Redis memory each). The braces are a hash
// tag: Redis Cluster puts all of a customer's keys in one slot, as the
// scripts that touch them together need. A key that holds a brace, or is
// empty, is written in hex instead, as "<prefix>}{x<hex>}:lease", so that
// it cannot move or empty the hash tag.
//
// # Atomicity
//
// Reserve, Confirm and Release are each one Lua script, which Redis runs
// without interleaving another command: of two replicas that reserve a key
// at once exactly one gets the lease, and a token whose lease ran out
// cannot release or confirm over the delivery that holds the key now.
//
// # Durability
//
// Exactly once holds across a crash of Redis only if Redis keeps every
// lease and record it acknowledged. That needs the append-only file with
// an fsync before each reply:
//
//	appendonly yes               # the AOF, in the server's dir
//	appendfsync always           # write and fsync before replying
//	no-appendfsync-on-rewrite no # the default; yes skips the fsync during rewrites
//
// With it, this package's test that kills Redis with SIGKILL while
// callbacks are in flight and restarts it three seconds later runs every
// callback exactly once, in each of 13 runs. The fsync costs throughput, which
// KYC callbacks hardly need: on the loaded two-core machine the tests ran
// on, about 8,000 writes a second from 16 clients instead of 34,000 with
// everysec; a callback takes two. Weaker settings trade exactly once for
// speed:
//
//   - appendfsync everysec: Redis fsyncs once a second, and while a
//     background fsync is slow it postpones even writing to the file, for
//     up to two seconds, replying all the same. A crash of the machine
//     loses the last second or two of acknowledged writes, and so can a
//     crash of Redis alone: in one kill test of 13, 11 of 600 callbacks
//     ran twice. Callbacks whose records are lost run again when
//     redelivered; a delivery whose lease is lost may run beside a retry.
//   - no persistence (appendonly no, save ""): a restart forgets
//     everything, and every callback redelivered after it runs again. In
//     the kill test, with each callback delivered twice at once and 16
//     customers in flight, 0.7% to 2.7% of 600 callbacks ran twice.
//   - RDB snapshots only (the save setting): a crash loses every write
//     since the last snapshot, minutes of them by default.
//
// Replication does not replace the AOF. Redis replicates asynchronously
// and this package does not use WAIT, so a failover to a replica can lose
// the last writes the old primary acknowledged: leases and records lost
// that way cost what a restart without persistence costs, for those
// callbacks. Keep maxmemory-policy at noeviction (the default): every key
// this package writes has a TTL, so the volatile-* policies evict them as
// readily as the allkeys-* ones, and an evicted record or lease is a
// callback that may run twice, where noeviction fails the write and the
// handler answers 503 until memory is free.
//
// # Failures
//
// The client's own timeouts and retries apply (see [redis.Options]); when
// they are exhausted the store returns the client's error and the handler
// refuses the callback with 503 (or runs it, with
// [kyccb.WithDedupFailOpen]). Two calls go further, because losing them
// costs more than a delay:
//
//   - Reserve waits for Redis's reply, for up to 5 seconds, even when its
//     context ends first: a lease that Redis took and nobody learnt of
//     would refuse every retry of the callback until it ran out. When it
//     cannot learn the outcome it releases the lease by its token, which
//     it made before sending.
//   - Confirm retries for up to 30 seconds while Redis is unreachable or
//     loading its data, unless its context ends: the function has run, and
//     a record lost now is a callback run again (before Confirm retried,
//     the kill test ran 2 of 600 callbacks twice even with appendfsync
//     always). A restart of Redis longer than that, or a lease shorter
//     than the outage, can still cost a second run.
//
// Release is tried once, with the client's retries: when it fails the lease
// ends by itself, and retries of the callback wait until then.
package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kyccb/kyccb"
	"github.com/redis/go-redis/v9"
)

// DefaultPrefix is put before every key unless [WithPrefix] says
// otherwise.
const DefaultPrefix = "kyccb:dedup:"

const (
	// reserveTimeout bounds Reserve's wait for Redis, and then that of the
	// release after a Reserve whose outcome is unknown.
	reserveTimeout = 5 * time.Second
	// confirmPatience is how long Confirm keeps retrying.
	confirmPatience = 30 * time.Second
)

// An Option configures a store made by [New].
type Option func(*store) error

// WithPrefix sets the text put before every key, so that several services
// can share one Redis without sharing keys. The default is
// [DefaultPrefix]. It must not be empty, and must not hold a brace, which
// would change the keys' hash tags (see Keys).
func WithPrefix(prefix string) Option {
	return func(s *store) error {
		if prefix == "" {
			return fmt.Errorf("%w: redisstore.WithPrefix: empty prefix", kyccb.ErrConfig)
		}
		if strings.ContainsAny(prefix, "{}") {
			return fmt.Errorf("%w: redisstore.WithPrefix: a prefix must not hold { or }", kyccb.ErrConfig)
		}
		s.prefix = prefix
		return nil
	}
}

// New returns a [kyccb.Store] that keeps its entries in Redis through
// client, a *redis.Client, *redis.ClusterClient or *redis.Ring. The store
// is safe for concurrent use, within a process and across processes. It
// panics with an error matching [kyccb.ErrConfig] for a nil client or an
// unusable option.
func New(client redis.UniversalClient, opts ...Option) kyccb.Store {
	if client == nil {
		panic(fmt.Errorf("redisstore.New: %w: nil client", kyccb.ErrConfig))
	}
	s := &store{client: client, prefix: DefaultPrefix}
	for _, o := range opts {
		if o == nil {
			panic(fmt.Errorf("redisstore.New: %w: nil option", kyccb.ErrConfig))
		}
		if err := o(s); err != nil {
			panic(fmt.Errorf("redisstore.New: %w", err))
		}
	}
	return s
}

type store struct {
	client redis.UniversalClient
	prefix string
}

// The scripts' KEYS are the lease's key, the applied record's and, when
// the delivery has a signature, the signature's, from names;
// releaseScript needs only the first. A watermark travels as two
// arguments, unix seconds and nanoseconds, both "" for none: Lua's numbers
// are doubles, exact for each part but not for nanoseconds since 1970.

// reserveScript takes the lease unless the signature was applied, the
// fingerprint is the one last applied, the delivery is older than the
// watermark, or another token holds the lease, answering the first of
// these that holds. A lease that holds this very token is this
// reservation, retried by the client after a lost reply: it is ours.
//
// ARGV: token, fingerprint, lease in ms, updated_at seconds, nanoseconds.
var reserveScript = redis.NewScript(`
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
	return 'reserved'
end
if KEYS[3] and redis.call('EXISTS', KEYS[3]) == 1 then
	return 'replay'
end
local done = redis.call('HMGET', KEYS[2], 'fp', 's', 'ns')
if done[1] == ARGV[2] then
	return 'duplicate'
end
if ARGV[4] ~= '' and done[2] then
	local s, ws = tonumber(ARGV[4]), tonumber(done[2])
	if s < ws or (s == ws and tonumber(ARGV[5]) < tonumber(done[3])) then
		return 'stale'
	end
end
if holder then
	return 'in progress'
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return 'reserved'
`)

// confirmScript records the fingerprint, raises the watermark, records the
// signature and ends the lease, unless another token holds it. The record
// and its watermark live for the TTL from the last Confirm.
//
// ARGV: token, fingerprint, TTL in ms, updated_at seconds, nanoseconds,
// signature TTL in ms.
var confirmScript = redis.NewScript(`
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then
	return 0
end
local mark = redis.call('HMGET', KEYS[2], 's', 'ns')
redis.call('HSET', KEYS[2], 'fp', ARGV[2])
if ARGV[4] ~= '' then
	local s, ws = tonumber(ARGV[4]), tonumber(mark[1])
	if not ws or s > ws or (s == ws and tonumber(ARGV[5]) > tonumber(mark[2])) then
		redis.call('HSET', KEYS[2], 's', ARGV[4], 'ns', ARGV[5])
	end
end
redis.call('PEXPIRE', KEYS[2], ARGV[3])
if KEYS[3] then
	redis.call('SET', KEYS[3], '1', 'PX', ARGV[6])
end
if holder then
	redis.call('DEL', KEYS[1])
end
return 1
`)

// releaseScript ends the lease if the token holds it.
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
	return redis.call('DEL', KEYS[1])
end
return 0
`)

// names returns the Redis keys of key's lease and applied record, and of
// the signature sig unless it is "".
func (s *store) names(key, sig string) []string {
	base := s.prefix + "{" + key + "}"
	if key == "" || strings.ContainsAny(key, "{}") {
		// "}" right after the prefix: no key written plainly starts so.
		base = s.prefix + "}{x" + hex.EncodeToString([]byte(key)) + "}"
	}
	if sig == "" {
		return []string{base + ":lease", base + ":done"}
	}
	// After the hash tag, the signature's text cannot move it.
	return []string{base + ":lease", base + ":done", base + ":sig:" + sig}
}

// mark returns the watermark arguments for t: unix seconds and
// nanoseconds, or "" and "" for the zero time.
func mark(t time.Time) (sec, nsec string) {
	if t.IsZero() {
		return "", ""
	}
	return strconv.FormatInt(t.Unix(), 10), strconv.Itoa(t.Nanosecond())
}

func (s *store) Reserve(ctx context.Context, key string, d kyccb.Delivery, lease time.Duration) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("redisstore: reserve: %w", err)
	}
	// The token is made here, before the script runs, so that a lease
	// whose reply is lost can still be released by it.
	var b [16]byte
	rand.Read(b[:]) // never fails
	token := hex.EncodeToString(b[:])
	keys := s.names(key, d.Signature)
	sec, nsec := mark(d.UpdatedAt)

	// Not cancelled with ctx: a reply abandoned after Redis took the lease
	// would leave it to refuse every retry until it ran out.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), reserveTimeout)
	defer cancel()
	res, err := reserveScript.Run(rctx, s.client, keys, token, d.Fingerprint, millis(lease), sec, nsec).Text()
	if err != nil {
		// The script may have run and its reply been lost.
		if rerr := s.release(ctx, keys, token); rerr != nil {
			return "", fmt.Errorf("redisstore: reserve: %w; releasing the lease it may have taken: %w", err, rerr)
		}
		return "", fmt.Errorf("redisstore: reserve: %w", err)
	}
	switch res {
	case "reserved":
		return token, nil
	case "replay":
		return "", kyccb.ErrReplay
	case "duplicate":
		return "", kyccb.ErrDuplicate
	case "stale":
		return "", kyccb.ErrStale
	case "in progress":
		return "", kyccb.ErrDuplicateInProgress
	}
	return "", errors.New("redisstore: reserve: unexpected reply from Redis")
}

// release runs releaseScript within its own time, whatever ctx says.
func (s *store) release(ctx context.Context, keys []string, token string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), reserveTimeout)
	defer cancel()
	return releaseScript.Run(ctx, s.client, keys[:1], token).Err()
}

func (s *store) Confirm(ctx context.Context, key, token string, d kyccb.Delivery, ttl time.Duration) error {
	sig := d.Signature
	if d.SignatureTTL <= 0 {
		sig = "" // nothing to remember
	}
	keys := s.names(key, sig)
	sec, nsec := mark(d.UpdatedAt)
	deadline := time.Now().Add(confirmPatience)
	wait := 50 * time.Millisecond
	for {
		err := confirmScript.Run(ctx, s.client, keys, token, d.Fingerprint, millis(ttl), sec, nsec, millis(d.SignatureTTL)).Err()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil || !transient(err) || time.Now().Add(wait).After(deadline) {
			return fmt.Errorf("redisstore: confirm: %w", err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("redisstore: confirm: %w", err)
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Second)
	}
}

// transient reports whether err may go away by itself: Redis unreachable,
// restarting, loading its data or failing over. The script is idempotent,
// so running it again is safe.
func transient(err error) bool {
	if errors.Is(err, redis.ErrClosed) {
		return false
	}
	var rerr redis.Error
	if !errors.As(err, &rerr) {
		return true // a network error
	}
	for _, p := range []string{"LOADING", "READONLY", "MASTERDOWN", "CLUSTERDOWN", "TRYAGAIN", "BUSY"} {
		if strings.HasPrefix(rerr.Error(), p) {
			return true
		}
	}
	return false
}

func (s *store) Release(ctx context.Context, key, token string) error {
	if token == "" {
		return nil // no lease's token
	}
	if err := releaseScript.Run(ctx, s.client, s.names(key, "")[:1], token).Err(); err != nil {
		return fmt.Errorf("redisstore: release: %w", err)
	}
	return nil
}

// millis is d in whole milliseconds for PX, at least 1: Redis refuses 0.
func millis(d time.Duration) int64 {
	return max(d.Milliseconds(), 1)
}
