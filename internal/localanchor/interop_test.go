package localanchor_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kyccb/kyccb"
	"github.com/kyccb/kyccb/internal/jsinterop"
	"github.com/kyccb/kyccb/internal/localanchor"
	"github.com/stellar/go-stellar-sdk/keypair"
)

// TestInteropJSAuthenticate checks the anchor's SEP-10 server against a
// client it did not write: the Stellar JavaScript SDK reads the anchor's
// challenge with WebAuth.readChallengeTx (which checks the server
// signature, time bounds, home domain and web auth domain), signs it and
// posts it back (testdata/interop/sep10.mjs); the JWT it gets must open
// GET /customer.
//
// Without node or the SDK it is skipped, unless KYCCB_REQUIRE_INTEROP=1;
// install the SDK with `npm ci --prefix testdata/interop`.
func TestInteropJSAuthenticate(t *testing.T) {
	jsinterop.Dir(t) // skip early, before the anchor starts
	a, _ := startAnchor(t, localanchor.Config{})
	type authenticate struct {
		WebAuthEndpoint   string `json:"web_auth_endpoint"`
		ServerKey         string `json:"server_key"`
		HomeDomain        string `json:"home_domain"`
		WebAuthDomain     string `json:"web_auth_domain"`
		NetworkPassphrase string `json:"network_passphrase"`
		AccountSeed       string `json:"account_seed"`
	}
	st := fetchTOML(t, a)
	var reply struct {
		Token string `json:"token"`
	}
	jsinterop.Run(t, "sep10.mjs", map[string]authenticate{"authenticate": {
		WebAuthEndpoint:   st.WebAuthEndpoint,
		ServerKey:         st.SigningKey,
		HomeDomain:        domain(a),
		WebAuthDomain:     domain(a),
		NetworkPassphrase: st.NetworkPassphrase,
		AccountSeed:       keypair.MustRandom().Seed(),
	}}, &reply)
	if reply.Token == "" {
		t.Fatal("no token")
	}
	if code, body := call(t, http.MethodGet, a.URL()+"/customer", reply.Token, "", nil); code != http.StatusOK {
		t.Errorf("GET /customer with the JavaScript SDK's JWT = %d %s", code, body)
	}
}

// walletSDKReply is what testdata/walletsdk/walletsdk.mjs writes.
type walletSDKReply struct {
	Error string
	Step  string
	SEP1  struct {
		OrgName, WebAuthEndpoint, KYCServer, TransferServer string
	} `json:"sep1"`
	SEP10                  struct{ Account, Token string } `json:"sep10"`
	Add                    struct{ ID string }
	Get                    kyccb.Customer
	GetUpdated             kyccb.Customer `json:"get_updated"`
	Update                 struct{ ID string }
	Delete                 string
	GetDeleted             json.RawMessage `json:"get_deleted"`
	SEP6Info               json.RawMessage `json:"sep6_info"`
	Deposit                struct{ ID string }
	Transaction            sep6Transaction
	CustomerForTransaction kyccb.Customer      `json:"customer_for_transaction"`
	PutForTransaction      struct{ ID string } `json:"put_for_transaction"`
	TransactionAfterKYC    sep6Transaction     `json:"transaction_after_kyc"`
	Transactions           []sep6Transaction
}

