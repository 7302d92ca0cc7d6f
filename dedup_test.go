package kyccb_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kyccb/kyccb"
	"github.com/kyccb/kyccb/kyccbtest"
)

// dedupForm is one way to mount a handler: a handler or middleware form of
// one mode, and how a sender delivers a callback to it.
type dedupForm struct {
	name       string
	middleware bool
	mode       string // as Verdict.Mode names it
	success    int    // the status when the function succeeds
	// statuses are two statuses of the form's callback type, the earlier
	// first.
	statuses [2]string
	// build returns the handler, which calls process with "<subject>
	// <status>" for each callback it lets through and fails the test for
	// any other callback type.
	build func(t *testing.T, process func(ctx context.Context, got string) error, opts ...kyccb.Option) http.Handler
	// request returns delivery number attempt of the callback with status
	// about subject (the customer; for transactions, the transaction),
	// signed anew for every attempt as the Anchor Platform does.
	request func(t *testing.T, subject, status string, attempt int) *http.Request
}

// processNext is the next handler of the middleware forms. success is the
// status it writes when process succeeds; 0 writes nothing.
func processNext(t *testing.T, process func(context.Context, string) error, success int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Error(err)
		}
		if !bytes.Equal(body, kyccb.RawBody(r.Context())) {
			t.Error("the next handler got a body other than its callback's")
		}
		var cb struct {
			ID         string `json:"id"`
			CustomerID string `json:"customerId"`
			Status     string `json:"status"`
		}
		if err := json.Unmarshal(body, &cb); err != nil {
			t.Error(err)
		}
		subject := cb.ID
		if subject == "" {
			subject = cb.CustomerID
		}
		if err := process(r.Context(), subject+" "+cb.Status); err != nil {
			http.Error(w, "failed", http.StatusInternalServerError)
			return
		}
		if success != 0 {
			w.WriteHeader(success)
		}
	})
}

// sep12Delivery signs each attempt a second earlier than the last, so
// that every attempt's signature differs.
func sep12Delivery(t *testing.T, subject, status string, attempt int) *http.Request {
	body := kyccbtest.CustomerBody(t, kyccb.Customer{ID: subject, Status: kyccb.Status(status)})
	at := time.Now().Add(-time.Duration(attempt) * time.Second)
	return dedupSigned(t, "https://"+testHost+"/kyc", body, at)
}

// dedupSigned returns a POST of body to url signed at time at by the
// test anchor, as the Anchor Platform sends a callback registered at url.
func dedupSigned(t *testing.T, url string, body []byte, at time.Time) *http.Request {
	t.Helper()
	sig, err := kyccb.SignSEP12(testSeed, url, body, at)
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	r.Header.Set(kyccb.SignatureHeader, sig)
	return r
}

// dedupXGatewayRequest returns a POST of the XGateway callback m, with
// the hash of its type's hashed fields added.
func dedupXGatewayRequest(t *testing.T, url string, m map[string]any) *http.Request {
	t.Helper()
	hashed := map[string][]string{
		kyccb.XGatewayTypeKYC:         {"customerId"},
		kyccb.XGatewayTypeTransaction: {"id", "customerId", "amount", "currency"},
		kyccb.XGatewayTypeBankAccount: {"customerId", "currency"},
	}[m["callbackType"].(string)]
	var values []string
	for _, f := range hashed {
		values = append(values, m[f].(string))
	}
	m["hash"] = kyccb.XGatewayHash(testSecret, values...)
	body, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return httptest.NewRequest(http.MethodPost, url, bytes.NewReader(body))
}

// xgatewayDelivery returns deliveries of the callback that fields makes.
// XGateway sends a retry as it sent the first attempt.
func xgatewayDelivery(fields func(subject, status string) map[string]any) func(*testing.T, string, string, int) *http.Request {
	return func(t *testing.T, subject, status string, _ int) *http.Request {
		return dedupXGatewayRequest(t, "https://merchant.example.org/xgw", fields(subject, status))
	}
}

func xgatewayKYCFields(subject, status string) map[string]any {
	return map[string]any{"callbackType": "kyc", "customerId": subject, "status": status}
}

func failOther[T any](t *testing.T) func(context.Context, T) error {
	return func(context.Context, T) error {
		t.Errorf("the function for %T ran", *new(T))
		return nil
	}
}

