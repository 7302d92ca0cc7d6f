package sep10_test

import (
	"context"
	"fmt"
	"log"
	"net"
	"time"

	"github.com/kyccb/kyccb/internal/localanchor"
	"github.com/kyccb/kyccb/wallet"
	"github.com/kyccb/kyccb/wallet/sep10"
	"github.com/stellar/go-stellar-sdk/keypair"
)

// A wallet keeps one token source per account and asks it for the JWT
// before each call to the anchor: it signs in once, and again only
// shortly before the JWT expires. The anchor is the local one `kyccb
// anchor` runs, on loopback; its JWTs last an hour.
func ExampleNewTokenSource() {
	ctx := context.Background()
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
	toml, err := wallet.StellarTOML(ctx, domain)
	if err != nil {
		log.Fatal(err)
	}
	a, err := sep10.FromTOML(domain, toml)
	if err != nil {
		log.Fatal(err)
	}
	tokens, err := sep10.NewTokenSource(a, keypair.MustRandom().Seed())
	if err != nil {
		log.Fatal(err)
	}

	var first string
	for i := range 3 {
		jwt, err := tokens.Token(ctx)
		if err != nil {
			log.Fatal(err)
		}
		if i == 0 {
			first = jwt
		}
		c, err := wallet.GetCustomer(ctx, anchor.URL(), jwt, wallet.CustomerQuery{})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("customer", c.Status, "read with the first JWT:", jwt == first)
	}
	// Output:
	// customer NEEDS_INFO read with the first JWT: true
	// customer NEEDS_INFO read with the first JWT: true
	// customer NEEDS_INFO read with the first JWT: true
}
