package kyccb_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
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
	success    int // the status when the function succeeds
	// build returns the handler, which calls process for each callback it
	// lets through and fails the test for any other callback type.
	build func(t *testing.T, process func(context.Context) error, opts ...kyccb.Option) http.Handler
	// request returns delivery number attempt of callback id, signed anew
	// for every attempt as the Anchor Platform does.
	request func(t *testing.T, id string, attempt int) *http.Request
}

// processNext is the next handler of the middleware forms. success is the
// status it writes when process succeeds; 0 writes nothing.
func processNext(t *testing.T, process func(context.Context) error, success int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if kyccb.RawBody(r.Context()) == nil {
			t.Error("the next handler got a request without its callback")
		}
		if err := process(r.Context()); err != nil {
			http.Error(w, "failed", http.StatusInternalServerError)
			return
		}
		if success != 0 {
			w.WriteHeader(success)
		}
	})
}

func sep12Delivery(t *testing.T, id string, attempt int) *http.Request {
	body := kyccbtest.CustomerBody(t, kyccb.Customer{ID: id, Status: kyccb.StatusAccepted})
	at := time.Now().Add(-time.Duration(attempt) * time.Second)
	return kyccbtest.SEP12RequestAt(t, testSeed, "https://"+testHost+"/kyc", body, at)
}

// xgatewayDelivery returns deliveries of the callback that fields makes
// for an id, with hashed the values of the hashed fields in order.
func xgatewayDelivery(fields func(id string) map[string]any, hashed ...string) func(*testing.T, string, int) *http.Request {
	return func(t *testing.T, id string, _ int) *http.Request {
		m := fields(id)
		var values []string
		for _, f := range hashed {
			values = append(values, m[f].(string))
		}
		m["hash"] = kyccb.XGatewayHash(testSecret, values...)
		body, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return httptest.NewRequest(http.MethodPost, "https://merchant.example.org/xgw", bytes.NewReader(body))
	}
}

func failOther[T any](t *testing.T) func(context.Context, T) error {
	return func(context.Context, T) error {
		t.Errorf("the function for %T ran", *new(T))
		return nil
	}
}

var dedupForms = []dedupForm{
	{
		name:       "SEP12 handler",
		middleware: false,
		success:    http.StatusOK,
		build: func(t *testing.T, process func(context.Context) error, opts ...kyccb.Option) http.Handler {
			return kyccb.SEP12(testAddress, testHost, func(ctx context.Context, _ kyccb.Customer) error { return process(ctx) }, opts...)
		},
		request: sep12Delivery,
	},
	{
		name:       "SEP12 middleware, next replying 204",
		middleware: true,
		success:    http.StatusNoContent,
		build: func(t *testing.T, process func(context.Context) error, opts ...kyccb.Option) http.Handler {
			return kyccb.SEP12Middleware(testAddress, testHost, opts...)(processNext(t, process, http.StatusNoContent))
		},
		request: sep12Delivery,
	},
	{
		name:       "XGateway handler, kyc callbacks",
		middleware: false,
		success:    http.StatusOK,
		build: func(t *testing.T, process func(context.Context) error, opts ...kyccb.Option) http.Handler {
			return kyccb.XGateway(testSecret, func(ctx context.Context, _ kyccb.XGatewayKYC) error { return process(ctx) }, opts...)
		},
		request: xgatewayDelivery(func(id string) map[string]any {
			return map[string]any{"callbackType": "kyc", "customerId": id, "status": "FULL_USER"}
		}, "customerId"),
	},
	{
		name:       "XGateway handler, transaction callbacks",
		middleware: false,
		success:    http.StatusOK,
		build: func(t *testing.T, process func(context.Context) error, opts ...kyccb.Option) http.Handler {
			opts = append(opts, kyccb.WithXGatewayTransaction(func(ctx context.Context, _ kyccb.XGatewayTransaction) error { return process(ctx) }))
			return kyccb.XGateway(testSecret, failOther[kyccb.XGatewayKYC](t), opts...)
		},
		request: xgatewayDelivery(func(id string) map[string]any {
			return map[string]any{"callbackType": "transaction", "id": id, "customerId": "c-1", "amount": "10.00", "currency": "EUR", "status": "SUCCESS"}
		}, "id", "customerId", "amount", "currency"),
	},
	{
		name:       "XGateway handler, bank account callbacks",
		middleware: false,
		success:    http.StatusOK,
		build: func(t *testing.T, process func(context.Context) error, opts ...kyccb.Option) http.Handler {
			opts = append(opts, kyccb.WithXGatewayBankAccount(func(ctx context.Context, _ kyccb.XGatewayBankAccount) error { return process(ctx) }))
			return kyccb.XGateway(testSecret, failOther[kyccb.XGatewayKYC](t), opts...)
		},
		request: xgatewayDelivery(func(id string) map[string]any {
			return map[string]any{"callbackType": "bank_account", "customerId": id, "currency": "EUR", "iban": "DE89370400440532013000", "status": "ACTIVE"}
		}, "customerId", "currency"),
	},
	{
		name:       "XGateway middleware, next writing nothing",
		middleware: true,
		success:    http.StatusOK,
		build: func(t *testing.T, process func(context.Context) error, opts ...kyccb.Option) http.Handler {
			return kyccb.XGatewayMiddleware(testSecret, opts...)(processNext(t, process, 0))
		},
		request: xgatewayDelivery(func(id string) map[string]any {
			return map[string]any{"callbackType": "kyc", "customerId": id, "status": "FULL_USER"}
		}, "customerId"),
	},
}

