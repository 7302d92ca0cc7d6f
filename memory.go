package kyccb

import (
	"container/heap"
	"context"
	"errors"
	"slices"
	"strconv"
	"sync"
	"time"
)

// DefaultMaxEntries is how many customers a store made by [NewMemoryStore]
// remembers unless [WithMaxEntries] says otherwise: about 40 MB when each
// keeps the signature of one recent delivery, as callbacks minutes apart
// leave them, and at most about 110 MB should every customer have had
// eight deliveries applied within a few minutes.
const DefaultMaxEntries = 100_000

// memorySignatures is how many signatures a memory store remembers per
// key. A key records one for each delivery applied within the few minutes
// a signature lives, which is one or two for a real customer; past this
// many, the one that expires soonest is forgotten first.
const memorySignatures = 8

// errMemoryFull is returned by a memory store whose every entry holds an
// active lease.
var errMemoryFull = errors.New("kyccb: memory store full of active leases")

// A MemoryOption configures a store made by [NewMemoryStore].
type MemoryOption struct {
	apply func(*memoryStore) error
}

// WithMaxEntries sets how many customers a memory store remembers, leased
// and processed together. The default is [DefaultMaxEntries]; it must be
// positive.
func WithMaxEntries(n int) MemoryOption {
	return MemoryOption{func(s *memoryStore) error {
		if n <= 0 {
			return configError("WithMaxEntries: limit must be positive")
		}
		s.max = n
		return nil
	}}
}

// WithMemoryClock sets the clock a memory store expires entries by. The
// default is [time.Now].
func WithMemoryClock(now func() time.Time) MemoryOption {
	return MemoryOption{func(s *memoryStore) error {
		if now == nil {
			return configError("WithMemoryClock: nil clock")
		}
		s.now = now
		return nil
	}}
}

// NewMemoryStore returns a [Store] that keeps its entries in this process,
// for a handler (or several) running in one process. Replicas behind a
// load balancer each have their own memory and may each process a
// callback once: they need a shared store such as the one in package
// github.com/kyccb/kyccb/redisstore. The entries are lost when the process
// exits.
//
// Besides a lease and the body last applied, each entry keeps the
// signatures of the deliveries applied (at most eight per key: past that,
// the one that expires soonest is forgotten, and a replay of its request
// is no longer recognised as one) and the newest UpdatedAt applied.
//
// The store holds at most [DefaultMaxEntries] entries (see
// [WithMaxEntries]). To make room it drops expired entries first, then
// the entry without an active lease that expires soonest: a redelivery of
// a callback forgotten that way runs its function again. It never drops
// an active lease; when every entry is one, Reserve fails, and the handler
// answers 503 (or runs the function, with [WithDedupFailOpen]) until a
// lease ends. Handlers with different TTLs may share the store: entries
// are ordered by when they expire, not by when they came. Entries expire
// exactly on time (see [WithMemoryClock]); their memory is reclaimed a few
// at a time as new ones come in.
//
// The store is safe for concurrent use; each method holds one mutex for a
// few map and heap operations and never blocks on anything else. It panics
// with an error matching [ErrConfig] for an unusable option.
func NewMemoryStore(opts ...MemoryOption) Store {
	s := &memoryStore{
		entries: make(map[string]*memoryEntry),
		max:     DefaultMaxEntries,
		now:     time.Now,
	}
	for _, o := range opts {
		if o.apply == nil {
			panic(&configPanic{"kyccb.NewMemoryStore", configError("zero MemoryOption")})
		}
		if err := o.apply(s); err != nil {
			panic(&configPanic{"kyccb.NewMemoryStore", err})
		}
	}
	return s
}

// memoryStore keeps its entries in a map and in a heap ordered by when
// each expires.
type memoryStore struct {
	mu      sync.Mutex
	entries map[string]*memoryEntry
	byTime  memoryHeap
	max     int
	now     func() time.Time
	seq     uint64 // the last token handed out
}

type memoryEntry struct {
	key      string
	token    string // the active lease's token, "" when none
	leaseEnd time.Time
	fp       string    // the fingerprint last applied, "" when none
	mark     time.Time // the watermark, kept with fp
	doneEnd  time.Time
	sigs     []memorySignature
	index    int // in byTime
}

// memorySignature is the signature of an applied delivery.
type memorySignature struct {
	sig string
	end time.Time
}

// expires is when nothing of e is left.
func (e *memoryEntry) expires() time.Time {
	t := e.doneEnd
	if e.token != "" && e.leaseEnd.After(t) {
		t = e.leaseEnd
	}
	for _, s := range e.sigs {
		if s.end.After(t) {
			t = s.end
		}
	}
	return t
}

// expire forgets the parts of e that ended by now, and reports whether
// anything is left.
func (e *memoryEntry) expire(now time.Time) bool {
	if e.token != "" && !now.Before(e.leaseEnd) {
		e.token = ""
	}
	if e.fp != "" && !now.Before(e.doneEnd) {
		e.fp, e.mark = "", time.Time{}
	}
	e.sigs = slices.DeleteFunc(e.sigs, func(s memorySignature) bool { return !now.Before(s.end) })
	return e.token != "" || e.fp != "" || len(e.sigs) > 0
}

