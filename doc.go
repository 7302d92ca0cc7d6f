// Package kyccb authenticates incoming KYC status callbacks and hands them to
// application code as typed values.
//
// For most uses, call [SEP12] for callbacks from Stellar anchors or [XGateway]
// for callbacks from the XGateway payment gateway, and mount the returned
// handler on the callback URL you registered:
//
//	mux.Handle("/kyc", kyccb.SEP12(anchorSigningKey, "wallet.example.org", onCustomer))
//	mux.Handle("/xgw", kyccb.XGateway(merchantSecret, onKYC))
//
// The function you pass runs only for callbacks that passed authentication; it
// receives the request's context and the decoded payload. A nil return answers
// 200; an error answers 500, so the sender delivers the callback again.
//
// # Signatures
//
// SEP-12 callbacks carry an ed25519 signature in the Signature header (or the
// deprecated X-Stellar-Signature header) over "<t>.<host>.<body>", where t is
// the unix time in the header, host is the host the wallet registered (never
// the request's Host header, which proxies rewrite) and body is the exact bytes
// received. [SEP12Verifier.Verify] checks one such request apart from HTTP;
// [SignSEP12] makes the header value an anchor sends. A request whose header
// is missing, malformed or outside [DefaultTolerance] is rejected before its
// body is read.
//
// XGateway callbacks carry a base64 SHA-512 "hash" field over selected fields
// and the merchant's secret; see [XGatewayHash]. This is a plain hash without a
// timestamp: anyone who saw one KYC callback for a customer can replay it. Treat
// an XGateway callback as a hint, deduplicate it and confirm through
// XGateway's API before anything irreversible.
//
// # Both ends
//
// A wallet finds an anchor's KYC server with [KYCServer], registers its
// callback URL there with [RegisterCallback], and trusts the anchor's
// current SIGNING_KEY through [NewTOMLKeys], which reads it from the
// anchor's stellar.toml and follows key rotations:
//
//	keys, err := kyccb.NewTOMLKeys("anchor.example.com")
//	...
//	v, err := kyccb.NewSEP12Verifier(keys, "https://wallet.example.org/kyc")
//	...
//	mux.Handle("/kyc", v.Handler(onCustomer))
//
// An anchor signs and delivers callbacks, with retries, through
// [NewSEP12Sender]; a [Signer] signs for anchors with delivery code of their
// own. [NewXGatewaySender] plays XGateway in simulations and tests.
//
// # Duplicates
//
// Both senders retry, and replicas behind a load balancer each receive some
// of the deliveries. [WithDedup] with a [Store] runs the function once per
// distinct callback: [NewMemoryStore] within one process, the Redis store of
// package github.com/kyccb/kyccb/redisstore across replicas. It dedupes
// deliveries; it does not order them.
//
// # Errors
//
// Every rejection is an error that matches one of the exported sentinels
// ([ErrMissingSignature], [ErrBadSignature], ...) with [errors.Is]. Handlers
// reply with fixed text and pass the error, with a diagnosis where one is
// cheap to find, to the hook set by [WithErrorHook] and the logger set by
// [WithLogger]. Reply bodies never contain a secret, a signature, an expected
// value or the error returned by your function.
//
// # Testing
//
// Package [github.com/kyccb/kyccb/kyccbtest] builds signed requests and
// throwaway anchor keys for tests of your own handlers.
//
// [SEP-12]: https://github.com/stellar/stellar-protocol/blob/master/ecosystem/sep-0012.md
package kyccb
