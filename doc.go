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
// This package is the receiving side only. Package
// [github.com/kyccb/kyccb/send] signs and delivers callbacks, as an anchor
// (or XGateway) does; package [github.com/kyccb/kyccb/wallet] makes the
// wallet's calls to an anchor (stellar.toml, key rotation, callback
// registration) and its subpackage sep10 obtains the SEP-10 token they need.
//
// # Signatures
//
// SEP-12 callbacks carry an ed25519 signature in the Signature header (or the
// deprecated X-Stellar-Signature header) over "<t>.<host>.<body>", where t is
// the unix time in the header, host is the host the wallet registered (never
// the request's Host header, which proxies rewrite) and body is the exact bytes
// received, which must be a JSON object. [SEP12Verifier.Verify] checks one
// such request apart from HTTP, for other frameworks; the handlers are thin
// wrappers around it. [SignSEP12] makes the header value an anchor sends. A
// request whose header is missing, malformed or outside [DefaultTolerance]
// is rejected before its body is read. Keys of small order, under which
// signatures made without any secret verify, are refused wherever a key
// enters.
//
// The signature covers neither the path nor the query of the callback URL: a
// callback signed for /kyc/user-A is just as valid at /kyc/user-B. Take the
// customer from the verified body, never from the URL, and if you register
// one URL per customer, check that the body's id is the one the URL names.
//
// XGateway callbacks carry a base64 SHA-512 "hash" field over selected fields
// and the merchant's secret; see [XGatewayHash]. This is a plain hash without a
// timestamp: anyone who saw one KYC callback for a customer can replay it, or
// send any status for that customer. Treat an XGateway callback as a hint,
// deduplicate it and confirm through XGateway's API before anything
// irreversible, such as acting on a reversal of FULL_USER.
// [XGatewayVerifier.Verify] says what else the hash cannot tell apart.
//
// # Duplicates
//
// Both senders retry, and replicas behind a load balancer each receive some
// of the deliveries. [WithDedup] with a [Store] suppresses redeliveries: a
// body equal to the one last processed for its customer is answered 200
// without running the function; any other body is processed. [NewMemoryStore]
// works within one process, the Redis store of package
// github.com/kyccb/kyccb/redisstore across replicas. A SEP-12 request whose
// signature was processed before is a replay, answered 200 without running
// the function: in the process by default, across replicas through the
// store. With a store, transaction callbacks are ordered by their
// updated_at; customer callbacks carry no time, and nothing orders them:
// see [WithDedup].
//
// # Errors and observability
//
// Every rejection is an error that matches one of the exported sentinels
// ([ErrMissingSignature], [ErrBadSignature], ...) with [errors.Is];
// [HTTPStatus] gives the reply's status. Handlers reply with fixed text:
// reply bodies never contain a secret, a signature, an expected value or the
// error returned by your function. They log rejections, rate-limited, to
// [log/slog]'s default logger unless [WithLogger] or [WithErrorHook] says
// otherwise, and [WithObserver] sees every verdict, for metrics.
//
// # Testing
//
// Package [github.com/kyccb/kyccb/kyccbtest] builds signed and hashed
// requests and throwaway anchor keys for tests of your own handlers.
package kyccb
