// Package kyccb authenticates incoming KYC status and transaction callbacks
// and hands them to application code as typed values.
//
// For most uses, call [SEP12] for customer callbacks from Stellar anchors,
// [Transactions] for their SEP-6, SEP-24 and SEP-31 transaction callbacks,
// or [XGateway] for callbacks from the XGateway payment gateway, and mount
// the returned handler on the callback URL you registered:
//
//	mux.Handle("/kyc", kyccb.SEP12(anchorSigningKey, "wallet.example.org", onCustomer))
//	mux.Handle("/tx", kyccb.Transactions(anchorSigningKey, "wallet.example.org", onTransaction))
//	mux.Handle("/xgw", kyccb.XGateway(merchantSecret, onKYC))
//
// The function you pass runs only for callbacks that passed authentication; it
// receives the request's context and the decoded payload. A nil return answers
// 200; an error answers 500, so the sender delivers the callback again.
//
// This package is the receiving side. It exports [SignSEP12] and
// [XGatewayHash] too, because the signed message and the hash are defined
// here, once, and because tests of a receiver need a genuine callback
// without importing a sender. Package [github.com/kyccb/kyccb/send] signs
// and delivers callbacks, with retries, as an anchor (or XGateway) does;
// package [github.com/kyccb/kyccb/wallet] makes the wallet's calls to an
// anchor (stellar.toml, key rotation, callback registration, reading a
// customer) and its subpackage sep10 obtains the SEP-10 token they need.
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
// A host configured with a port, such as "wallet.example.org:8443", also
// accepts a signature over the same host without its port: the Anchor
// Platform and django-polaris sign host:port when the callback URL has
// one, the Kotlin wallet SDK signs the bare host. Both name the wallet
// itself, so no one gains a callback the anchor did not sign for it. The
// reverse does not hold: a host configured without a port accepts no
// signature over host:port. The command's "kyccb verify" says which form
// a captured signature covers.
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
// # Transactions
//
// An anchor signs the callbacks of its transactions (SEP-6 and SEP-24
// on_change_callback, SEP-24 callback, SEP-31 PUT /transactions/:id/callback)
// as it signs customer callbacks, with the same key; their body is its GET
// /transaction response, {"transaction": {...}}, decoded into a
// [Transaction] with every field SEP-6, SEP-24 and SEP-31 define and its
// times as [time.Time]. [Transactions] and [SEP12Verifier.TransactionHandler]
// take transaction callbacks and refuse customer ones; [SEP12] and
// [SEP12Verifier.Handler] the reverse, each with a 400. A wallet that
// registered one URL for both mounts [SEP12Verifier.CombinedHandler], which
// passes each kind to its own function.
//
// A transaction's updated_at, the time it reached its status, is what
// orders its callbacks: the Anchor Platform signs every retry anew and may
// deliver them out of order. With [WithDedup], a callback older than the
// one last applied for its transaction does not reach the function. An
// anchor that sends no updated_at gives nothing to order by: each new body
// is processed as it comes, and the order, where it matters, is the
// anchor's GET /transaction.
//
// # Duplicates
//
// Both senders retry, and replicas behind a load balancer each receive some
// of the deliveries. [WithDedup] with a [Store] suppresses redeliveries: a
// body equal to the one last processed for its customer is answered 200
// without running the function; any other body is processed. [NewMemoryStore]
// works within one process, the Redis store of package
// github.com/kyccb/kyccb/redisstore across replicas, and the PostgreSQL
// store of package github.com/kyccb/kyccb/pgstore, a [BindingStore], also
// commits the record of a callback in the function's own database
// transaction, so that its effect and the record are kept together or not
// at all. A SEP-12 request whose
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
// error returned by your function. They log rejections and failures,
// rate-limited, with the path and the remote address, to [log/slog]'s
// default logger unless [WithLogger] says otherwise. [WithErrorHook] sees
// each reason as well, and [WithObserver] every verdict, for metrics.
//
// # Testing
//
// Package [github.com/kyccb/kyccb/kyccbtest] builds signed and hashed
// requests and throwaway anchor keys for tests of your own handlers.
package kyccb
