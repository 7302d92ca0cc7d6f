package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kyccb/kyccb"
	"github.com/kyccb/kyccb/kyccbtest"
)

// kyccb verify reads the transaction vectors of the Anchor Platform and
// django-polaris as the library does, and says why a refused one is.
func TestVerifyTransactionVectors(t *testing.T) {
	raw, err := os.ReadFile("../../testdata/transactions.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Vectors []struct {
			Name       string            `json:"name"`
			SigningKey string            `json:"signing_key"`
			Host       string            `json:"host"`
			Now        int64             `json:"now"`
			Headers    map[string]string `json:"headers"`
			Body       string            `json:"body"`
			Valid      bool              `json:"valid"`
			Reason     string            `json:"reason"`
			Want       struct {
				ID     string `json:"id"`
				Status string `json:"status"`
			} `json:"want"`
		}
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for i, c := range file.Vectors {
		t.Run(c.Name, func(t *testing.T) {
			body := filepath.Join(dir, strconv.Itoa(i)+".json")
			if err := os.WriteFile(body, []byte(c.Body), 0o600); err != nil {
				t.Fatal(err)
			}
			args := []string{"verify", "--body-file", body, "--json", "--signing-key", c.SigningKey, "--host", c.Host,
				"--at", strconv.FormatInt(c.Now, 10)}
			for name, value := range c.Headers {
				args = append(args, "--header", name+": "+value)
			}
			code, out, errOut := runCmd(t, args...)
			if c.Name == "ap_customer_body" {
				// The command takes both kinds, as CombinedHandler does:
				// to it, this is a genuine customer callback.
				if code != exitOK || !strings.Contains(out, `"customer_id":"d1ce2f48-3ff1-495d-9240-7a50d806cfed"`) {
					t.Errorf("exit %d, want a customer callback accepted\n%s%s", code, out, errOut)
				}
				return
			}
			want := exitOK
			if !c.Valid {
				want = exitRejected
			}
			if code != want {
				t.Fatalf("exit %d, want %d\n%s%s", code, want, out, errOut)
			}
			var r report
			if err := json.Unmarshal([]byte(out), &r); err != nil {
				t.Fatal(err)
			}
			if c.Valid {
				if r.TransactionID != c.Want.ID || r.Status != c.Want.Status || r.CallbackType != "transaction" || r.CustomerID != "" {
					t.Errorf("transaction %q status %q type %q customer %q, want %q %q transaction", r.TransactionID, r.Status, r.CallbackType, r.CustomerID, c.Want.ID, c.Want.Status)
				}
				return
			}
			if r.TransactionID != "" || r.Status != "" || len(r.Diagnosis) == 0 {
				t.Errorf("a rejection with transaction %q, status %q, diagnosis %q", r.TransactionID, r.Status, r.Diagnosis)
			}
			if c.Reason == "body" && !strings.Contains(r.Reason, "malformed body") {
				t.Errorf("reason %q, want a malformed body", r.Reason)
			}
		})
	}
}

// kyccb listen decodes a transaction callback, refuses a customer body
// without a status, and says when a transaction cannot be ordered.
func TestListenTransactions(t *testing.T) {
	anchor := kyccbtest.NewKeyPair(t)
	l := startListen(t, "--signing-key", anchor.Address, "--json")
	post := func(body []byte) int {
		t.Helper()
		r := kyccbtest.SignedRequest(t, anchor.Seed, l.url+"/cb", body, time.Now())
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	updated := time.Date(2026, 12, 2, 10, 5, 0, 0, time.UTC)
	if code := post(kyccbtest.TransactionBody(t, kyccb.Transaction{ID: "tx-1", Kind: kyccb.KindWithdrawal,
		Status: kyccb.TransactionPendingCustomerInfoUpdate, UpdatedAt: updated, RequiredCustomerInfoUpdates: []string{"id_number"}})); code != 200 {
		t.Errorf("a transaction callback got %d, want 200", code)
	}
	if code := post(kyccbtest.TransactionBody(t, kyccb.Transaction{ID: "tx-2", Status: kyccb.TransactionCompleted})); code != 200 {
		t.Errorf("a transaction callback without updated_at got %d, want 200", code)
	}
	if code := post([]byte(`{"id":"c-1"}`)); code != 400 {
		t.Errorf("a customer body without a status got %d, want 400", code)
	}
	reps := l.reports(t)
	if len(reps) != 3 {
		t.Fatalf("%d reports, want 3", len(reps))
	}
	a, b, c := reps[0], reps[1], reps[2]
	if a.Verdict != "accepted" || a.TransactionID != "tx-1" || a.Status != "pending_customer_info_update" || a.CallbackType != "transaction" {
		t.Errorf("first report: %+v", a)
	}
	var payload kyccb.Transaction
	if err := json.Unmarshal(a.Payload, &payload); err != nil || !payload.UpdatedAt.Equal(updated) || payload.Kind != kyccb.KindWithdrawal {
		t.Errorf("payload %s (%v), want the transaction with its updated_at", a.Payload, err)
	}
	if b.Verdict != "accepted" || !strings.Contains(strings.Join(b.Notes, " "), "no updated_at") {
		t.Errorf("second report: verdict %s, notes %q; want a note that it cannot be ordered", b.Verdict, b.Notes)
	}
	if c.Verdict != "rejected" || c.HTTPStatus != 400 || !strings.Contains(c.Reason, "neither a customer with a status nor a transaction") {
		t.Errorf("third report: verdict %s, status %d, reason %q", c.Verdict, c.HTTPStatus, c.Reason)
	}
}