// testStore is a store as users' infrastructure has it: a real store that
// can be made to fail as a network store does, and that counts its calls.
type testStore struct {
	kyccb.Store
	calls                                atomic.Int64
	failReserve, failConfirm, failRelase atomic.Bool
}

var errStoreDown = errors.New("dial tcp 127.0.0.1:6379: connect: connection refused")

func newTestStore() *testStore { return &testStore{Store: kyccb.NewMemoryStore()} }

func (s *testStore) Reserve(ctx context.Context, key string, lease time.Duration) (string, kyccb.State, error) {
	s.calls.Add(1)
	if s.failReserve.Load() {
		return "", 0, errStoreDown
	}
	return s.Store.Reserve(ctx, key, lease)
}

func (s *testStore) Confirm(ctx context.Context, key, token string, ttl time.Duration) error {
	s.calls.Add(1)
	if s.failConfirm.Load() {
		return errStoreDown
	}
	return s.Store.Confirm(ctx, key, token, ttl)
}

func (s *testStore) Release(ctx context.Context, key, token string) error {
	s.calls.Add(1)
	if s.failRelase.Load() {
		return errStoreDown
	}
	return s.Store.Release(ctx, key, token)
}

// dedupRig is a handler with dedup on, its function's runs and the reasons
// it reported.
type dedupRig struct {
	t       *testing.T
	form    dedupForm
	handler http.Handler
	store   *testStore

	mu      sync.Mutex
	runs    int
	fail    error         // what the function returns
	block   chan struct{} // when set, the function waits for it to close
	started chan struct{} // receives when the function starts
	reasons []error
}

func newDedupRig(t *testing.T, form dedupForm, opts ...kyccb.Option) *dedupRig {
	rig := &dedupRig{t: t, form: form, store: newTestStore(), started: make(chan struct{}, 10)}
	opts = append([]kyccb.Option{
		kyccb.WithDedup(rig.store),
		kyccb.WithErrorHook(func(_ *http.Request, err error) {
			rig.mu.Lock()
			defer rig.mu.Unlock()
			rig.reasons = append(rig.reasons, err)
		}),
	}, opts...)
	rig.handler = form.build(t, rig.process, opts...)
	return rig
}

func (rig *dedupRig) process(context.Context) error {
	rig.mu.Lock()
	rig.runs++
	block, fail := rig.block, rig.fail
	rig.mu.Unlock()
	rig.started <- struct{}{}
	if block != nil {
		<-block
	}
	if fail == errPanic {
		panic(errPanic)
	}
	return fail
}

// deliver sends attempt number attempt of callback id and returns the
// reply.
func (rig *dedupRig) deliver(id string, attempt int) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	rig.handler.ServeHTTP(rec, rig.form.request(rig.t, id, attempt))
	return rec
}

func (rig *dedupRig) set(fail error, block chan struct{}) {
	rig.mu.Lock()
	defer rig.mu.Unlock()
	rig.fail, rig.block = fail, block
}