// replayed reports whether sig is one of e's live signatures.
func (e *memoryEntry) replayed(sig string) bool {
	for _, s := range e.sigs {
		if s.sig == sig {
			return true
		}
	}
	return false
}

// record keeps sig until end, forgetting the signature that expires
// soonest when e already keeps memorySignatures.
func (e *memoryEntry) record(sig string, end time.Time) {
	if len(e.sigs) == memorySignatures {
		i := 0
		for j, s := range e.sigs {
			if s.end.Before(e.sigs[i].end) {
				i = j
			}
		}
		e.sigs = slices.Delete(e.sigs, i, i+1)
	}
	e.sigs = append(e.sigs, memorySignature{sig, end})
}

// get returns key's live entry, or nil.
func (s *memoryStore) get(key string, now time.Time) *memoryEntry {
	e, ok := s.entries[key]
	if !ok {
		return nil
	}
	if !e.expire(now) {
		s.remove(e)
		return nil
	}
	heap.Fix(&s.byTime, e.index)
	return e
}

// add makes an entry for key, if there is room.
func (s *memoryStore) add(key string, now time.Time) (*memoryEntry, error) {
	if !s.makeRoom(now) {
		return nil, errMemoryFull
	}
	e := &memoryEntry{key: key}
	s.entries[key] = e
	heap.Push(&s.byTime, e)
	return e, nil
}

func (s *memoryStore) Reserve(_ context.Context, key string, d Delivery, lease time.Duration) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.sweep(now, 2)
	e := s.get(key, now)
	switch {
	// A replay, a redelivery of the body last applied and an older status
	// are answered as such even while another delivery holds the lease: a
	// 503 would have their retries come after that delivery, and re-apply
	// an older status over a newer one.
	case e != nil && d.Signature != "" && e.replayed(d.Signature):
		return "", ErrReplay
	case e != nil && e.fp != "" && e.fp == d.Fingerprint:
		return "", ErrDuplicate
	case e != nil && e.fp != "" && !d.UpdatedAt.IsZero() && d.UpdatedAt.Before(e.mark):
		return "", ErrStale
	case e != nil && e.token != "":
		return "", ErrDuplicateInProgress
	case e == nil:
		var err error
		if e, err = s.add(key, now); err != nil {
			return "", err
		}
	}
	s.seq++
	e.token, e.leaseEnd = strconv.FormatUint(s.seq, 36), now.Add(lease)
	heap.Fix(&s.byTime, e.index)
	return e.token, nil
}

func (s *memoryStore) Confirm(_ context.Context, key, token string, d Delivery, ttl time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	e := s.get(key, now)
	switch {
	case e != nil && e.token != "" && e.token != token:
		return nil // another delivery's lease
	case e == nil:
		var err error
		if e, err = s.add(key, now); err != nil {
			return err
		}
	}
	if e.fp == "" || d.UpdatedAt.After(e.mark) {
		// A zero UpdatedAt keeps the watermark; an expired record had
		// none.
		e.mark = d.UpdatedAt
	}
	e.token, e.fp, e.doneEnd = "", d.Fingerprint, now.Add(ttl)
	if d.Signature != "" && d.SignatureTTL > 0 {
		e.record(d.Signature, now.Add(d.SignatureTTL))
	}
	heap.Fix(&s.byTime, e.index)
	return nil
}

func (s *memoryStore) Release(_ context.Context, key, token string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.get(key, s.now())
	if e == nil || e.token == "" || e.token != token {
		return nil
	}
	e.token = ""
	if e.fp == "" && len(e.sigs) == 0 {
		s.remove(e)
		return nil
	}
	heap.Fix(&s.byTime, e.index)
	return nil
}

// sweep drops up to n expired entries, so that memory is reclaimed as new
// entries come in.
func (s *memoryStore) sweep(now time.Time, n int) {
	for i := 0; i < n && len(s.byTime) > 0 && !now.Before(s.byTime[0].expires()); i++ {
		s.remove(s.byTime[0])
	}
}

// makeRoom reports whether one more entry fits, dropping expired entries
// and then the entry without an active lease that expires soonest.
func (s *memoryStore) makeRoom(now time.Time) bool {
	if len(s.entries) < s.max {
		return true
	}
	s.sweep(now, len(s.entries))
	if len(s.entries) < s.max {
		return true
	}
	// Leases are set aside, never dropped, and put back.
	var leased []*memoryEntry
	defer func() {
		for _, e := range leased {
			heap.Push(&s.byTime, e)
		}
	}()
	for len(s.byTime) > 0 {
		e := heap.Pop(&s.byTime).(*memoryEntry)
		if e.token != "" && now.Before(e.leaseEnd) {
			leased = append(leased, e)
			continue
		}
		delete(s.entries, e.key)
		return true
	}
	return false
}

func (s *memoryStore) remove(e *memoryEntry) {
	delete(s.entries, e.key)
	heap.Remove(&s.byTime, e.index)
}

// memoryHeap orders entries by when they expire, soonest first.
type memoryHeap []*memoryEntry

func (h memoryHeap) Len() int           { return len(h) }
func (h memoryHeap) Less(i, j int) bool { return h[i].expires().Before(h[j].expires()) }
func (h memoryHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *memoryHeap) Push(x any) {
	e := x.(*memoryEntry)
	e.index = len(*h)
	*h = append(*h, e)
}
func (h *memoryHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return e
}