// TestInteropWalletSDK runs the official Stellar TypeScript wallet SDK
// (@stellar/typescript-wallet-sdk, testdata/walletsdk), unchanged, against
// the anchor as a wallet team would: sep1, sep10, then sep12's add, get,
// update (multipart, with a file), delete. The SDK compares the
// challenge's web_auth_domain with the endpoint's host without its port,
// so it needs WebAuthDomain "127.0.0.1" (`kyccb anchor --web-auth-domain
// 127.0.0.1`); without it, its sep10 fails, which the second case shows.
//
// Without node or the SDK it is skipped, unless KYCCB_REQUIRE_INTEROP=1;
// install the SDK with `npm ci --prefix testdata/walletsdk`.
func TestInteropWalletSDK(t *testing.T) {
	jsinterop.WalletSDKDir(t)
	t.Run("SEP-1, SEP-10 and SEP-12", func(t *testing.T) {
		a, rec := startAnchor(t, localanchor.Config{WebAuthDomain: "127.0.0.1", Every: time.Hour})
		kp := keypair.MustRandom()
		var r walletSDKReply
		jsinterop.RunWalletSDK(t, "walletsdk.mjs", map[string]any{"home_domain": domain(a), "account_seed": kp.Seed(), "steps": []string{"sep12"}}, &r)
		if r.Error != "" {
			t.Fatalf("the wallet SDK failed at %s: %s", r.Step, r.Error)
		}
		if r.SEP1.OrgName != localanchor.OrgName || r.SEP1.KYCServer != a.URL() || r.SEP1.WebAuthEndpoint != a.WebAuthEndpoint() {
			t.Errorf("sep1 = %+v", r.SEP1)
		}
		if r.SEP10.Account != kp.Address() {
			t.Errorf("sep10's token is for %q, want %s", r.SEP10.Account, kp.Address())
		}
		if code, body := call(t, http.MethodGet, a.URL()+"/customer", r.SEP10.Token, "", nil); code != http.StatusOK {
			t.Errorf("GET /customer with the SDK's JWT = %d %s", code, body)
		}
		if r.Add.ID == "" || r.Get.ID != r.Add.ID || r.Get.Status != kyccb.StatusNeedsInfo || r.Get.Fields["email_address"].Type != "string" {
			t.Errorf("add %+v, then get %+v: want the customer, NEEDS_INFO, asked for email_address", r.Add, r.Get)
		}
		if r.Update.ID != r.Add.ID || r.GetUpdated.Status != kyccb.StatusProcessing ||
			r.GetUpdated.ProvidedFields["photo_id_front"].Type != "binary" || r.GetUpdated.ProvidedFields["email_address"].Type != "string" {
			t.Errorf("update %+v, then get %+v: want the customer PROCESSING, with the photo binary", r.Update, r.GetUpdated)
		}
		if r.Delete != "deleted" || string(r.GetDeleted) != "404" {
			t.Errorf("delete %q, then get %s: want 404", r.Delete, r.GetDeleted)
		}
		if evs := rec.all(localanchor.EventRefused); len(evs) != 1 {
			// The one refusal is the get after delete.
			t.Errorf("refused requests: %v, want the get after delete only", evs)
		}
	})
	t.Run("SEP-6 deposit through pending_customer_info_update", func(t *testing.T) {
		// The review never ends by itself: the test ends it, by hand.
		a, _ := startAnchor(t, localanchor.Config{WebAuthDomain: "127.0.0.1", Every: time.Hour})
		cb := newCallbackLog(t, a.SigningKey())
		var r walletSDKReply
		jsinterop.RunWalletSDK(t, "walletsdk.mjs", map[string]any{"home_domain": domain(a), "account_seed": keypair.MustRandom().Seed(),
			"steps": []string{"sep6"}, "on_change_callback": cb.url("/tx")}, &r)
		if r.Error != "" {
			t.Fatalf("the wallet SDK failed at %s: %s", r.Step, r.Error)
		}
		if r.SEP1.TransferServer != a.URL() || !strings.Contains(string(r.SEP6Info), `"USDC"`) {
			t.Errorf("TRANSFER_SERVER %q, info %s", r.SEP1.TransferServer, r.SEP6Info)
		}
		if r.Deposit.ID == "" || r.Transaction.ID != r.Deposit.ID || r.Transaction.Status != localanchor.TxPendingCustomerInfoUpdate || len(r.Transaction.RequiredCustomerInfoUpdates) != 3 {
			t.Errorf("deposit %+v, then the transaction %+v: want pending_customer_info_update, three fields to give", r.Deposit, r.Transaction)
		}
		if r.CustomerForTransaction.Status != kyccb.StatusNeedsInfo || r.PutForTransaction.ID == "" || r.TransactionAfterKYC.Status != localanchor.TxPendingAnchor {
			t.Errorf("customer %+v, put %+v, then the transaction %+v: want NEEDS_INFO, then pending_anchor", r.CustomerForTransaction, r.PutForTransaction, r.TransactionAfterKYC)
		}
		if len(r.Transactions) != 1 || r.Transactions[0].ID != r.Deposit.ID {
			t.Errorf("transactions %+v, want the deposit", r.Transactions)
		}
		// Accepted by hand: pending_user_transfer_start.
		if code, body := call(t, http.MethodPost, a.URL()+"/admin/customers/"+r.PutForTransaction.ID+"/status", "", "", []byte(`{"status":"ACCEPTED"}`)); code != http.StatusOK {
			t.Fatalf("admin = %d %s", code, body)
		}
		var order []string
		for _, g := range cb.wait(t, 3) {
			order = append(order, summary(t, g))
		}
		if diff := cmp.Diff([]string{"/tx pending_customer_info_update", "/tx pending_anchor", "/tx pending_user_transfer_start"}, order); diff != "" {
			t.Errorf("transaction callbacks (-want +got):\n%s", diff)
		}
	})
	t.Run("Without the web auth domain flag, the SDK's sep10 fails", func(t *testing.T) {
		a, _ := startAnchor(t, localanchor.Config{})
		var r walletSDKReply
		jsinterop.RunWalletSDK(t, "walletsdk.mjs", map[string]any{"home_domain": domain(a), "account_seed": keypair.MustRandom().Seed(), "steps": []string{}}, &r)
		if r.Step != "sep10" || !strings.Contains(r.Error, "web_auth_domain") {
			t.Errorf("the SDK's run: step %q, error %q; want sep10 to fail on web_auth_domain", r.Step, r.Error)
		}
	})
}

// sep6Transaction is the part of a SEP-6 transaction the tests read.
type sep6Transaction struct {
	ID, Kind, Status            string
	StartedAt                   time.Time `json:"started_at"`
	UpdatedAt                   time.Time `json:"updated_at"`
	RequiredCustomerInfoUpdates []string  `json:"required_customer_info_updates"`
	RequiredCustomerInfoMessage string    `json:"required_customer_info_message"`
}
