// Package localanchor is a Stellar anchor for one laptop: a SEP-10 web auth
// server, a SEP-12 KYC server and a SEP-6 transfer server on a loopback
// address, which send signed customer and transaction callbacks the way
// the Stellar Anchor Platform does, so that a wallet's whole KYC flow can
// run and be tested without a real anchor.
//
// For most uses, listen on a loopback address, call [New] with that address
// and serve with [Anchor.Serve]:
//
//	l, err := net.Listen("tcp", "127.0.0.1:8000")
//	...
//	a, err := localanchor.New(localanchor.Config{Addr: l.Addr().String()})
//	...
//	err = a.Serve(ctx, l)
//
// # Plain http, loopback only
//
// The anchor's domain is its listen address, such as "127.0.0.1:8000".
// It serves plain http, not https, so its stellar.toml and every URL in it
// start with http://: real anchors must use https, and wallets accept
// plain http only from loopback hosts. [New] refuses any address that is
// not loopback (127.0.0.0/8, ::1, localhost), [Anchor.Serve] any listener
// that is not, and the first event [Anchor.Serve] reports says so too.
//
// # Endpoints
//
//	GET     /.well-known/stellar.toml        NETWORK_PASSPHRASE (testnet), SIGNING_KEY, WEB_AUTH_ENDPOINT, KYC_SERVER, TRANSFER_SERVER, [DOCUMENTATION]
//	GET     /auth?account=G...|M...[&memo=]  SEP-10 challenge, valid 5 minutes
//	POST    /auth                            {"transaction": signed challenge} (JSON or form) -> {"token": JWT}, valid 1 hour
//	OPTIONS /auth                            CORS preflight
//	GET     /customer[?id=|transaction_id=]  SEP-12 customer of the JWT's account
//	PUT     /customer                        SEP-12 fields (JSON, form or multipart) -> 202 {"id"}
//	PUT     /customer/callback               {"url", "id"?} (JSON or form): register the callback URL
//	DELETE  /customer/{account}              forget the customer -> 200 {}
//	GET     /info                            SEP-6: USDC deposits and withdrawals
//	GET     /deposit, /withdraw              SEP-6: ?asset_code=USDC[&amount=][&on_change_callback=] -> {"id", ...}
//	GET     /transaction?id=                 SEP-6: {"transaction": {...}}
//	GET     /transactions?asset_code=USDC    SEP-6: {"transactions": [...]}, newest first
//	POST    /admin/customers/{id}/status     {"status", "message"?}: set a status by hand, no JWT
//
// The SEP-6 and SEP-12 endpoints but /info want the SEP-10 JWT as a Bearer
// token and answer 401 {"error": ...} without a valid one. There is no
// Horizon: the account need not exist, and, as SEP-10 says for an account
// that does not exist, its own key is its only signer (a muxed account's
// is its G... account's key). Every reply is application/json (but the
// stellar.toml's), errors {"error": ...}, the 404 and 405 of no route
// included.
//
// # DNS rebinding and browsers
//
// Every endpoint answers only requests whose Host header names the anchor:
// a loopback host (a loopback IP address or localhost) with the anchor's
// port. Any other Host gets 421 before anything is done: a web page whose
// name an attacker rebound to 127.0.0.1 sends its own name, and gets no
// challenge, no JWT, no customer and no callback registration.
//
// SEP-10's endpoints, the stellar.toml and /info send
// Access-Control-Allow-Origin: *, errors included, and /auth answers the
// OPTIONS preflight, as SEP-10 requires of browser wallets. The endpoints
// that take a JWT answer no preflight, although SEP-6 asks for CORS on
// all: a documented choice, so that a page of another origin the developer
// opens cannot use a JWT it got from /auth to create customers or register
// callback URLs on the developer's machine.
//
// # SEP-10
//
// A challenge is built and read by go-stellar-sdk's txnbuild, for the
// anchor's domain as home domain, and [Config.WebAuthDomain] (by default
// the domain, with its port) as web_auth_domain. A signed challenge is
// exchanged for one JWT only, as SEP-10 says a server should: the anchor
// remembers the hashes of the challenges it exchanged until they expire.
// The JWT's sub is the account (G...), the muxed account (M..., which
// takes no memo) or "account:memo".
//
// # SEP-12 customers
//
// The JWT names the customer. An account parameter other than the JWT's
// account, or a memo other than the JWT's memo, is refused with 403, as
// SEP-12 says ("should return an error response"); memos are ID memos
// (memo_type "id"). With a memo-less JWT of a G... account, a memo
// parameter names a customer of the shared account, which SEP-12 allows:
// such a JWT proves control of every memo of the account. The anchor keeps
// the names of the fields given, never their values; provided_fields
// carry each field's SEP-9 type (binary for photo_id_front whether or not
// its multipart part had a filename, date for birth_date) and a
// description; a field SEP-9 does not define is a string, or binary when
// it came as a file.
//
// PUT /customer/callback with an id the anchor does not know answers 404,
// as SEP-12's table says. Without an id, an account with no customer gets
// a new NEEDS_INFO one instead of 404: a documented choice, so that one
// callback registration (kyccb register) starts a fresh account's
// callbacks.
//
// # Callbacks
//
// Once a customer registers a callback URL, the anchor runs its status
// script ([Config.Statuses], by default NEEDS_INFO, PROCESSING, ACCEPTED):
// every [Config.Every] it sets the next status and POSTs the customer's
// GET /customer body, byte for byte, to the URL, signed with its
// SIGNING_KEY as SEP-12 says. It stops after ACCEPTED or REJECTED; to
// hear of the customer again, a wallet registers again, which starts the
// script anew. Deliveries are made as the Anchor Platform makes them: each
// attempt signed anew, any 2xx or 3xx reply counted as delivered, up to 3
// retries with exponential backoff; a customer's callbacks are sent one at
// a time, in order. Besides, a NEEDS_INFO customer that has given every
// field asked for (first_name, last_name, email_address) moves to
// PROCESSING at once, with a callback, as a real anchor's review starts.
// A status change that sends nothing says why in its [EventStatus]
// (NoCallback), and so does the admin endpoint's reply: no URL is
// registered, or the registration ended at ACCEPTED or REJECTED.
//
// # SEP-6, the KYC flow of the Anchor Platform
//
// GET /deposit or /withdraw makes a transaction for the JWT's customer
// (created NEEDS_INFO if it has none). As in the Anchor Platform after
// ANCHOR-746, the transaction waits in pending_customer_info_update, with
// required_customer_info_updates naming the fields to give, while its
// customer is NEEDS_INFO; the wallet reads and completes the customer with
// GET and PUT /customer?transaction_id=. The customer's status then drives
// the transaction's: NEEDS_INFO pending_customer_info_update, PROCESSING
// pending_anchor, ACCEPTED pending_user_transfer_start, REJECTED error
// (with the customer's message; error is final). A customer of a
// transaction does not run the status script: once complete it is
// reviewed for [Config.Every] and ends as the script would (REJECTED if
// the script ends so, else ACCEPTED), unless driven by hand.
//
// Each change of a transaction, its creation included, is POSTed as
// {"transaction": ...}, the GET /transaction body, to its
// on_change_callback, signed and retried as the customer callbacks are,
// and in the same queue: a change is sent before the customer callback of
// the customer change that caused it, the order of the Anchor Platform,
// which updates the transaction and then sends the customer event. The
// times are RFC 3339 in UTC with milliseconds (ISO 8601, as SEP-6 asks,
// allows the fraction), and each change of a transaction has an
// updated_at later than the one before, by a millisecond at least, so
// that a wallet can order its callbacks by it: two changes within one
// second are told apart. Nothing is ever transferred.
//
// # Messy deliveries
//
// Off by default, [Config.Duplicates], [Config.Delay] and
// [Config.Coalesce] deliver as real anchors sometimes do: every callback
// again, each signed anew; out of order; and with quick changes coalesced
// into one body, so that PROCESSING may never be seen. A wallet using
// [kyccb.WithDedup] runs its function once per distinct transaction
// status and answers an older one that arrives after a newer as
// [kyccb.ErrStale]; each copy is signed a second after the one before, a
// redelivery ([kyccb.ErrDuplicate]) rather than a replay. With Coalesce,
// two changes may send one body, and sent within one second they are the
// same signed request, which the wallet's replay protection answers
// ([kyccb.ErrReplay]); neither runs the function again. Customer callbacks
// carry no time: out of order, an older customer status is processed
// again, as nothing in a SEP-12 body can order it.
//
// The anchor sends only to loopback hosts. It refuses to register any other
// callback URL (400), and its default HTTP client refuses to dial anything
// but a loopback address, whatever a name resolves to.
//
// # Driving a customer by hand
//
// POST /admin/customers/{id}/status sets a customer's status at once,
// stops its script, and delivers the new body to its callback URL, if one
// is registered. It asks for no JWT: it answers only requests that come
// from a loopback address, name a loopback host (against DNS rebinding) and
// are not cross-origin requests from a browser ([http.CrossOriginProtection]).
// Anyone who can run a program on the machine can drive customers: this is
// a tool for tests, not a service.
//
// # Secrets
//
// [Config] and [Anchor] print without the seed or the JWT key, with any
// fmt verb and through log/slog.
//
// # Events
//
// [Config.Events] receives an [Event] for each registration, status change,
// delivery attempt, delivery outcome and refused request, so that a command
// can print them as text ([Event.String]) or as JSON lines.
package localanchor