func dedupSEP12Verifier(t *testing.T, opts ...kyccb.Option) *kyccb.SEP12Verifier {
	t.Helper()
	keys, err := kyccb.ParseKeys(testAddress)
	if err != nil {
		t.Fatal(err)
	}
	v, err := kyccb.NewSEP12Verifier(keys, testHost, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func dedupXGatewayVerifier(t *testing.T, opts ...kyccb.Option) *kyccb.XGatewayVerifier {
	t.Helper()
	v, err := kyccb.NewXGatewayVerifier(testSecret, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

var dedupForms = []dedupForm{
	{
		name:     "SEP12 handler",
		mode:     "sep12",
		success:  http.StatusOK,
		statuses: [2]string{"ACCEPTED", "NEEDS_INFO"},
		build: func(t *testing.T, process func(context.Context, string) error, opts ...kyccb.Option) http.Handler {
			return kyccb.SEP12(testAddress, testHost, func(ctx context.Context, c kyccb.Customer) error {
				return process(ctx, c.ID+" "+string(c.Status))
			}, opts...)
		},
		request: sep12Delivery,
	},
	{
		name:       "SEP12 middleware, next replying 204",
		middleware: true,
		mode:       "sep12",
		success:    http.StatusNoContent,
		statuses:   [2]string{"ACCEPTED", "NEEDS_INFO"},
		build: func(t *testing.T, process func(context.Context, string) error, opts ...kyccb.Option) http.Handler {
			return dedupSEP12Verifier(t, opts...).Middleware(processNext(t, process, http.StatusNoContent))
		},
		request: sep12Delivery,
	},
	{
		name:     "XGateway handler, kyc callbacks",
		mode:     "xgateway",
		success:  http.StatusOK,
		statuses: [2]string{"KYC_PENDING", "FULL_USER"},
		build: func(t *testing.T, process func(context.Context, string) error, opts ...kyccb.Option) http.Handler {
			return kyccb.XGateway(testSecret, func(ctx context.Context, k kyccb.XGatewayKYC) error {
				return process(ctx, k.CustomerID+" "+string(k.Status))
			}, opts...)
		},
		request: xgatewayDelivery(xgatewayKYCFields),
	},
	{
		name:     "XGateway handler, transaction callbacks",
		mode:     "xgateway",
		success:  http.StatusOK,
		statuses: [2]string{"PENDING", "COMPLETED"},
		build: func(t *testing.T, process func(context.Context, string) error, opts ...kyccb.Option) http.Handler {
			opts = append(opts, kyccb.WithXGatewayTransaction(func(ctx context.Context, tx kyccb.XGatewayTransaction) error {
				return process(ctx, tx.ID+" "+tx.Status)
			}))
			return kyccb.XGateway(testSecret, failOther[kyccb.XGatewayKYC](t), opts...)
		},
		request: xgatewayDelivery(func(subject, status string) map[string]any {
			return map[string]any{"callbackType": "transaction", "id": subject, "customerId": "c-1", "amount": "10.00", "currency": "EUR", "status": status}
		}),
	},
	{
		name:     "XGateway handler, bank account callbacks",
		mode:     "xgateway",
		success:  http.StatusOK,
		statuses: [2]string{"PENDING", "ACTIVE"},
		build: func(t *testing.T, process func(context.Context, string) error, opts ...kyccb.Option) http.Handler {
			opts = append(opts, kyccb.WithXGatewayBankAccount(func(ctx context.Context, a kyccb.XGatewayBankAccount) error {
				return process(ctx, a.CustomerID+" "+a.Status)
			}))
			return kyccb.XGateway(testSecret, failOther[kyccb.XGatewayKYC](t), opts...)
		},
		request: xgatewayDelivery(func(subject, status string) map[string]any {
			return map[string]any{"callbackType": "bank_account", "customerId": subject, "currency": "EUR", "iban": "DE89370400440532013000", "status": status}
		}),
	},
	{
		name:       "XGateway middleware, next writing nothing",
		middleware: true,
		mode:       "xgateway",
		success:    http.StatusOK,
		statuses:   [2]string{"KYC_PENDING", "FULL_USER"},
		build: func(t *testing.T, process func(context.Context, string) error, opts ...kyccb.Option) http.Handler {
			return dedupXGatewayVerifier(t, opts...).Middleware(processNext(t, process, 0))
		},
		request: xgatewayDelivery(xgatewayKYCFields),
	},
}

// testStore is a store as users' infrastructure has it: a real store that
// can be made to fail as a network store does, and that counts its calls.
type testStore struct {
	kyccb.Store
	calls                                 atomic.Int64
	failReserve, failConfirm, failRelease atomic.Bool
}

var errStoreDown = errors.New("dial tcp 127.0.0.1:6379: connect: connection refused")

func (s *testStore) Reserve(ctx context.Context, key string, fingerprint kyccb.Delivery, lease time.Duration) (string, error) {
	s.calls.Add(1)
	if s.failReserve.Load() {
		return "", errStoreDown
	}
	return s.Store.Reserve(ctx, key, fingerprint, lease)
}

func (s *testStore) Confirm(ctx context.Context, key, token string, fingerprint kyccb.Delivery, ttl time.Duration) error {
	s.calls.Add(1)
	if s.failConfirm.Load() {
		return errStoreDown
	}
	return s.Store.Confirm(ctx, key, token, fingerprint, ttl)
}

func (s *testStore) Release(ctx context.Context, key, token string) error {
	s.calls.Add(1)
	if s.failRelease.Load() {
		return errStoreDown
	}
	return s.Store.Release(ctx, key, token)
}

// dedupRig is a handler with dedup on a memory store with a fake clock,
// what its function received and the reasons and verdicts it reported.
type dedupRig struct {
	t       *testing.T
	form    dedupForm
	handler http.Handler
	store   *testStore
	clock   *fakeClock // the store's

	mu       sync.Mutex
	got      []string       // what the function received, in order
	running  map[string]int // runs under way per subject
	twice    []string       // subjects that had two runs at once
	fail     error          // what the function returns
	block    chan struct{}  // when set, the function waits for it to close
	started  chan string    // receives what the function got when it starts
	reasons  []error
	verdicts []kyccb.Verdict
}

func newDedupRig(t *testing.T, form dedupForm, opts ...kyccb.Option) *dedupRig {
	rig := &dedupRig{t: t, form: form, clock: newFakeClock(), running: map[string]int{}, started: make(chan string, 100)}
	rig.store = &testStore{Store: kyccb.NewMemoryStore(kyccb.WithMemoryClock(rig.clock.Now))}
	opts = append([]kyccb.Option{
		kyccb.WithDedup(rig.store),
		kyccb.WithErrorHook(func(_ *http.Request, err error) {
			rig.mu.Lock()
			defer rig.mu.Unlock()
			rig.reasons = append(rig.reasons, err)
		}),
		kyccb.WithObserver(func(_ *http.Request, v kyccb.Verdict) {
			rig.mu.Lock()
			defer rig.mu.Unlock()
			rig.verdicts = append(rig.verdicts, v)
		}),
	}, opts...)
	rig.handler = form.build(t, rig.process, opts...)
	return rig
}

func (rig *dedupRig) process(_ context.Context, got string) error {
	subject, _, _ := strings.Cut(got, " ")
	rig.mu.Lock()
	rig.got = append(rig.got, got)
	rig.running[subject]++
	if rig.running[subject] > 1 {
		rig.twice = append(rig.twice, subject)
	}
	block, fail := rig.block, rig.fail
	rig.mu.Unlock()
	defer func() {
		rig.mu.Lock()
		rig.running[subject]--
		rig.mu.Unlock()
	}()
	rig.started <- got
	if block != nil {
		<-block
	}
	if fail == errPanic {
		panic(errPanic)
	}
	return fail
}

// deliver sends attempt number attempt of the callback with status about
// subject and returns the reply.
func (rig *dedupRig) deliver(subject, status string, attempt int) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	rig.handler.ServeHTTP(rec, rig.form.request(rig.t, subject, status, attempt))
	return rec
}

// deliverBlocked starts a delivery whose function blocks until the
// returned function is called, and returns once the function runs; later
// runs do not block. The returned function waits for the reply.
func (rig *dedupRig) deliverBlocked(subject, status string, attempt int) (finish func() *httptest.ResponseRecorder) {
	rig.t.Helper()
	for len(rig.started) > 0 { // runs that have ended
		<-rig.started
	}
	block := make(chan struct{})
	rig.set(nil, block)
	reply := make(chan *httptest.ResponseRecorder)
	go func() { reply <- rig.deliver(subject, status, attempt) }()
	select {
	case <-rig.started:
	case rec := <-reply:
		rig.t.Fatalf("the delivery was answered %d without running the function", rec.Code)
	}
	rig.set(nil, nil)
	return func() *httptest.ResponseRecorder {
		close(block)
		return <-reply
	}
}

func (rig *dedupRig) set(fail error, block chan struct{}) {
	rig.mu.Lock()
	defer rig.mu.Unlock()
	rig.fail, rig.block = fail, block
}

// takeReasons returns the reasons reported since it was last called.
func (rig *dedupRig) takeReasons() []error {
	rig.mu.Lock()
	defer rig.mu.Unlock()
	r := rig.reasons
	rig.reasons = nil
	return r
}

// check asserts what the function received so far, in order, that it never
// ran twice at once for one subject, and that the reasons reported since
// the last check match want, one sentinel each, in order.
func (rig *dedupRig) check(got []string, want ...error) {
	rig.t.Helper()
	reasons := rig.takeReasons()
	rig.mu.Lock()
	defer rig.mu.Unlock()
	if !slices.Equal(rig.got, got) {
		rig.t.Errorf("the function received %q, want %q", rig.got, got)
	}
	if len(rig.twice) > 0 {
		rig.t.Errorf("the function ran twice at once for %q", rig.twice)
	}
	if len(reasons) != len(want) {
		rig.t.Errorf("reported %v, want %d reasons matching %v", reasons, len(want), want)
		return
	}
	for i := range want {
		if !errors.Is(reasons[i], want[i]) {
			rig.t.Errorf("reason %d is %v, want one matching %v", i, reasons[i], want[i])
		}
	}
}

func wantReply(t *testing.T, rec *httptest.ResponseRecorder, code int) {
	t.Helper()
	if rec.Code != code {
		t.Errorf("replied %d, want %d", rec.Code, code)
	}
	if code == http.StatusServiceUnavailable && rec.Header().Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
}

func TestDedup(t *testing.T) {
	for _, form := range dedupForms {
		t.Run(form.name, func(t *testing.T) {
			ok := form.success
			s0, s1 := form.statuses[0], form.statuses[1]
			c1s0, c1s1 := "c-1 "+s0, "c-1 "+s1
			// handlerReports is what a failing function reports: the
			// handler forms report its error; in the middleware forms,
			// next's failure is next's to report.
			handlerReports := func(err error) []error {
				if form.middleware {
					return nil
				}
				return []error{err}
			}

			t.Run("a redelivery after success is answered 200 without running again", func(t *testing.T) {
				rig := newDedupRig(t, form)
				wantReply(t, rig.deliver("c-1", s0, 0), ok)
				wantReply(t, rig.deliver("c-1", s0, 1), http.StatusOK)
				wantReply(t, rig.deliver("c-1", s0, 2), http.StatusOK)
				rig.check([]string{c1s0})
			})
			t.Run("a return to an earlier status is processed", func(t *testing.T) {
				rig := newDedupRig(t, form)
				wantReply(t, rig.deliver("c-1", s0, 0), ok)
				wantReply(t, rig.deliver("c-1", s1, 0), ok)
				wantReply(t, rig.deliver("c-1", s0, 1), ok)
				wantReply(t, rig.deliver("c-1", s0, 2), http.StatusOK)
				rig.check([]string{c1s0, c1s1, c1s0})
			})
			t.Run("subjects with the same status each run once", func(t *testing.T) {
				rig := newDedupRig(t, form)
				wantReply(t, rig.deliver("c-1", s0, 0), ok)
				wantReply(t, rig.deliver("c-2", s0, 0), ok)
				wantReply(t, rig.deliver("c-1", s0, 1), http.StatusOK)
				wantReply(t, rig.deliver("c-2", s0, 1), http.StatusOK)
				rig.check([]string{c1s0, "c-2 " + s0})
			})
			t.Run("a redelivery during the first run is answered 503 without running", func(t *testing.T) {
				rig := newDedupRig(t, form)
				finish := rig.deliverBlocked("c-1", s0, 0)
				wantReply(t, rig.deliver("c-1", s0, 1), http.StatusServiceUnavailable)
				wantReply(t, finish(), ok)
				wantReply(t, rig.deliver("c-1", s0, 2), http.StatusOK)
				rig.check([]string{c1s0}, kyccb.ErrDuplicateInProgress)
			})
			t.Run("another status during a run is answered 503 and its retry runs after", func(t *testing.T) {
				rig := newDedupRig(t, form)
				finish := rig.deliverBlocked("c-1", s0, 0)
				wantReply(t, rig.deliver("c-1", s1, 0), http.StatusServiceUnavailable)
				wantReply(t, finish(), ok)
				wantReply(t, rig.deliver("c-1", s1, 1), ok)
				rig.check([]string{c1s0, c1s1}, kyccb.ErrDuplicateInProgress)
			})
			t.Run("another subject during a run runs at once", func(t *testing.T) {
				rig := newDedupRig(t, form)
				finish := rig.deliverBlocked("c-1", s0, 0)
				wantReply(t, rig.deliver("c-2", s0, 0), ok)
				wantReply(t, finish(), ok)
				rig.check([]string{c1s0, "c-2 " + s0})
			})
			t.Run("a failed run is released so that the retry runs", func(t *testing.T) {
				rig := newDedupRig(t, form)
				rig.set(errors.New("database down"), nil)
				wantReply(t, rig.deliver("c-1", s0, 0), http.StatusInternalServerError)
				rig.set(nil, nil)
				wantReply(t, rig.deliver("c-1", s0, 1), ok)
				wantReply(t, rig.deliver("c-1", s0, 2), http.StatusOK)
				rig.check([]string{c1s0, c1s0}, handlerReports(kyccb.ErrCallback)...)
			})
			t.Run("a failed run leaves the earlier status applied", func(t *testing.T) {
				rig := newDedupRig(t, form)
				wantReply(t, rig.deliver("c-1", s0, 0), ok)
				rig.set(errors.New("database down"), nil)
				wantReply(t, rig.deliver("c-1", s1, 0), http.StatusInternalServerError)
				rig.set(nil, nil)
				wantReply(t, rig.deliver("c-1", s0, 1), http.StatusOK)
				wantReply(t, rig.deliver("c-1", s1, 1), ok)
				rig.check([]string{c1s0, c1s1, c1s1}, handlerReports(kyccb.ErrCallback)...)
			})
			t.Run("a panicking run is released so that the retry runs", func(t *testing.T) {
				rig := newDedupRig(t, form)
				rig.set(errPanic, nil)
				func() {
					defer func() {
						if p := recover(); p != errPanic {
							t.Errorf("the handler panicked with %v, want the function's panic", p)
						}
					}()
					rig.deliver("c-1", s0, 0)
				}()
				rig.set(nil, nil)
				wantReply(t, rig.deliver("c-1", s0, 1), ok)
				wantReply(t, rig.deliver("c-1", s0, 2), http.StatusOK)
				rig.check([]string{c1s0, c1s0})
			})
			t.Run("an unreachable store refuses the callback with 503", func(t *testing.T) {
				rig := newDedupRig(t, form)
				rig.store.failReserve.Store(true)
				wantReply(t, rig.deliver("c-1", s0, 0), http.StatusServiceUnavailable)
				reasons := rig.takeReasons()
				if len(reasons) != 1 || !errors.Is(reasons[0], kyccb.ErrStoreUnavailable) || !errors.Is(reasons[0], errStoreDown) {
					t.Errorf("reported %v, want ErrStoreUnavailable wrapping the store's error", reasons)
				}
				rig.check(nil)
				rig.store.failReserve.Store(false)
				wantReply(t, rig.deliver("c-1", s0, 1), ok)
				rig.check([]string{c1s0})
			})
			t.Run("an unreachable store with fail-open runs the function and reports", func(t *testing.T) {
				rig := newDedupRig(t, form, kyccb.WithDedupFailOpen())
				rig.store.failReserve.Store(true)
				wantReply(t, rig.deliver("c-1", s0, 0), ok)
				wantReply(t, rig.deliver("c-1", s0, 1), ok)
				rig.check([]string{c1s0, c1s0}, kyccb.ErrStoreUnavailable, kyccb.ErrStoreUnavailable)
			})
			t.Run("a store that fails to record success still answers success and reports", func(t *testing.T) {
				rig := newDedupRig(t, form)
				rig.store.failConfirm.Store(true)
				wantReply(t, rig.deliver("c-1", s0, 0), ok)
				rig.check([]string{c1s0}, kyccb.ErrStoreUnavailable)
			})
			t.Run("a store that fails to release a failed run holds retries until the lease ends", func(t *testing.T) {
				rig := newDedupRig(t, form)
				rig.store.failRelease.Store(true)
				rig.set(errors.New("database down"), nil)
				wantReply(t, rig.deliver("c-1", s0, 0), http.StatusInternalServerError)
				reasons := rig.takeReasons()
				if len(reasons) != 1 || !errors.Is(reasons[0], kyccb.ErrStoreUnavailable) ||
					!form.middleware && !errors.Is(reasons[0], kyccb.ErrCallback) {
					t.Errorf("reported %v, want one reason matching ErrStoreUnavailable (and ErrCallback from a handler)", reasons)
				}
				rig.set(nil, nil)
				wantReply(t, rig.deliver("c-1", s0, 1), http.StatusServiceUnavailable)
				rig.clock.Add(kyccb.DefaultDedupLease)
				wantReply(t, rig.deliver("c-1", s0, 2), ok)
				rig.check([]string{c1s0, c1s0}, kyccb.ErrDuplicateInProgress)
			})
			t.Run("unauthenticated requests never reach the store", func(t *testing.T) {
				rig := newDedupRig(t, form)
				rec := httptest.NewRecorder()
				rig.handler.ServeHTTP(rec, forged(t, rig.form.request(t, "c-1", s0, 0)))
				wantReply(t, rec, http.StatusUnauthorized)
				if n := rig.store.calls.Load(); n != 0 {
					t.Errorf("the store was called %d times for a forged callback", n)
				}
				if form.mode == "sep12" {
					rig.check(nil, kyccb.ErrBadSignature)
				} else {
					rig.check(nil, kyccb.ErrBadHash)
				}
			})
			t.Run("the observer sees a redelivery as a duplicate and a concurrent one as in progress", func(t *testing.T) {
				rig := newDedupRig(t, form)
				wantReply(t, rig.deliver("c-1", s0, 0), ok)
				wantReply(t, rig.deliver("c-1", s0, 1), http.StatusOK)
				finish := rig.deliverBlocked("c-1", s1, 0)
				wantReply(t, rig.deliver("c-1", s1, 1), http.StatusServiceUnavailable)
				wantReply(t, finish(), ok)
				// The hook hears of the 503, not of the redelivery.
				rig.check([]string{c1s0, c1s1}, kyccb.ErrDuplicateInProgress)

				want := []struct {
					err     error
					status  int
					outcome string
				}{
					{nil, ok, "accepted"},
					{kyccb.ErrDuplicate, http.StatusOK, "duplicate"},
					{kyccb.ErrDuplicateInProgress, http.StatusServiceUnavailable, "in_progress"},
					{nil, ok, "accepted"},
				}
				rig.mu.Lock()
				defer rig.mu.Unlock()
				if len(rig.verdicts) != len(want) {
					t.Fatalf("the observer saw %+v, want %d verdicts", rig.verdicts, len(want))
				}
				for i, w := range want {
					v := rig.verdicts[i]
					if v.Mode != form.mode || v.Status != w.status || v.Outcome() != w.outcome ||
						w.err == nil && v.Err != nil || w.err != nil && !errors.Is(v.Err, w.err) {
						t.Errorf("verdict %d is %+v (outcome %q), want mode %s, status %d, an error matching %v, outcome %q",
							i, v, v.Outcome(), form.mode, w.status, w.err, w.outcome)
					}
				}
			})
		})
	}
}

var errPanic = errors.New("test panic")

// forged returns r with the customer id "c-1" in its body changed, which
// breaks its signature or hash.
func forged(t *testing.T, r *http.Request) *http.Request {
	t.Helper()
	var body bytes.Buffer
	if _, err := body.ReadFrom(r.Body); err != nil {
		t.Fatal(err)
	}
	changed := bytes.Replace(body.Bytes(), []byte(`"c-1"`), []byte(`"c-2"`), 1)
	if bytes.Equal(changed, body.Bytes()) {
		t.Fatal("the body has no customer id to change")
	}
	f := httptest.NewRequest(r.Method, r.URL.String(), bytes.NewReader(changed))
	f.Header = r.Header
	return f
}

// sentCallback is one delivery in a sequence: the request, built anew for
// each delivery, and what the function must receive, "" for a
// redelivery that must not reach it.
type sentCallback struct {
	request func(t *testing.T, attempt int) *http.Request
	want    string
}

// sep12Sent is a SEP-12 delivery of body to path of the registered host,
// signed at the time of the delivery.
func sep12Sent(path, body, want string) sentCallback {
	return sentCallback{
		request: func(t *testing.T, attempt int) *http.Request {
			at := time.Now().Add(-time.Duration(attempt) * time.Second)
			return dedupSigned(t, "https://"+testHost+path, []byte(body), at)
		},
		want: want,
	}
}

func xgatewaySent(m map[string]any, want string) sentCallback {
	return sentCallback{
		request: func(t *testing.T, _ int) *http.Request {
			// A copy: dedupXGatewayRequest adds the hash to it.
			return dedupXGatewayRequest(t, "https://merchant.example.org/xgw", maps.Clone(m))
		},
		want: want,
	}
}

// TestDedupKeepsEveryStatusChange delivers sequences of callbacks, each
// answered 200, and checks that the function received every change of a
// customer's status, returns to an earlier one among them, and none of the
// redeliveries.
func TestDedupKeepsEveryStatusChange(t *testing.T) {
	kyc := func(customer, status string) map[string]any {
		return map[string]any{"callbackType": "kyc", "customerId": customer, "status": status}
	}
	tx := func(id, status string) map[string]any {
		return map[string]any{"callbackType": "transaction", "id": id, "customerId": "c-1", "amount": "10.00", "currency": "EUR", "status": status}
	}
	bank := func(currency, status string) map[string]any {
		return map[string]any{"callbackType": "bank_account", "customerId": "c-1", "currency": currency, "status": status}
	}
	tests := []struct {
		name     string
		sequence []sentCallback
		xgateway bool
	}{
		{name: "SEP-12: ACCEPTED, NEEDS_INFO, ACCEPTED for one customer are all processed", sequence: []sentCallback{
			sep12Sent("/kyc", `{"id":"c-1","status":"ACCEPTED"}`, "c-1 ACCEPTED"),
			sep12Sent("/kyc", `{"id":"c-1","status":"NEEDS_INFO","fields":{"mobile_number":{"type":"string"}}}`, "c-1 NEEDS_INFO"),
			sep12Sent("/kyc", `{"id":"c-1","status":"ACCEPTED"}`, "c-1 ACCEPTED"),
			sep12Sent("/kyc", `{"id":"c-1","status":"ACCEPTED"}`, ""),
		}},
		{name: "SEP-12: two customers with the same status are both processed", sequence: []sentCallback{
			sep12Sent("/kyc", `{"id":"c-1","status":"ACCEPTED"}`, "c-1 ACCEPTED"),
			sep12Sent("/kyc", `{"id":"c-2","status":"ACCEPTED"}`, "c-2 ACCEPTED"),
			sep12Sent("/kyc", `{"id":"c-1","status":"ACCEPTED"}`, ""),
			sep12Sent("/kyc", `{"id":"c-2","status":"ACCEPTED"}`, ""),
		}},
		{name: "SEP-12: a body with an id is keyed by the id, whatever the path", sequence: []sentCallback{
			sep12Sent("/kyc/a", `{"id":"c-1","status":"ACCEPTED"}`, "c-1 ACCEPTED"),
			sep12Sent("/kyc/b", `{"id":"c-1","status":"ACCEPTED"}`, ""),
		}},
		{name: "SEP-12: an id-less body is keyed by its path", sequence: []sentCallback{
			sep12Sent("/kyc/alice", `{"status":"ACCEPTED"}`, " ACCEPTED"),
			sep12Sent("/kyc/bob", `{"status":"ACCEPTED"}`, " ACCEPTED"),
			sep12Sent("/kyc/alice", `{"status":"ACCEPTED"}`, ""),
			sep12Sent("/kyc/bob", `{"status":"ACCEPTED"}`, ""),
			sep12Sent("/kyc/alice", `{"status":"NEEDS_INFO"}`, " NEEDS_INFO"),
			sep12Sent("/kyc/alice", `{"status":"ACCEPTED"}`, " ACCEPTED"),
			sep12Sent("/kyc/bob", `{"status":"ACCEPTED"}`, ""),
		}},
		{name: "XGateway: KYC_PENDING, FULL_USER, SOFT_KYC_FAILED, FULL_USER for one customer are all processed", xgateway: true, sequence: []sentCallback{
			xgatewaySent(kyc("c-1", "KYC_PENDING"), "kyc c-1 KYC_PENDING"),
			xgatewaySent(kyc("c-1", "FULL_USER"), "kyc c-1 FULL_USER"),
			xgatewaySent(kyc("c-1", "SOFT_KYC_FAILED"), "kyc c-1 SOFT_KYC_FAILED"),
			xgatewaySent(kyc("c-1", "FULL_USER"), "kyc c-1 FULL_USER"),
			xgatewaySent(kyc("c-1", "FULL_USER"), ""),
		}},
		{name: "XGateway: two customers with the same status are both processed", xgateway: true, sequence: []sentCallback{
			xgatewaySent(kyc("c-1", "FULL_USER"), "kyc c-1 FULL_USER"),
			xgatewaySent(kyc("c-2", "FULL_USER"), "kyc c-2 FULL_USER"),
			xgatewaySent(kyc("c-1", "FULL_USER"), ""),
			xgatewaySent(kyc("c-2", "FULL_USER"), ""),
		}},
		{name: "XGateway: each transaction keeps its own last status", xgateway: true, sequence: []sentCallback{
			xgatewaySent(tx("tx-1", "PENDING"), "transaction tx-1 PENDING"),
			xgatewaySent(tx("tx-1", "ON_HOLD"), "transaction tx-1 ON_HOLD"),
			xgatewaySent(tx("tx-2", "PENDING"), "transaction tx-2 PENDING"),
			xgatewaySent(tx("tx-1", "PENDING"), "transaction tx-1 PENDING"),
			xgatewaySent(tx("tx-1", "PENDING"), ""),
			xgatewaySent(tx("tx-2", "PENDING"), ""),
		}},
		{name: "XGateway: each currency's bank account keeps its own last status", xgateway: true, sequence: []sentCallback{
			xgatewaySent(bank("EUR", "ACTIVE"), "bank_account c-1 EUR ACTIVE"),
			xgatewaySent(bank("GBP", "ACTIVE"), "bank_account c-1 GBP ACTIVE"),
			xgatewaySent(bank("EUR", "ACTIVE"), ""),
			xgatewaySent(bank("GBP", "ACTIVE"), ""),
		}},
		{name: "XGateway: a customer's callback types keep their own last status", xgateway: true, sequence: []sentCallback{
			xgatewaySent(kyc("c-1", "KYC_PENDING"), "kyc c-1 KYC_PENDING"),
			xgatewaySent(bank("EUR", "PENDING"), "bank_account c-1 EUR PENDING"),
			xgatewaySent(tx("tx-1", "PENDING"), "transaction tx-1 PENDING"),
			xgatewaySent(kyc("c-1", "KYC_PENDING"), ""),
			xgatewaySent(bank("EUR", "PENDING"), ""),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			var verdicts []kyccb.Verdict
			opts := []kyccb.Option{
				kyccb.WithDedup(kyccb.NewMemoryStore()),
				kyccb.WithObserver(func(_ *http.Request, v kyccb.Verdict) { verdicts = append(verdicts, v) }),
			}
			var h http.Handler
			if tt.xgateway {
				opts = append(opts,
					kyccb.WithXGatewayTransaction(func(_ context.Context, tx kyccb.XGatewayTransaction) error {
						got = append(got, "transaction "+tx.ID+" "+tx.Status)
						return nil
					}),
					kyccb.WithXGatewayBankAccount(func(_ context.Context, a kyccb.XGatewayBankAccount) error {
						got = append(got, "bank_account "+a.CustomerID+" "+a.Currency+" "+a.Status)
						return nil
					}))
				h = kyccb.XGateway(testSecret, func(_ context.Context, k kyccb.XGatewayKYC) error {
					got = append(got, "kyc "+k.CustomerID+" "+string(k.Status))
					return nil
				}, opts...)
			} else {
				h = kyccb.SEP12(testAddress, testHost, func(_ context.Context, c kyccb.Customer) error {
					got = append(got, c.ID+" "+string(c.Status))
					return nil
				}, opts...)
			}
			var want []string
			for i, cb := range tt.sequence {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, cb.request(t, i))
				wantReply(t, rec, http.StatusOK)
				v := verdicts[len(verdicts)-1]
				if cb.want != "" {
					want = append(want, cb.want)
					if v.Err != nil {
						t.Errorf("delivery %d: the observer saw %v, want a processed callback", i, v.Err)
					}
				} else if !errors.Is(v.Err, kyccb.ErrDuplicate) {
					t.Errorf("delivery %d, a redelivery: the observer saw %v, want ErrDuplicate", i, v.Err)
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("the function received\n\t%q\nwant\n\t%q", got, want)
			}
		})
	}
}

// TestDedupKeysAlike checks that the handler and the middleware of a mode
// take a callback for the same customer, so that they can share a store.
func TestDedupKeysAlike(t *testing.T) {
	t.Run("SEP-12", func(t *testing.T) {
		nextRan := 0
		next := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { nextRan++ })
		store := kyccb.NewMemoryStore()
		var got []string
		handler := kyccb.SEP12(testAddress, testHost, func(_ context.Context, c kyccb.Customer) error {
			got = append(got, c.ID+" "+string(c.Status))
			return nil
		}, kyccb.WithDedup(store))
		middleware := dedupSEP12Verifier(t, kyccb.WithDedup(store)).Middleware(next)
		for _, path := range []string{"/kyc", "/kyc/alice"} {
			for _, body := range []string{`{"id":"c-1","status":"ACCEPTED"}`, `{"status":"ACCEPTED"}`} {
				rec := httptest.NewRecorder()
				handler.ServeHTTP(rec, sep12Sent(path, body, "").request(t, 0))
				wantReply(t, rec, http.StatusOK)
				rec = httptest.NewRecorder()
				middleware.ServeHTTP(rec, sep12Sent(path, body, "").request(t, 1))
				wantReply(t, rec, http.StatusOK)
			}
		}
		// The id-bearing body is one customer at both paths.
		if want := []string{"c-1 ACCEPTED", " ACCEPTED", " ACCEPTED"}; !slices.Equal(got, want) || nextRan != 0 {
			t.Errorf("the handler received %q and next ran %d times, want %q and none", got, nextRan, want)
		}
	})
	t.Run("XGateway", func(t *testing.T) {
		nextRan := 0
		next := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { nextRan++ })
		store := kyccb.NewMemoryStore()
		var got []string
		handler := kyccb.XGateway(testSecret, func(_ context.Context, k kyccb.XGatewayKYC) error {
			got = append(got, k.CustomerID+" "+string(k.Status))
			return nil
		}, kyccb.WithDedup(store))
		middleware := dedupXGatewayVerifier(t, kyccb.WithDedup(store)).Middleware(next)
		for _, status := range []string{"KYC_PENDING", "FULL_USER"} {
			rec := httptest.NewRecorder()
			handler.ServeHTTP(rec, xgatewaySent(map[string]any{"callbackType": "kyc", "customerId": "c-1", "status": status}, "").request(t, 0))
			wantReply(t, rec, http.StatusOK)
			rec = httptest.NewRecorder()
			middleware.ServeHTTP(rec, xgatewaySent(map[string]any{"callbackType": "kyc", "customerId": "c-1", "status": status}, "").request(t, 0))
			wantReply(t, rec, http.StatusOK)
		}
		if want := []string{"c-1 KYC_PENDING", "c-1 FULL_USER"}; !slices.Equal(got, want) || nextRan != 0 {
			t.Errorf("the handler received %q and next ran %d times, want %q and none", got, nextRan, want)
		}
	})
}

func TestDedupKeysIncludeTheMode(t *testing.T) {
	// One body, valid in both modes: a shared store must not take the
	// SEP-12 callback for the XGateway one.
	store := kyccb.NewMemoryStore()
	var sepRuns, xgwRuns int
	sep12 := kyccb.SEP12(testAddress, testHost, func(context.Context, kyccb.Customer) error { sepRuns++; return nil }, kyccb.WithDedup(store))
	xgw := kyccb.XGateway(testSecret, func(context.Context, kyccb.XGatewayKYC) error { xgwRuns++; return nil }, kyccb.WithDedup(store))
	body := kyccbtest.XGatewayBody(t, testSecret, kyccb.XGatewayKYC{CustomerID: "c-1", Status: kyccb.XGatewayFullUser})
	for range 2 {
		rec := httptest.NewRecorder()
		sep12.ServeHTTP(rec, dedupSigned(t, "https://"+testHost+"/kyc", body, time.Now()))
		wantReply(t, rec, http.StatusOK)
		rec = httptest.NewRecorder()
		xgw.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/kyc", bytes.NewReader(body)))
		wantReply(t, rec, http.StatusOK)
	}
	if sepRuns != 1 || xgwRuns != 1 {
		t.Errorf("SEP-12 ran %d times and XGateway %d times, want once each", sepRuns, xgwRuns)
	}
}

// TestDedupSharedMemoryStore runs handlers with different TTLs on one
// bounded memory store, on a fake clock.
func TestDedupSharedMemoryStore(t *testing.T) {
	type rig struct {
		clock     *fakeClock
		short     http.Handler // SEP-12, records kept 1 h
		long      http.Handler // XGateway, records kept 72 h
		got       []string
		reasons   []error
		block     chan struct{}
		started   chan struct{}
		shortSent int
	}
	newRig := func(t *testing.T, maxEntries int) *rig {
		r := &rig{clock: newFakeClock(), started: make(chan struct{}, 10)}
		store := kyccb.NewMemoryStore(kyccb.WithMaxEntries(maxEntries), kyccb.WithMemoryClock(r.clock.Now))
		var mu sync.Mutex
		record := func(s string) {
			mu.Lock()
			r.got = append(r.got, s)
			block := r.block
			mu.Unlock()
			r.started <- struct{}{}
			if block != nil {
				<-block
			}
		}
		hook := kyccb.WithErrorHook(func(_ *http.Request, err error) {
			mu.Lock()
			defer mu.Unlock()
			r.reasons = append(r.reasons, err)
		})
		r.short = kyccb.SEP12(testAddress, testHost, func(_ context.Context, c kyccb.Customer) error {
			record("short " + c.ID + " " + string(c.Status))
			return nil
		}, kyccb.WithDedup(store), kyccb.WithDedupTTL(time.Hour), hook)
		r.long = kyccb.XGateway(testSecret, func(_ context.Context, k kyccb.XGatewayKYC) error {
			record("long " + k.CustomerID + " " + string(k.Status))
			return nil
		}, kyccb.WithDedup(store), hook)
		return r
	}
	sendShort := func(t *testing.T, r *rig, customer string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		r.shortSent++
		r.short.ServeHTTP(rec, sep12Sent("/kyc", `{"id":"`+customer+`","status":"ACCEPTED"}`, "").request(t, r.shortSent))
		return rec
	}
	sendLong := func(t *testing.T, r *rig, customer string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		r.long.ServeHTTP(rec, xgatewaySent(map[string]any{"callbackType": "kyc", "customerId": customer, "status": "FULL_USER"}, "").request(t, 0))
		return rec
	}

	t.Run("expired short records make room, never the live long one", func(t *testing.T) {
		r := newRig(t, 3)
		wantReply(t, sendLong(t, r, "l-1"), http.StatusOK)
		wantReply(t, sendShort(t, r, "s-1"), http.StatusOK)
		wantReply(t, sendShort(t, r, "s-2"), http.StatusOK)
		r.clock.Add(2 * time.Hour) // s-1 and s-2 expire; l-1 has 70 h to go
		wantReply(t, sendShort(t, r, "n-1"), http.StatusOK)
		wantReply(t, sendShort(t, r, "n-2"), http.StatusOK)
		wantReply(t, sendLong(t, r, "l-1"), http.StatusOK) // a redelivery
		want := []string{"long l-1 FULL_USER", "short s-1 ACCEPTED", "short s-2 ACCEPTED", "short n-1 ACCEPTED", "short n-2 ACCEPTED"}
		if !slices.Equal(r.got, want) || len(r.reasons) != 0 {
			t.Errorf("the functions received\n\t%q\nand reported %v; want\n\t%q\nand nothing", r.got, r.reasons, want)
		}
	})
	t.Run("when none has expired, the short record goes before the long one", func(t *testing.T) {
		r := newRig(t, 2)
		wantReply(t, sendLong(t, r, "l-1"), http.StatusOK)
		wantReply(t, sendShort(t, r, "s-1"), http.StatusOK)
		wantReply(t, sendShort(t, r, "n-1"), http.StatusOK) // drops s-1
		wantReply(t, sendLong(t, r, "l-1"), http.StatusOK)  // a redelivery
		want := []string{"long l-1 FULL_USER", "short s-1 ACCEPTED", "short n-1 ACCEPTED"}
		if !slices.Equal(r.got, want) || len(r.reasons) != 0 {
			t.Errorf("the functions received\n\t%q\nand reported %v; want\n\t%q\nand nothing", r.got, r.reasons, want)
		}
	})
	t.Run("a store full of active leases refuses new customers with 503", func(t *testing.T) {
		r := newRig(t, 1)
		r.block = make(chan struct{})
		first := make(chan *httptest.ResponseRecorder)
		go func() { first <- sendLong(t, r, "l-1") }()
		<-r.started
		rec := sendShort(t, r, "s-1")
		wantReply(t, rec, http.StatusServiceUnavailable)
		close(r.block)
		wantReply(t, <-first, http.StatusOK)
		r.block = nil
		wantReply(t, sendShort(t, r, "s-1"), http.StatusOK) // the sender's retry
		want := []string{"long l-1 FULL_USER", "short s-1 ACCEPTED"}
		if !slices.Equal(r.got, want) {
			t.Errorf("the functions received %q, want %q", r.got, want)
		}
		if len(r.reasons) != 1 || !errors.Is(r.reasons[0], kyccb.ErrStoreUnavailable) {
			t.Errorf("reported %v, want one reason matching ErrStoreUnavailable", r.reasons)
		}
	})
}

// TestDedupConcurrentDeliveries delivers callbacks at once over a real
// server, each sender retrying its 503s as senders do.
func TestDedupConcurrentDeliveries(t *testing.T) {
	// post delivers body to srv, signed anew for each attempt, until it is
	// answered other than 503, and returns that status.
	post := func(t *testing.T, srv *httptest.Server, body []byte, age time.Duration, busy *atomic.Int64) int {
		for attempt := range 1000 {
			// Each attempt is signed anew, as the Anchor Platform does.
			sig, err := kyccb.SignSEP12(testSeed, srv.URL, body, time.Now().Add(-(age+time.Duration(attempt)*time.Second)%time.Minute))
			if err != nil {
				t.Error(err)
				return 0
			}
			req, err := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(body))
			if err != nil {
				t.Error(err)
				return 0
			}
			req.Header.Set(kyccb.SignatureHeader, sig)
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Error(err)
				return 0
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusServiceUnavailable {
				return resp.StatusCode
			}
			busy.Add(1)
			time.Sleep(5 * time.Millisecond)
		}
		t.Error("a sender never got an answer but 503")
		return 0
	}

	t.Run("one callback from 100 senders runs once", func(t *testing.T) {
		var runs atomic.Int64
		var h http.Handler
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
		defer srv.Close()
		h = kyccb.SEP12(testAddress, srv.URL, func(context.Context, kyccb.Customer) error {
			runs.Add(1)
			time.Sleep(20 * time.Millisecond) // long enough for deliveries to overlap
			return nil
		}, kyccb.WithDedup(kyccb.NewMemoryStore()), kyccb.WithLogger(slog.New(slog.DiscardHandler)))

		body := kyccbtest.CustomerBody(t, kyccb.Customer{ID: "c-1", Status: kyccb.StatusAccepted})
		const senders = 100
		var busy atomic.Int64
		var wg sync.WaitGroup
		for i := range senders {
			wg.Go(func() {
				if code := post(t, srv, body, time.Duration(i)*time.Second, &busy); code != http.StatusOK {
					t.Errorf("sender %d got %d", i, code)
				}
			})
		}
		wg.Wait()
		if n := runs.Load(); n != 1 {
			t.Errorf("the function ran %d times for one callback delivered %d times, want once", n, senders)
		}
		t.Logf("%d deliveries answered 503 while the first ran", busy.Load())
	})

	t.Run("one customer's different callbacks run one at a time, each once", func(t *testing.T) {
		var mu sync.Mutex
		running, most := 0, 0
		got := map[string]int{}
		var h http.Handler
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
		defer srv.Close()
		h = kyccb.SEP12(testAddress, srv.URL, func(_ context.Context, c kyccb.Customer) error {
			mu.Lock()
			running++
			most = max(most, running)
			got[c.Message]++
			mu.Unlock()
			time.Sleep(5 * time.Millisecond) // long enough for deliveries to overlap
			mu.Lock()
			running--
			mu.Unlock()
			return nil
		}, kyccb.WithDedup(kyccb.NewMemoryStore()), kyccb.WithLogger(slog.New(slog.DiscardHandler)))

		const senders = 20
		var busy atomic.Int64
		var wg sync.WaitGroup
		for i := range senders {
			body := kyccbtest.CustomerBody(t, kyccb.Customer{ID: "c-1", Status: kyccb.StatusNeedsInfo, Message: fmt.Sprint("change ", i)})
			wg.Go(func() {
				if code := post(t, srv, body, 0, &busy); code != http.StatusOK {
					t.Errorf("sender %d got %d", i, code)
				}
			})
		}
		wg.Wait()
		if most != 1 {
			t.Errorf("the function ran %d times at once for one customer, want one at a time", most)
		}
		for i := range senders {
			if n := got[fmt.Sprint("change ", i)]; n != 1 {
				t.Errorf("change %d was processed %d times, want once", i, n)
			}
		}
		t.Logf("%d deliveries answered 503 while another ran", busy.Load())
	})
}

