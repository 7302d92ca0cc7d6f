// Package send delivers KYC status callbacks as an anchor, or XGateway,
// sends them: signed or hashed, and retried.
//
// For most uses, call [NewSEP12] with the anchor's secret seed once, and
// give each callback to [Sender.Send]:
//
//	s, err := send.NewSEP12(seed)
//	...
//	body, err := json.Marshal(kyccb.Customer{ID: id, Status: kyccb.StatusAccepted})
//	...
//	d, err := s.Send(ctx, callbackURL, body)
//
// # Signatures
//
// A SEP-12 sender signs every attempt anew, as the Anchor Platform does:
// "<t>.<host>.<body>" under the seed whose public key is the anchor's
// SIGNING_KEY, with t the time of the attempt and host the callback URL's
// host (host:port when the URL has a port). SEP-6, SEP-24 and SEP-31
// transaction callbacks are signed and sent the same way, with the body
// {"transaction": {...}} that kyccb.Transactions receives. A [Signer]
// makes the same header value apart from HTTP, for anchors with delivery
// code of their own. [NewXGateway] plays XGateway in simulations and tests: it sets the
// body's hash field for the merchant's secret.
//
// # Retries
//
// A network error, a timeout, a 5xx or a 429 is retried with exponential
// backoff and jitter, no sooner than a Retry-After asks; any other reply
// ends the delivery. A 2xx or 3xx reply is a delivery; redirects are not
// followed. [WithAttempts], [WithBackoff] and [WithRequestTimeout] change
// the defaults, and [WithAttemptHook] reports each attempt as it ends.
//
// # Errors
//
// Constructors and options refuse unusable input with an error matching
// [kyccb.ErrConfig]; [Sender.Send] returns [ErrNotDelivered] when it gives
// up, with a [Delivery] that says what each attempt got. No error repeats
// a seed, a secret or a callback URL.
//
// # Secrets
//
// A [Sender] and a [Signer] print (with any fmt verb) and log (through
// log/slog) as their public key or "secret redacted", never as their seed
// or secret.
//
// # Testing
//
// Package kyccb receives what this package sends: point a sender at a
// [net/http/httptest.Server] running kyccb.SEP12 or kyccb.XGateway. Package
// [github.com/kyccb/kyccb/kyccbtest] makes throwaway anchor key pairs.
//
// [SEP-12]: https://github.com/stellar/stellar-protocol/blob/master/ecosystem/sep-0012.md
package send
