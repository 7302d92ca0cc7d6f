package kyccb_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kyccb/kyccb"
)

// bindingStore is a memory store that binds each function's context, as
// package pgstore binds its transaction, and that can be made to fail its
// Confirm, as a failed commit does. onConfirm runs before Confirm.
type bindingStore struct {
	testStore
	onConfirm func()
}

type boundKey struct{}

func (s *bindingStore) Bind(ctx context.Context, key, token string) context.Context {
	return context.WithValue(ctx, boundKey{}, token)
}

func (s *bindingStore) Confirm(ctx context.Context, key, token string, d kyccb.Delivery, ttl time.Duration) error {
	if s.onConfirm != nil {
		s.onConfirm()
	}
	return s.testStore.Confirm(ctx, key, token, d, ttl)
}

// The middleware form with a BindingStore: next runs with the bound
// context, and its reply reaches the sender only after Confirm committed;
// a failed Confirm after a 2xx is a 503.
func TestDedupBindingStoreMiddleware(t *testing.T) {
	store := &bindingStore{testStore: testStore{Store: kyccb.NewMemoryStore()}}
	var reported atomic.Value
	v := dedupSEP12Verifier(t, kyccb.WithDedup(store), kyccb.WithErrorHook(func(_ *http.Request, err error) {
		reported.Store(err)
	}))
	var status atomic.Int64
	var bound atomic.Bool
	h := v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, ok := r.Context().Value(boundKey{}).(string)
		bound.Store(ok)
		w.Header().Set("X-Next", "yes")
		w.WriteHeader(int(status.Load()))
		io.WriteString(w, "next's reply\n")
	}))

	t.Run("the reply waits for Confirm", func(t *testing.T) {
		status.Store(http.StatusCreated)
		rec := httptest.NewRecorder()
		var before string
		store.onConfirm = func() {
			if rec.Body.Len() != 0 || rec.Header().Get("X-Next") != "" {
				before = "next's reply reached the sender before Confirm"
			}
		}
		defer func() { store.onConfirm = nil }()
		h.ServeHTTP(rec, sep12Delivery(t, "bound", "ACCEPTED", 0))
		if before != "" {
			t.Error(before)
		}
		if rec.Code != http.StatusCreated || rec.Body.String() != "next's reply\n" || rec.Header().Get("X-Next") != "yes" {
			t.Errorf("reply %d %q (X-Next %q), want next's 201 with its body and header", rec.Code, rec.Body, rec.Header().Get("X-Next"))
		}
		if !bound.Load() {
			t.Error("next's request did not carry the store's bound context")
		}
	})
	t.Run("a failed Confirm after a 2xx is a 503", func(t *testing.T) {
		status.Store(http.StatusOK)
		store.failConfirm.Store(true)
		defer store.failConfirm.Store(false)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, sep12Delivery(t, "lost", "ACCEPTED", 0))
		if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" || rec.Header().Get("X-Next") != "" {
			t.Errorf("reply %d (Retry-After %q, X-Next %q), want 503 with Retry-After and nothing of next's",
				rec.Code, rec.Header().Get("Retry-After"), rec.Header().Get("X-Next"))
		}
		if err, _ := reported.Load().(error); !errors.Is(err, kyccb.ErrStoreUnavailable) {
			t.Errorf("reported %v, want ErrStoreUnavailable", err)
		}
	})
	t.Run("a failure of next is its own reply, and releases the lease", func(t *testing.T) {
		status.Store(http.StatusInternalServerError)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, sep12Delivery(t, "fails", "ACCEPTED", 0))
		if rec.Code != http.StatusInternalServerError || rec.Body.String() != "next's reply\n" {
			t.Errorf("reply %d %q, want next's 500", rec.Code, rec.Body)
		}
		status.Store(http.StatusOK)
		rec = httptest.NewRecorder()
		h.ServeHTTP(rec, sep12Delivery(t, "fails", "ACCEPTED", 1))
		if rec.Code != http.StatusOK || rec.Body.String() != "next's reply\n" {
			t.Errorf("the retry got %d %q, want next's 200: the lease was not released", rec.Code, rec.Body)
		}
	})
}

func TestDedupFailOpenRefusesABindingStore(t *testing.T) {
	store := &bindingStore{testStore: testStore{Store: kyccb.NewMemoryStore()}}
	keys, err := kyccb.ParseKeys(testAddress)
	if err != nil {
		t.Fatal(err)
	}
	_, err = kyccb.NewSEP12Verifier(keys, testHost, kyccb.WithDedup(store), kyccb.WithDedupFailOpen())
	if !errors.Is(err, kyccb.ErrConfig) {
		t.Errorf("WithDedupFailOpen with a BindingStore = %v, want ErrConfig", err)
	}
}
