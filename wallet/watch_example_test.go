package wallet_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/kyccb/kyccb"
	"github.com/kyccb/kyccb/internal/localanchor"
	"github.com/kyccb/kyccb/wallet"
	"github.com/kyccb/kyccb/wallet/sep10"
	"github.com/stellar/go-stellar-sdk/keypair"
)

// watcher keeps a wallet's record of its customers' KYC status up to date
// from an anchor's callbacks: it treats each one as a prompt to read the
// customer's current status, applies that, and registers again when the
// status becomes ACCEPTED or REJECTED, after which the anchor would send
// nothing more.
type watcher struct {
	server      string // the anchor's KYC server
	callbackURL string // where the anchor sends callbacks
	tokens      *sep10.TokenSource

	mu     sync.Mutex              // held from read to apply: see onCallback
	status map[string]kyccb.Status // the wallet's record, by customer id
}

// onCallback is the function the verifying handler calls with each
// callback, once its signature has been checked.
func (w *watcher) onCallback(ctx context.Context, cb kyccb.Customer) error {
	// Reading and applying under one lock: two callbacks handled at once
	// cannot apply their reads in the opposite order. A wallet with many
	// customers would lock per customer.
	w.mu.Lock()
	defer w.mu.Unlock()

	jwt, err := w.tokens.Token(ctx)
	if err != nil {
		return err // the handler answers 500: the anchor tries again later
	}
	c, err := wallet.GetCustomer(ctx, w.server, jwt, wallet.CustomerQuery{ID: cb.ID})
	var ae *wallet.AnchorError
	switch {
	case errors.As(err, &ae) && ae.StatusCode == http.StatusUnauthorized:
		w.tokens.Expire(jwt) // refused before its exp: sign in again next time
		return err
	case errors.As(err, &ae) && ae.StatusCode == http.StatusNotFound:
		return nil // not a customer of this wallet: nothing to apply
	case err != nil:
		return err
	}
	fmt.Printf("callback says %s, anchor says %s\n", cb.Status, c.Status)

	if w.status[c.ID] == c.Status {
		return nil // already applied
	}
	w.status[c.ID] = c.Status
	fmt.Println("  applied", c.Status)
	if c.Status == kyccb.StatusAccepted || c.Status == kyccb.StatusRejected {
		// Registering on the change only, not on every callback that
		// reports a final status: an anchor that answers a registration
		// with a callback would otherwise be asked again and again.
		reg := wallet.CallbackRegistration{URL: w.callbackURL, ID: c.ID}
		if err := wallet.RegisterCallback(ctx, w.server, jwt, reg); err != nil {
			return err
		}
		fmt.Println("  registered again, to keep watching")
	}
	return nil
}

// A wallet reads the current status on each callback and applies that,
// not the callback's body: SEP-12 callbacks carry no time, and an anchor
// retries and may deliver them late. Here the first callback is held up
// until the customer has moved on, so that the status it carries is stale
// when it is handled. The anchor is the local one `kyccb anchor` runs, on
// loopback, driven by hand.
func Example_watch() {
	ctx := context.Background()

	// The anchor, on loopback.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	anchor, err := localanchor.New(localanchor.Config{Addr: l.Addr().String(), Every: time.Hour})
	if err != nil {
		log.Fatal(err)
	}
	serving, stop := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- anchor.Serve(serving, l) }()
	defer func() { stop(); <-done }()
	domain := l.Addr().String()

	// The wallet: what the anchor's stellar.toml says, a token source for
	// the customer's account, and a handler for callbacks.
	toml, err := wallet.StellarTOML(ctx, domain)
	if err != nil {
		log.Fatal(err)
	}
	auth, err := sep10.FromTOML(domain, toml)
	if err != nil {
		log.Fatal(err)
	}
	tokens, err := sep10.NewTokenSource(auth, keypair.MustRandom().Seed())
	if err != nil {
		log.Fatal(err)
	}
	server, err := wallet.KYCServer(ctx, domain)
	if err != nil {
		log.Fatal(err)
	}
	keys, err := wallet.NewTOMLKeys(domain)
	if err != nil {
		log.Fatal(err)
	}
	walletSrv := httptest.NewUnstartedServer(nil)
	w := &watcher{
		server:      server,
		callbackURL: "http://" + walletSrv.Listener.Addr().String() + "/kyc",
		tokens:      tokens,
		status:      map[string]kyccb.Status{},
	}
	v, err := kyccb.NewSEP12Verifier(keys, w.callbackURL)
	if err != nil {
		log.Fatal(err)
	}
	handled := make(chan struct{})
	hold := make(chan struct{})
	var held sync.Once
	h := v.Handler(func(ctx context.Context, cb kyccb.Customer) error {
		held.Do(func() { handled <- struct{}{}; <-hold }) // the late delivery
		defer func() { handled <- struct{}{} }()
		return w.onCallback(ctx, cb)
	})
	walletSrv.Config.Handler = h
	walletSrv.Start()
	defer walletSrv.Close()

	// The customer: registering the callback URL makes one, NEEDS_INFO.
	jwt, err := tokens.Token(ctx)
	if err != nil {
		log.Fatal(err)
	}
	if err := wallet.RegisterCallback(ctx, server, jwt, wallet.CallbackRegistration{URL: w.callbackURL}); err != nil {
		log.Fatal(err)
	}
	c, err := wallet.GetCustomer(ctx, server, jwt, wallet.CustomerQuery{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("customer is", c.Status)

	// The anchor reviews the customer: PROCESSING, whose callback is held
	// up, then ACCEPTED. Later it asks for more: NEEDS_INFO, which the
	// wallet hears of only because it registered again.
	setStatus := func(status string) {
		resp, err := http.Post(anchor.URL()+"/admin/customers/"+c.ID+"/status", "application/json",
			strings.NewReader(`{"status":"`+status+`"}`))
		if err != nil {
			log.Fatal(err)
		}
		resp.Body.Close()
	}
	setStatus("PROCESSING")
	<-handled // the PROCESSING callback arrived and waits
	setStatus("ACCEPTED")
	close(hold)
	<-handled // PROCESSING
	<-handled // ACCEPTED
	setStatus("NEEDS_INFO")
	<-handled

	// Output:
	// customer is NEEDS_INFO
	// callback says PROCESSING, anchor says ACCEPTED
	//   applied ACCEPTED
	//   registered again, to keep watching
	// callback says ACCEPTED, anchor says ACCEPTED
	// callback says NEEDS_INFO, anchor says NEEDS_INFO
	//   applied NEEDS_INFO
}
