package kyccb

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"
)

// DefaultMaxEntries is how many callbacks a store made by [NewMemoryStore]
// remembers unless [WithMaxEntries] says otherwise: about 20 MB at most.
const DefaultMaxEntries = 100_000

// errMemoryFull is returned by a memory store whose every entry is an
// active lease.
var errMemoryFull = errors.New("kyccb: memory store full of active leases")

// A MemoryOption configures a store made by [NewMemoryStore].
type MemoryOption func(*memoryStore) error

// WithMaxEntries sets how many callbacks a memory store remembers, leased
// and done together. The default is [DefaultMaxEntries]; it must be
// positive.
func WithMaxEntries(n int) MemoryOption {
	return func(s *memoryStore) error {
		if n <= 0 {
			return fmt.Errorf("%w: WithMaxEntries: limit must be positive", ErrConfig)
		}
		s.max = n
		return nil
	}
}

// WithMemoryClock sets the clock a memory store expires entries by. The
// default is [time.Now].
func WithMemoryClock(now func() time.Time) MemoryOption {
	return func(s *memoryStore) error {
		if now == nil {
			return fmt.Errorf("%w: WithMemoryClock: nil clock", ErrConfig)
		}
		s.now = now
		return nil
	}
}

// NewMemoryStore returns a [Store] that keeps its entries in this process,
// for a handler (or several) running in one process. Replicas behind a
// load balancer each have their own memory and may each process a
// callback once: they need a shared store such as the one in package
// github.com/kyccb/kyccb/redisstore. The entries are lost when the process
// exits.
//
// The store holds at most [DefaultMaxEntries] entries (see
// [WithMaxEntries]). To take a new lease when full, it drops expired
// entries first, then the done entries confirmed longest ago: a delivery of
// a callback forgotten that way runs its function again. It never drops an
// active lease; when every entry is one, Reserve fails, and the handler
// answers 503 (or runs the function, with [WithDedupFailOpen]) until a
// lease ends. Entries expire exactly on time (see [WithMemoryClock]);
// their memory is reclaimed a few at a time as new ones come in.
//
// The store is safe for concurrent use; each method holds one mutex for a
// few map operations and never blocks on anything else. It panics with an
// error matching [ErrConfig] for an unusable option.
func NewMemoryStore(opts ...MemoryOption) Store {
	s := &memoryStore{
		entries: make(map[string]*memoryEntry),
		max:     DefaultMaxEntries,
		now:     time.Now,
	}
	for _, o := range opts {
		if o == nil {
			panic(fmt.Errorf("kyccb.NewMemoryStore: %w: nil option", ErrConfig))
		}
		if err := o(s); err != nil {
			panic(fmt.Errorf("kyccb.NewMemoryStore: %w", err))
		}
	}
	return s
}

// TEMPORARY (h-redis): a minimal memoryStore for the new Store interface,
// so that the package compiles; the lead's memory.go replaces it.
type memoryStore struct {
	mu      sync.Mutex
	entries map[string]*memoryEntry
	max     int
	now     func() time.Time
	seq     uint64 // the last token handed out
}

type memoryEntry struct {
	token       string // the lease's token, "" when none
	leaseEnds   time.Time
	fingerprint string // last applied, "" when none
	doneEnds    time.Time
}

// live reports whether e holds a lease or an applied record at now, and
// clears the parts of it that have expired.
func (e *memoryEntry) live(now time.Time) bool {
	if e.token != "" && !now.Before(e.leaseEnds) {
		e.token = ""
	}
	if e.fingerprint != "" && !now.Before(e.doneEnds) {
		e.fingerprint = ""
	}
	return e.token != "" || e.fingerprint != ""
}

func (s *memoryStore) get(key string, now time.Time) *memoryEntry {
	e, ok := s.entries[key]
	if !ok {
		return nil
	}
	if !e.live(now) {
		delete(s.entries, key)
		return nil
	}
	return e
}

func (s *memoryStore) add(key string, now time.Time) (*memoryEntry, error) {
	if len(s.entries) >= s.max {
		for k, e := range s.entries {
			if !e.live(now) || e.token == "" {
				delete(s.entries, k)
			}
			if len(s.entries) < s.max {
				break
			}
		}
		if len(s.entries) >= s.max {
			return nil, errMemoryFull
		}
	}
	e := &memoryEntry{}
	s.entries[key] = e
	return e, nil
}

func (s *memoryStore) Reserve(_ context.Context, key, fingerprint string, lease time.Duration) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	e := s.get(key, now)
	if e != nil && e.fingerprint != "" && e.fingerprint == fingerprint {
		return "", ErrDuplicate
	}
	if e != nil && e.token != "" {
		return "", ErrDuplicateInProgress
	}
	if e == nil {
		var err error
		if e, err = s.add(key, now); err != nil {
			return "", err
		}
	}
	s.seq++
	e.token, e.leaseEnds = strconv.FormatUint(s.seq, 36), now.Add(lease)
	return e.token, nil
}

func (s *memoryStore) Confirm(_ context.Context, key, token, fingerprint string, ttl time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	e := s.get(key, now)
	if e != nil && e.token != "" && e.token != token {
		return nil
	}
	if e == nil {
		var err error
		if e, err = s.add(key, now); err != nil {
			return err
		}
	}
	e.token = ""
	e.fingerprint, e.doneEnds = fingerprint, now.Add(ttl)
	return nil
}

func (s *memoryStore) Release(_ context.Context, key, token string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.get(key, s.now()); e != nil && e.token != "" && e.token == token {
		e.token = ""
		if !e.live(s.now()) {
			delete(s.entries, key)
		}
	}
	return nil
}
