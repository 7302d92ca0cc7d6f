// Package redisstore is a [kyccb.Store] in Redis, so that every replica of
// a service behind a load balancer processes each callback once between
// them.
//
// For most uses, pass New the client the service already has:
//
//	client := redis.NewClient(&redis.Options{Addr: "redis:6379"})
//	h := kyccb.SEP12(key, host, onCustomer, kyccb.WithDedup(redisstore.New(client)))
//
// It lives in a module of its own so that the kyccb module itself depends
// on no Redis client.
//
// # Atomicity
//
// A lease is taken with SET NX PX, so of two replicas that reserve a
// callback at once exactly one gets it, and it ends by itself if that
// replica dies. Confirm and Release are Lua scripts that compare the
// lease's token before they write, so a replica whose lease ran out cannot
// release or overwrite another replica's lease. Each call touches one key,
// so the store works with Redis Cluster as with a single server.
//
// # Failures
//
// The client's own timeouts and retries apply (see [redis.Options]); when
// they are exhausted the store returns the client's error and the handler
// refuses the callback with 503 (or runs it, with
// [kyccb.WithDedupFailOpen]). A Redis that restarts without persistence
// forgets which callbacks were processed: deliveries that arrive after
// that run again.
package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/kyccb/kyccb"
	"github.com/redis/go-redis/v9"
)

// DefaultPrefix is put before every key unless [WithPrefix] says
// otherwise.
const DefaultPrefix = "kyccb:dedup:"

// done is the value of a processed callback's key; a leased key holds the
// lease's token, 32 hex digits, which is never "done".
const done = "done"

// An Option configures a store made by [New].
type Option func(*store) error

// WithPrefix sets the text put before every key, so that several services,
// or several senders that could send identical bodies, can share one Redis
// without sharing keys. The default is [DefaultPrefix]; it must not be
// empty.
func WithPrefix(prefix string) Option {
	return func(s *store) error {
		if prefix == "" {
			return fmt.Errorf("%w: redisstore.WithPrefix: empty prefix", kyccb.ErrConfig)
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

// reserveScript takes the lease with SET NX PX or reports what holds the
// key. A key that holds this very token is a reservation retried by the
// client after a lost reply: it is ours.
var reserveScript = redis.NewScript(`
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
	return 'reserved'
end
local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then
	return 'reserved'
end
if v == 'done' then
	return 'done'
end
return 'in progress'
`)

// confirmScript marks the key done if the token holds it or nothing does.
var confirmScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v == false or v == ARGV[1] then
	redis.call('SET', KEYS[1], 'done', 'PX', ARGV[2])
end
return 1
`)

// releaseScript deletes the key if the token holds it.
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
	return redis.call('DEL', KEYS[1])
end
return 0
`)

func (s *store) Reserve(ctx context.Context, key string, lease time.Duration) (string, kyccb.State, error) {
	var b [16]byte
	rand.Read(b[:]) // never fails
	token := hex.EncodeToString(b[:])
	res, err := reserveScript.Run(ctx, s.client, []string{s.prefix + key}, token, millis(lease)).Text()
	if err != nil {
		return "", 0, fmt.Errorf("redisstore: reserve: %w", err)
	}
	switch res {
	case "reserved":
		return token, kyccb.StateReserved, nil
	case done:
		return "", kyccb.StateDone, nil
	case "in progress":
		return "", kyccb.StateInProgress, nil
	}
	return "", 0, errors.New("redisstore: reserve: unexpected reply from Redis")
}

func (s *store) Confirm(ctx context.Context, key, token string, ttl time.Duration) error {
	if err := confirmScript.Run(ctx, s.client, []string{s.prefix + key}, token, millis(ttl)).Err(); err != nil {
		return fmt.Errorf("redisstore: confirm: %w", err)
	}
	return nil
}

func (s *store) Release(ctx context.Context, key, token string) error {
	if token == "" || token == done {
		return nil // no lease's token: it must not delete a done key
	}
	if err := releaseScript.Run(ctx, s.client, []string{s.prefix + key}, token).Err(); err != nil {
		return fmt.Errorf("redisstore: release: %w", err)
	}
	return nil
}

// millis is d in whole milliseconds for PX, at least 1: Redis refuses 0.
func millis(d time.Duration) int64 {
	return max(d.Milliseconds(), 1)
}
