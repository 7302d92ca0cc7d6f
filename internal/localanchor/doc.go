// Package localanchor is a Stellar anchor for one laptop: a SEP-10 web auth
// server and a SEP-12 KYC server on a loopback address, which sends signed
// customer callbacks the way the Stellar Anchor Platform does, so that a
// wallet's whole KYC flow can run and be tested without a real anchor.
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
//	GET    /.well-known/stellar.toml       NETWORK_PASSPHRASE (testnet), SIGNING_KEY, WEB_AUTH_ENDPOINT, KYC_SERVER
//	GET    /auth?account=G...[&memo=]      SEP-10 challenge, valid 5 minutes
//	POST   /auth                           {"transaction": signed challenge} (JSON or form) -> {"token": JWT}, valid 1 hour
//	GET    /customer[?id=]                 SEP-12 customer of the JWT's account
//	PUT    /customer                       SEP-12 fields (JSON, form or multipart) -> 202 {"id"}
//	PUT    /customer/callback              {"url", "id"?} (JSON or form): register the callback URL
//	DELETE /customer/{account}             forget the account's customer
//	POST   /admin/customers/{id}/status    {"status", "message"?}: set a status by hand, no JWT
//
// The SEP-12 endpoints want the SEP-10 JWT as a Bearer token and answer 401
// {"error": ...} without a valid one. There is no Horizon: the account
// need not exist, and, as SEP-10 says for an account that does not exist,
// its own key is its only signer.
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
// # Events
//
// [Config.Events] receives an [Event] for each registration, status change,
// delivery attempt, delivery outcome and refused request, so that a command
// can print them as text ([Event.String]) or as JSON lines.
package localanchor