// check asserts the function's runs so far, and that the reasons reported
// since the last check match want, one sentinel each, in order.
func (rig *dedupRig) check(runs int, want ...error) {
	rig.t.Helper()
	rig.mu.Lock()
	defer rig.mu.Unlock()
	if rig.runs != runs {
		rig.t.Errorf("the function ran %d times, want %d", rig.runs, runs)
	}
	if len(rig.reasons) != len(want) {
		rig.t.Errorf("reported %v, want %d reasons matching %v", rig.reasons, len(want), want)
	} else {
		for i := range want {
			if !errors.Is(rig.reasons[i], want[i]) {
				rig.t.Errorf("reason %d is %v, want one matching %v", i, rig.reasons[i], want[i])
			}
		}
	}
	rig.reasons = nil
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
			t.Run("a duplicate after success is answered 200 without running again", func(t *testing.T) {
				rig := newDedupRig(t, form)
				wantReply(t, rig.deliver("c-1", 0), ok)
				wantReply(t, rig.deliver("c-1", 1), http.StatusOK)
				wantReply(t, rig.deliver("c-1", 2), http.StatusOK)
				rig.check(1)
			})
			t.Run("distinct callbacks each run", func(t *testing.T) {
				rig := newDedupRig(t, form)
				wantReply(t, rig.deliver("c-1", 0), ok)
				wantReply(t, rig.deliver("c-2", 0), ok)
				rig.check(2)
			})
			t.Run("a duplicate during the first run is answered 503 without running", func(t *testing.T) {
				rig := newDedupRig(t, form)
				block := make(chan struct{})
				rig.set(nil, block)
				first := make(chan *httptest.ResponseRecorder)
				go func() { first <- rig.deliver("c-1", 0) }()
				select {
				case <-rig.started:
				case rec := <-first:
					t.Fatalf("the first delivery was answered %d without running the function", rec.Code)
				}
				wantReply(t, rig.deliver("c-1", 1), http.StatusServiceUnavailable)
				close(block)
				wantReply(t, <-first, ok)
				wantReply(t, rig.deliver("c-1", 2), http.StatusOK)
				rig.check(1, kyccb.ErrDuplicateInProgress)
			})
			t.Run("a failed run is released so that the retry runs", func(t *testing.T) {
				rig := newDedupRig(t, form)
				rig.set(errors.New("database down"), nil)
				wantReply(t, rig.deliver("c-1", 0), http.StatusInternalServerError)
				rig.set(nil, nil)
				wantReply(t, rig.deliver("c-1", 1), ok)
				wantReply(t, rig.deliver("c-1", 2), http.StatusOK)
				if form.middleware {
					rig.check(2) // next's failure is next's to report
				} else {
					rig.check(2, kyccb.ErrCallback)
				}
			})
			t.Run("a panicking run is released so that the retry runs", func(t *testing.T) {
				rig := newDedupRig(t, form)
				rig.set(errPanic, nil)
				func() {
					defer func() {
						if p := recover(); p != nil && p != errPanic {
							panic(p)
						}
					}()
					rig.deliver("c-1", 0)
					t.Error("the handler did not pass the panic on")
				}()
				rig.set(nil, nil)
				wantReply(t, rig.deliver("c-1", 1), ok)
				rig.check(2)
			})
			t.Run("an unreachable store refuses the callback with 503", func(t *testing.T) {
				rig := newDedupRig(t, form)
				rig.store.failReserve.Store(true)
				wantReply(t, rig.deliver("c-1", 0), http.StatusServiceUnavailable)
				rig.check(0, kyccb.ErrStoreUnavailable)
				rig.store.failReserve.Store(false)
				wantReply(t, rig.deliver("c-1", 1), ok)
				rig.check(1)
			})
			t.Run("an unreachable store with fail-open runs the function and reports", func(t *testing.T) {
				rig := newDedupRig(t, form, kyccb.WithDedupFailOpen())
				rig.store.failReserve.Store(true)
				wantReply(t, rig.deliver("c-1", 0), ok)
				wantReply(t, rig.deliver("c-1", 1), ok)
				rig.check(2, kyccb.ErrStoreUnavailable, kyccb.ErrStoreUnavailable)
			})
			t.Run("a store that fails to record success still answers success and reports", func(t *testing.T) {
				rig := newDedupRig(t, form)
				rig.store.failConfirm.Store(true)
				wantReply(t, rig.deliver("c-1", 0), ok)
				rig.check(1, kyccb.ErrStoreUnavailable)
			})
			t.Run("unauthenticated requests never reach the store", func(t *testing.T) {
				rig := newDedupRig(t, form)
				rec := httptest.NewRecorder()
				rig.handler.ServeHTTP(rec, forged(t, rig.form.request(t, "c-1", 0)))
				wantReply(t, rec, http.StatusUnauthorized)
				if n := rig.store.calls.Load(); n != 0 {
					t.Errorf("the store was called %d times for a forged callback", n)
				}
				if form.name[0] == 'S' {
					rig.check(0, kyccb.ErrBadSignature)
				} else {
					rig.check(0, kyccb.ErrBadHash)
				}
			})
		})
	}
}

var errPanic = errors.New("test panic")

// forged returns r with the customer id in its body changed, which breaks
// its signature or hash.
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