func TestDedupConstructionFails(t *testing.T) {
	store := kyccb.NewMemoryStore()
	tests := []struct {
		name string
		opts []kyccb.Option
	}{
		{"a nil store", []kyccb.Option{kyccb.WithDedup(nil)}},
		{"a zero TTL", []kyccb.Option{kyccb.WithDedup(store), kyccb.WithDedupTTL(0)}},
		{"a negative lease", []kyccb.Option{kyccb.WithDedup(store), kyccb.WithDedupLease(-time.Second)}},
		{"a TTL shorter than the default lease", []kyccb.Option{kyccb.WithDedup(store), kyccb.WithDedupTTL(time.Second)}},
		{"a TTL shorter than the lease", []kyccb.Option{kyccb.WithDedupLease(time.Hour), kyccb.WithDedupTTL(time.Minute), kyccb.WithDedup(store)}},
		{"a TTL without a store", []kyccb.Option{kyccb.WithDedupTTL(time.Hour)}},
		{"a lease without a store", []kyccb.Option{kyccb.WithDedupLease(time.Minute)}},
		{"fail-open without a store", []kyccb.Option{kyccb.WithDedupFailOpen()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, err := kyccb.ParseKeys(testAddress)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := kyccb.NewSEP12Verifier(keys, testHost, tt.opts...); !errors.Is(err, kyccb.ErrConfig) {
				t.Errorf("NewSEP12Verifier: %v, want an error matching ErrConfig", err)
			}
			if _, err := kyccb.NewXGatewayVerifier(testSecret, tt.opts...); !errors.Is(err, kyccb.ErrConfig) {
				t.Errorf("NewXGatewayVerifier: %v, want an error matching ErrConfig", err)
			}
		})
	}
	t.Run("options in any order", func(t *testing.T) {
		if _, err := kyccb.NewXGatewayVerifier(testSecret, kyccb.WithDedupFailOpen(), kyccb.WithDedupLease(time.Second), kyccb.WithDedupTTL(time.Second), kyccb.WithDedup(store)); err != nil {
			t.Errorf("NewXGatewayVerifier: %v", err)
		}
	})
}

