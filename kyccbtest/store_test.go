package kyccbtest_test

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kyccb/kyccb"
	"github.com/kyccb/kyccb/kyccbtest"
)

// refStore is the Store contract in a few lines, under one mutex, with
// switches that break it the ways a store can go wrong.
type refStore struct {
	mu      sync.Mutex
	seq     int
	leases  map[string]refLease
	records map[string]refRecord
	broken  string // one of the names in brokenStores, or ""
	seen    map[string]bool
	perKey  map[string]int
	sigs    map[string]time.Time // key+" "+signature -> when it expires
}

type refLease struct {
	token string
	ends  time.Time
	sig   string // the signature of the delivery holding it
}

type refRecord struct {
	fingerprint string
	mark        time.Time // the watermark
	ends        time.Time
}

func newRefStore(broken string) *refStore {
	return &refStore{
		leases:  map[string]refLease{},
		records: map[string]refRecord{},
		broken:  broken,
		seen:    map[string]bool{},
		perKey:  map[string]int{},
		sigs:    map[string]time.Time{},
	}
}

// lease returns the token of key's unexpired lease, or "".
func (s *refStore) lease(key string, now time.Time) string {
	l, ok := s.leases[key]
	if !ok || (!now.Before(l.ends) && s.broken != "leases never end") {
		return ""
	}
	return l.token
}

func (s *refStore) Reserve(_ context.Context, key string, d kyccb.Delivery, lease time.Duration) (string, error) {
	fp := d.Fingerprint
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if end, ok := s.sigs[key+" "+d.Signature]; ok && d.Signature != "" && (now.Before(end) || s.broken == "signatures never expire") {
		return "", kyccb.ErrReplay
	}
	r, ok := s.records[key]
	live := ok && (now.Before(r.ends) || s.broken == "records never expire")
	if live && r.fingerprint == fp {
		return "", kyccb.ErrDuplicate
	}
	if live && !d.UpdatedAt.IsZero() && d.UpdatedAt.Before(r.mark) && s.broken != "no watermark" {
		return "", kyccb.ErrStale
	}
	if s.broken == "remembers every body" && s.seen[key+" "+fp] {
		return "", kyccb.ErrDuplicate
	}
	if s.lease(key, now) != "" {
		return "", kyccb.ErrDuplicateInProgress
	}
	if s.broken == "reserve checks, then takes" {
		s.mu.Unlock()
		time.Sleep(time.Millisecond)
		s.mu.Lock()
	}
	s.seq++
	tok := strconv.Itoa(s.seq)
	if s.broken == "tokens count per key" {
		s.perKey[key]++
		tok = strconv.Itoa(s.perKey[key])
	}
	s.leases[key] = refLease{tok, now.Add(lease), d.Signature}
	return tok, nil
}

func (s *refStore) Confirm(_ context.Context, key, token string, d kyccb.Delivery, ttl time.Duration) error {
	fp := d.Fingerprint
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	held := s.lease(key, now)
	switch {
	case held == "" && s.broken == "a late confirm records nothing":
		return nil
	case held != "" && held != token && s.broken != "confirm ignores the token":
		return nil
	}
	r, ok := s.records[key]
	mark := r.mark
	if !ok || !now.Before(r.ends) || d.UpdatedAt.After(mark) || s.broken == "the watermark follows the last confirm" {
		mark = d.UpdatedAt
	}
	s.records[key] = refRecord{fp, mark, now.Add(ttl)}
	s.seen[key+" "+fp] = true
	if d.Signature != "" && d.SignatureTTL > 0 && s.broken != "signatures are not recorded" {
		sigTTL := d.SignatureTTL
		if s.broken == "signatures expire with the record" {
			sigTTL = ttl
		}
		s.sigs[key+" "+d.Signature] = now.Add(sigTTL)
	}
	if s.broken != "confirm keeps the lease" {
		delete(s.leases, key)
	}
	return nil
}

func (s *refStore) Release(_ context.Context, key, token string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if token != "" && s.lease(key, time.Now()) == token {
		if s.broken == "release records the signature" {
			s.sigs[key+" "+s.leases[key].sig] = time.Now().Add(time.Minute)
		}
		delete(s.leases, key)
		if s.broken == "release forgets the applied record" {
			delete(s.records, key)
		}
	}
	return nil
}

func TestStoreOfReference(t *testing.T) {
	kyccbtest.TestStore(t, newRefStore(""))
}

// brokenStores maps each way of breaking refStore to the test of TestStore
// that must catch it.
var brokenStores = map[string]string{
	"remembers every body":                   "ACCEPTED,_NEEDS_INFO,_ACCEPTED_again:_each_is_processed",
	"release forgets the applied record":     "a_released_lease_leaves_the_body_applied_before_it",
	"confirm ignores the token":              "confirm_under_another_token_changes_nothing",
	"confirm keeps the lease":                "confirm_ends_the_lease",
	"a late confirm records nothing":         "expiry/confirm_after_the_lease_ran_out,_untaken,_records",
	"tokens count per key":                   "tokens_are_unique_across_keys_and_leases",
	"reserve checks, then takes":             "of_many_concurrent_reservations_of_one_key,_one_wins",
	"leases never end":                       "expiry/a_lease_ends_by_itself_and_its_old_token_loses_all_say",
	"records never expire":                   "expiry/an_applied_record_is_forgotten_after_its_TTL",
	"signatures are not recorded":            "a_signature_applied_is_a_replay,_whatever_the_body_and_even_during_another's_lease",
	"release records the signature":          "a_released_delivery_leaves_its_signature_unrecorded,_so_the_same_request_is_retried",
	"signatures never expire":                "expiry/a_signature_is_forgotten_after_its_own_TTL,_not_the_record's",
	"signatures expire with the record":      "expiry/a_signature_outlives_the_applied_record_when_its_TTL_is_longer",
	"no watermark":                           "completed,_a_delayed_pending_anchor,_completed_again,_refunded:_the_older_one_is_stale",
	"the watermark follows the last confirm": "the_same_updated_at_with_another_body,_and_no_updated_at,_are_processed",
}

const brokenEnv = "KYCCBTEST_BROKEN_STORE"

// TestBrokenStore runs TestStore on the broken store $KYCCBTEST_BROKEN_STORE
// names; TestStoreCatchesBrokenStores runs it in a child process and
// expects it to fail.
func TestBrokenStore(t *testing.T) {
	broken := os.Getenv(brokenEnv)
	if broken == "" {
		t.Skipf("%s is not set: this test only runs in the child processes of TestStoreCatchesBrokenStores", brokenEnv)
	}
	kyccbtest.TestStore(t, newRefStore(broken))
}

func TestStoreCatchesBrokenStores(t *testing.T) {
	if os.Getenv(brokenEnv) != "" {
		t.Skip("in a child process")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for broken, test := range brokenStores {
		t.Run(broken, func(t *testing.T) {
			t.Parallel()
			cmd := exec.CommandContext(t.Context(), exe, "-test.run=^TestBrokenStore$", "-test.v", "-test.count=1")
			cmd.Env = append(os.Environ(), brokenEnv+"="+broken)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("TestStore passed a store whose %s:\n%s", broken, out)
			}
			if want := "--- FAIL: TestBrokenStore/" + test + " "; !strings.Contains(string(out), want) {
				t.Errorf("TestStore failed a store whose %s, but not in %s:\n%s", broken, test, out)
			}
		})
	}
}
