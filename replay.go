package kyccb

import (
	"crypto/sha256"
	"encoding/hex"
	"sync"
	"time"

	"github.com/kyccb/kyccb/internal/wire"
)

// replaySignatures is how many signatures a SEP-12 verifier without
// [WithDedup] remembers: the callbacks of the last four minutes at over
// 400 a second, in about 13 MB at most (BenchmarkReplayFlood; see
// docs/security.md).
const replaySignatures = 100_000

// signatureID names a signed request for a store's replay protection
// ([Delivery.Signature]): the SHA-256, in hex, of the signature's decoded
// bytes, so that every spelling of one signature (either base64 alphabet,
// padded or not, the pairs in any order, pairs added) is one, in text any
// store keeps. Ed25519 as crypto/ed25519 checks it is not malleable: no
// one without the key can make other bytes that verify for the same
// message. The verifier's own memory keys by the decoded bytes
// themselves, which name the request as well.
func signatureID(sig []byte) string {
	sum := sha256.Sum256(sig)
	var buf [2 * sha256.Size]byte
	hex.Encode(buf[:], sum[:])
	return string(buf[:])
}

// signatureTTL is how long a request signed at sig must be remembered, at
// time now: until twice the tolerance after it was signed. The verifier
// stops accepting it one tolerance after; the second covers clocks of
// replicas that are behind this one's by up to a tolerance.
func signatureTTL(sig wire.Signature, tolerance time.Duration, now time.Time) time.Duration {
	return sig.Time.Add(2 * tolerance).Sub(now)
}

// replayMemory remembers the signatures of the requests a SEP-12 verifier
// without a store processed, in this process, each until it expires; at
// most max of them. When full it forgets the one that expires soonest:
// a replay of that request, within the little time its signature had
// left, is processed again. Only requests whose function succeeded are
// remembered, and only authenticated requests get that far, so only the
// anchor can fill it: with a flood of its genuine callbacks.
//
// A nil *replayMemory remembers nothing.
type replayMemory struct {
	mu   sync.Mutex
	max  int
	ends map[string]int64 // signature -> when it is forgotten, in unix ns
	// byEnd is a min-heap of the same signatures by when each expires.
	// It may hold an entry whose signature was since remembered longer;
	// such an entry is skipped when it comes up.
	byEnd []replayEntry
}

type replayEntry struct {
	end int64 // unix ns: a time.Time would take 24 bytes, not 8
	sig string
}

func newReplayMemory(max int) *replayMemory {
	return &replayMemory{max: max, ends: make(map[string]int64)}
}

// seen reports whether sig is remembered. One that expired but is not yet
// forgotten counts: its request passed the freshness check again only
// because the clock went back, and it was processed all the same.
func (m *replayMemory) seen(sig string) bool {
	if m == nil || sig == "" {
		return false
	}
	m.mu.Lock()
	_, ok := m.ends[sig]
	m.mu.Unlock()
	return ok
}

// remember keeps sig for ttl from now.
func (m *replayMemory) remember(sig string, ttl time.Duration, now time.Time) {
	if m == nil || sig == "" || ttl <= 0 {
		return
	}
	t, end := now.UnixNano(), now.Add(ttl).UnixNano()
	m.mu.Lock()
	defer m.mu.Unlock()
	// Forget what expired, then, when full, what expires soonest.
	for len(m.byEnd) > 0 && (m.byEnd[0].end <= t || len(m.ends) >= m.max) {
		m.forgetFirst()
	}
	if prev, ok := m.ends[sig]; ok && end <= prev {
		return
	}
	m.ends[sig] = end
	m.push(replayEntry{end, sig})
}

// len is how many signatures m remembers, for tests.
func (m *replayMemory) len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.ends)
}

// forgetFirst removes the heap's first entry, and its signature unless
// that was since remembered longer.
func (m *replayMemory) forgetFirst() {
	e := m.byEnd[0]
	if m.ends[e.sig] == e.end {
		delete(m.ends, e.sig)
	}
	last := len(m.byEnd) - 1
	m.byEnd[0] = m.byEnd[last]
	m.byEnd[last] = replayEntry{}
	m.byEnd = m.byEnd[:last]
	// Sift down.
	for i := 0; ; {
		l, small := 2*i+1, i
		if l < last && m.byEnd[l].end < m.byEnd[small].end {
			small = l
		}
		if r := l + 1; r < last && m.byEnd[r].end < m.byEnd[small].end {
			small = r
		}
		if small == i {
			return
		}
		m.byEnd[i], m.byEnd[small] = m.byEnd[small], m.byEnd[i]
		i = small
	}
}

// push adds e to the heap. The heap is typed rather than a
// container/heap, whose Push boxes each entry.
func (m *replayMemory) push(e replayEntry) {
	m.byEnd = append(m.byEnd, e)
	for i := len(m.byEnd) - 1; i > 0; {
		parent := (i - 1) / 2
		if m.byEnd[i].end >= m.byEnd[parent].end {
			return
		}
		m.byEnd[i], m.byEnd[parent] = m.byEnd[parent], m.byEnd[i]
		i = parent
	}
}
