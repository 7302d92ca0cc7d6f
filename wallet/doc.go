// Package wallet makes a wallet's calls to a Stellar anchor about KYC
// callbacks: reading the anchor's stellar.toml, trusting its signing key,
// and registering a callback URL with its KYC server.
//
// For most uses, call [NewTOMLKeys] to verify callbacks with the anchor's
// current SIGNING_KEY, then [KYCServer] and [RegisterCallback] to have them
// sent:
//
//	keys, err := wallet.NewTOMLKeys("anchor.example.com")
//	...
//	v, err := kyccb.NewSEP12Verifier(keys, "https://wallet.example.org/kyc")
//	...
//	mux.Handle("/kyc", v.Handler(onCustomer))
//
//	server, err := wallet.KYCServer(ctx, "anchor.example.com")
//	...
//	err = wallet.RegisterCallback(ctx, server, jwt, wallet.CallbackRegistration{
//		URL: "https://wallet.example.org/kyc",
//		ID:  customerID,
//	})
//
// The JWT comes from the anchor's SEP-10 server, whose WEB_AUTH_ENDPOINT
// and NETWORK_PASSPHRASE [StellarTOML] reads.
//
// # stellar.toml
//
// An anchor's stellar.toml ([SEP-1]) is fetched from
// https://{domain}/.well-known/stellar.toml, following redirects only to
// https, reading at most SEP-1's 100 KiB, within the request timeout. A
// SIGNING_KEY must be a Stellar public key and never one of small order
// (under which signatures made without any secret verify); KYC_SERVER,
// TRANSFER_SERVER and WEB_AUTH_ENDPOINT must be https URLs.
//
// # Local anchors
//
// For tests and development, domain may be a loopback host with a port
// ("127.0.0.1:8000", "[::1]:8000", "localhost:8000"). Its stellar.toml is
// fetched over plain http, and may name plain-http URLs on a loopback host.
// No other stellar.toml may: a public anchor's file naming
// http://127.0.0.1:8000 as its KYC_SERVER or WEB_AUTH_ENDPOINT would have
// the wallet send its JWT to whatever listens on that port of the wallet's
// own machine. Every other domain is a bare host name, fetched over https.
//
// # Errors
//
// Unusable arguments and options are errors matching kyccb.ErrConfig,
// returned before any request. A stellar.toml that cannot be used is
// [ErrTOML]; an anchor's refusal is an [*AnchorError]. No error repeats a
// JWT or a URL, which may hold a token in its query.
//
// [SEP-1]: https://github.com/stellar/stellar-protocol/blob/master/ecosystem/sep-0001.md
package wallet