func TestHTTPStatusDedup(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"a redelivery", fmt.Errorf("wrapped: %w", kyccb.ErrDuplicate), http.StatusOK},
		{"a duplicate in progress", fmt.Errorf("wrapped: %w", kyccb.ErrDuplicateInProgress), http.StatusServiceUnavailable},
		{"an unreachable store", fmt.Errorf("%w: reserving: %w", kyccb.ErrStoreUnavailable, errStoreDown), http.StatusServiceUnavailable},
		{"a failed function and a failed release", errors.Join(fmt.Errorf("%w: %w", kyccb.ErrCallback, kyccb.ErrStoreUnavailable), kyccb.ErrStoreUnavailable), http.StatusInternalServerError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := kyccb.HTTPStatus(tt.err); got != tt.want {
				t.Errorf("HTTPStatus = %d, want %d", got, tt.want)
			}
		})
	}
}

// BenchmarkXGatewayDedup compares a handler without dedup with one that
// reserves and confirms every callback in a memory store, and one that
// answers redeliveries.
func BenchmarkXGatewayDedup(b *testing.B) {
	body := kyccbtest.XGatewayBody(b, testSecret, kyccb.XGatewayKYC{CustomerID: "c-1", Status: kyccb.XGatewayFullUser})
	fn := func(context.Context, kyccb.XGatewayKYC) error { return nil }
	// A clock that moves past the TTL at each call makes every delivery
	// new to the store.
	var now atomic.Int64
	skip := func() time.Time { return time.Unix(0, now.Add(int64(2*kyccb.DefaultDedupTTL))) }
	handlers := []struct {
		name string
		h    http.Handler
	}{
		{"without dedup", kyccb.XGateway(testSecret, fn)},
		{"memory store, new callbacks", kyccb.XGateway(testSecret, fn, kyccb.WithDedup(kyccb.NewMemoryStore(kyccb.WithMemoryClock(skip))))},
		{"memory store, redeliveries", kyccb.XGateway(testSecret, fn, kyccb.WithDedup(kyccb.NewMemoryStore()))},
	}
	for _, bh := range handlers {
		b.Run(bh.name, func(b *testing.B) {
			rr := newReusableRequest(body, nil)
			w := &discardWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				rr.serve(bh.h, w)
				if w.code != http.StatusOK {
					b.Fatalf("replied %d", w.code)
				}
			}
		})
	}
}

