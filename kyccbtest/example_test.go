package kyccbtest_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/kyccb/kyccb"
	"github.com/kyccb/kyccb/kyccbtest"
)

// A test of a wallet's SEP-12 handler with a throwaway anchor key.
func ExampleSEP12Request() {
	t := exampleTB{} // in a real test: the *testing.T
	anchor := kyccbtest.NewKeyPair(t)
	const callbackURL = "https://wallet.example.org/kyc"
	h := kyccb.SEP12(anchor.Address, callbackURL, func(_ context.Context, c kyccb.Customer) error {
		fmt.Println("got", c.ID, c.Status)
		return nil
	})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, kyccbtest.SEP12Request(t, anchor.Seed, callbackURL, kyccb.Customer{ID: "cust-1", Status: kyccb.StatusAccepted}))
	fmt.Println(rec.Code)
	// Output:
	// got cust-1 ACCEPTED
	// 200
}

// A test of a wallet's transaction handler: a completed deposit, typed.
func ExampleTransactionRequest() {
	t := exampleTB{}
	anchor := kyccbtest.NewKeyPair(t)
	const callbackURL = "https://wallet.example.org/callbacks/tx"
	h := kyccb.Transactions(anchor.Address, callbackURL, func(_ context.Context, tx kyccb.Transaction) error {
		fmt.Println("got", tx.ID, tx.Kind, tx.Status, tx.AmountOut, tx.UpdatedAt.Format(time.RFC3339))
		return nil
	})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, kyccbtest.TransactionRequest(t, anchor.Seed, callbackURL, kyccb.Transaction{
		ID: "tx-1", Kind: kyccb.KindDeposit, Status: kyccb.TransactionCompleted, AmountOut: "99.50",
		UpdatedAt: time.Date(2026, 12, 2, 10, 5, 0, 0, time.UTC),
	}))
	fmt.Println(rec.Code)
	// Output:
	// got tx-1 deposit completed 99.50 2026-12-02T10:05:00Z
	// 200
}

// Every XGateway callback type is built the same way.
func ExampleXGatewayRequest() {
	t := exampleTB{}
	const secret = "merchant-secret"
	h := kyccb.XGateway(secret, func(context.Context, kyccb.XGatewayKYC) error { return nil },
		kyccb.WithXGatewayTransaction(func(_ context.Context, tx kyccb.XGatewayTransaction) error {
			fmt.Println("transaction", tx.ID, tx.Amount, tx.Currency)
			return nil
		}),
		kyccb.WithLogger(slog.New(slog.DiscardHandler)))
	for _, r := range []*http.Request{
		kyccbtest.XGatewayRequest(t, secret, "https://merchant.example/xgw", kyccb.XGatewayTransaction{ID: "77", CustomerID: "cust-1", Amount: "12.50", Currency: "EUR", Status: "COMPLETED"}),
		kyccbtest.XGatewayRequest(t, "another-secret", "https://merchant.example/xgw", kyccb.XGatewayKYC{CustomerID: "cust-1", Status: kyccb.XGatewayFullUser}),
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		fmt.Println(rec.Code)
	}
	// Output:
	// transaction 77 12.50 EUR
	// 200
	// 401
}

// exampleTB stands in for the *testing.T that a real test has.
type exampleTB struct{ testing.TB }

func (exampleTB) Helper() {}

func (exampleTB) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }
