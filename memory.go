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

// memoryStore keeps its entries in a map, and each entry in one of two
// lists, oldest first: leases in the order they were taken and done entries
// in the order they were confirmed. With one lease duration and one TTL per
// handler, list order is expiry order, so expired entries are found at the
// fronts without a scan.
type memoryStore struct {
	mu      sync.Mutex
	entries map[string]*memoryEntry
	leases  memoryList
	done    memoryList
	max     int
	now     func() time.Time
	seq     uint64 // the last token handed out
}

type memoryEntry struct {
	key        string
	token      string // the lease's token; "" once done
	expires    time.Time
	prev, next *memoryEntry
}

func (e *memoryEntry) expired(now time.Time) bool { return !now.Before(e.expires) }

func (s *memoryStore) Reserve(_ context.Context, key string, lease time.Duration) (string, State, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.sweep(now, 2)
	if e, ok := s.entries[key]; ok {
		if !e.expired(now) {
			if e.token == "" {
				return "", StateDone, nil
			}
			return "", StateInProgress, nil
		}
		s.remove(e)
	}
	if !s.makeRoom(now) {
		return "", 0, errMemoryFull
	}
	s.seq++
	e := &memoryEntry{key: key, token: strconv.FormatUint(s.seq, 36), expires: now.Add(lease)}
	s.entries[key] = e
	s.leases.pushBack(e)
	return e.token, StateReserved, nil
}

func (s *memoryStore) Confirm(_ context.Context, key, token string, ttl time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	e, ok := s.entries[key]
	if ok && e.expired(now) {
		s.remove(e)
		ok = false
	}
	switch {
	case !ok:
		if !s.makeRoom(now) {
			return errMemoryFull
		}
		e = &memoryEntry{key: key}
		s.entries[key] = e
	case e.token == token:
		s.leases.remove(e)
	default:
		return nil // done already, or another delivery's lease
	}
	e.token, e.expires = "", now.Add(ttl)
	s.done.pushBack(e)
	return nil
}

func (s *memoryStore) Release(_ context.Context, key, token string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.entries[key]; ok && e.token != "" && e.token == token {
		s.remove(e)
	}
	return nil
}

// sweep drops up to n expired entries from the front of each list, so that
// memory is reclaimed as new entries come in.
func (s *memoryStore) sweep(now time.Time, n int) {
	for _, l := range []*memoryList{&s.leases, &s.done} {
		for i := 0; i < n && l.head != nil && l.head.expired(now); i++ {
			s.remove(l.head)
		}
	}
}

// makeRoom reports whether one more entry fits, dropping expired entries
// and then the oldest done one if need be.
func (s *memoryStore) makeRoom(now time.Time) bool {
	if len(s.entries) < s.max {
		return true
	}
	s.sweep(now, len(s.entries))
	if len(s.entries) >= s.max && s.done.head != nil {
		s.remove(s.done.head)
	}
	return len(s.entries) < s.max
}

func (s *memoryStore) remove(e *memoryEntry) {
	delete(s.entries, e.key)
	if e.token != "" {
		s.leases.remove(e)
	} else {
		s.done.remove(e)
	}
}

// memoryList is a doubly linked list threaded through the entries, so that
// an entry costs one allocation.
type memoryList struct{ head, tail *memoryEntry }

func (l *memoryList) pushBack(e *memoryEntry) {
	e.prev, e.next = l.tail, nil
	if l.tail != nil {
		l.tail.next = e
	} else {
		l.head = e
	}
	l.tail = e
}

func (l *memoryList) remove(e *memoryEntry) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		l.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		l.tail = e.prev
	}
	e.prev, e.next = nil, nil
}