// TestDedupSEP12PathKeys covers SEP-12 bodies without a top-level "id",
// which WithDedup keys by where they were sent.
func TestDedupSEP12PathKeys(t *testing.T) {
	t.Run("id-less bodies sent to URLs that differ in the query alone are different customers", func(t *testing.T) {
		var got []string
		h := kyccb.SEP12(testAddress, testHost, func(_ context.Context, c kyccb.Customer) error {
			got = append(got, string(c.Status))
			return nil
		}, kyccb.WithDedup(kyccb.NewMemoryStore()))
		// A wallet that registered one callback URL per customer, told
		// apart by the query.
		for _, path := range []string{"/kyc?customer=alice", "/kyc?customer=bob"} {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, sep12Sent(path, `{"status":"ACCEPTED"}`, "").request(t, 0))
			wantReply(t, rec, http.StatusOK)
		}
		if want := []string{"ACCEPTED", "ACCEPTED"}; !slices.Equal(got, want) {
			t.Errorf("the function received %q, want %q: one callback per customer", got, want)
		}
	})

	// The package documents the SEP-12 middleware for SEP-6, SEP-24 and
	// SEP-31 transaction callbacks too, which all go to one URL with the
	// id inside "transaction".
	txBody := func(id, status string) string {
		return `{"transaction":{"id":"` + id + `","kind":"deposit","status":"` + status + `"}}`
	}
	txForm := dedupForm{
		name:       "SEP12 middleware, transaction callbacks",
		middleware: true,
		mode:       "sep12",
		success:    http.StatusOK,
		build: func(t *testing.T, process func(context.Context, string) error, opts ...kyccb.Option) http.Handler {
			return dedupSEP12Verifier(t, opts...).Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				var cb struct {
					Transaction struct {
						ID     string `json:"id"`
						Status string `json:"status"`
					} `json:"transaction"`
				}
				if err := json.NewDecoder(r.Body).Decode(&cb); err != nil {
					t.Error(err)
				}
				if process(r.Context(), cb.Transaction.ID+" "+cb.Transaction.Status) != nil {
					w.WriteHeader(http.StatusInternalServerError)
				}
			}))
		},
		request: func(t *testing.T, id, status string, attempt int) *http.Request {
			return sep12Sent("/callbacks/tx", txBody(id, status), "").request(t, attempt)
		},
	}
	t.Run("a transaction callback redelivered after another transaction's is not run again", func(t *testing.T) {
		rig := newDedupRig(t, txForm)
		wantReply(t, rig.deliver("tx-1", "pending_anchor", 0), http.StatusOK)
		wantReply(t, rig.deliver("tx-2", "pending_anchor", 0), http.StatusOK)
		wantReply(t, rig.deliver("tx-1", "pending_anchor", 1), http.StatusOK) // a retry
		rig.check([]string{"tx-1 pending_anchor", "tx-2 pending_anchor"})
	})
	t.Run("two transactions' callbacks do not wait for each other", func(t *testing.T) {
		rig := newDedupRig(t, txForm)
		finish := rig.deliverBlocked("tx-1", "pending_anchor", 0)
		wantReply(t, rig.deliver("tx-2", "pending_anchor", 0), http.StatusOK)
		wantReply(t, finish(), http.StatusOK)
		rig.check([]string{"tx-1 pending_anchor", "tx-2 pending_anchor"})
	})
}