// TestDedupConcurrentDeliveries delivers one callback 100 times at once
// over a real server, each sender retrying its 503s as senders do: the
// function runs once and every delivery ends in 200.
func TestDedupConcurrentDeliveries(t *testing.T) {
	var runs atomic.Int64
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	defer srv.Close()
	h = kyccb.SEP12(testAddress, srv.URL, func(context.Context, kyccb.Customer) error {
		runs.Add(1)
		time.Sleep(20 * time.Millisecond) // long enough for deliveries to overlap
		return nil
	}, kyccb.WithDedup(kyccb.NewMemoryStore()))

	body := kyccbtest.CustomerBody(t, kyccb.Customer{ID: "c-1", Status: kyccb.StatusAccepted})
	const senders = 100
	var busy atomic.Int64
	var wg sync.WaitGroup
	for i := range senders {
		wg.Go(func() {
			for attempt := range 1000 {
				// Each attempt is signed anew, as the Anchor Platform does.
				sig, err := kyccb.SignSEP12(testSeed, srv.URL, body, time.Now().Add(-time.Duration(i+attempt)%60*time.Second))
				if err != nil {
					t.Error(err)
					return
				}
				req, err := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(body))
				if err != nil {
					t.Error(err)
					return
				}
				req.Header.Set(kyccb.SignatureHeader, sig)
				resp, err := srv.Client().Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				switch resp.StatusCode {
				case http.StatusOK:
					return
				case http.StatusServiceUnavailable:
					busy.Add(1)
					time.Sleep(5 * time.Millisecond)
				default:
					t.Errorf("sender %d got %d", i, resp.StatusCode)
					return
				}
			}
			t.Errorf("sender %d never got 200", i)
		})
	}
	wg.Wait()
	if n := runs.Load(); n != 1 {
		t.Errorf("the function ran %d times for one callback delivered %d times, want once", n, senders)
	}
	t.Logf("%d deliveries answered 503 while the first ran", busy.Load())
}

func TestDedupKeysIncludeTheMode(t *testing.T) {
	// One body, valid in both modes: a shared store must not take the
	// SEP-12 callback for the XGateway one.
	store := kyccb.NewMemoryStore()
	var sepRuns, xgwRuns int
	sep := kyccb.SEP12(testAddress, testHost, func(context.Context, kyccb.Customer) error { sepRuns++; return nil }, kyccb.WithDedup(store))
	xgw := kyccb.XGateway(testSecret, func(context.Context, kyccb.XGatewayKYC) error { xgwRuns++; return nil }, kyccb.WithDedup(store))
	body := kyccbtest.XGatewayBody(t, testSecret, kyccb.XGatewayKYC{CustomerID: "c-1", Status: kyccb.XGatewayStatus("FULL_USER")})
	for range 2 {
		rec := httptest.NewRecorder()
		sep.ServeHTTP(rec, kyccbtest.SEP12Request(t, testSeed, "https://"+testHost+"/kyc", body))
		wantReply(t, rec, http.StatusOK)
		rec = httptest.NewRecorder()
		xgw.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/xgw", bytes.NewReader(body)))
		wantReply(t, rec, http.StatusOK)
	}
	if sepRuns != 1 || xgwRuns != 1 {
		t.Errorf("SEP-12 ran %d times and XGateway %d times, want once each", sepRuns, xgwRuns)
	}
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
// answers duplicates.
func BenchmarkXGatewayDedup(b *testing.B) {
	body := kyccbtest.XGatewayBody(b, testSecret, kyccb.XGatewayKYC{CustomerID: "c-1", Status: kyccb.XGatewayStatus("FULL_USER")})
	fn := func(context.Context, kyccb.XGatewayKYC) error { return nil }
	// A clock that moves past the TTL at each call makes every delivery
	// new to the store.
	var now atomic.Int64
	skip := func() time.Time { return time.Unix(0, now.Add(int64(2*kyccb.DefaultDedupTTL))) }
	handlers := []struct {
		name string
		h    http.Handler
		want int
	}{
		{"without dedup", kyccb.XGateway(testSecret, fn), http.StatusOK},
		{"memory store, new callbacks", kyccb.XGateway(testSecret, fn, kyccb.WithDedup(kyccb.NewMemoryStore(kyccb.WithMemoryClock(skip)))), http.StatusOK},
		{"memory store, duplicates", kyccb.XGateway(testSecret, fn, kyccb.WithDedup(kyccb.NewMemoryStore())), http.StatusOK},
	}
	for _, bh := range handlers {
		b.Run(bh.name, func(b *testing.B) {
			rr := newReusableRequest(body, nil)
			w := &discardWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				rr.serve(bh.h, w)
				if w.code != bh.want {
					b.Fatalf("replied %d", w.code)
				}
			}
		})
	}
}
