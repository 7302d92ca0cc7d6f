// Package sep10 signs a wallet into an anchor with [SEP-10] web authentication
// and returns the JWT that SEP-12 and the other anchor APIs ask for.
//
// For most uses, fill an [Anchor] with [FromTOML] from the anchor's
// stellar.toml and call [Authenticate] with the account's secret seed:
//
//	a, err := sep10.FromTOML("anchor.example.com", toml)
//	...
//	jwt, err := sep10.Authenticate(ctx, a, accountSeed)
//
// A wallet that calls the anchor again and again (on every callback, say)
// keeps one [TokenSource] instead: it signs in on first use and hands out
// the same JWT until shortly before it expires.
//
//	tokens, err := sep10.NewTokenSource(a, accountSeed)
//	...
//	jwt, err := tokens.Token(ctx)
//
// It lives apart from package kyccb so that programs that only verify
// callbacks never compile the Stellar XDR code a challenge needs.
//
// # The challenge
//
// Authenticate asks the anchor's WEB_AUTH_ENDPOINT for a challenge
// transaction, checks it as SEP-10 requires of a client, signs it with the
// account's key and sends it back for the JWT. The checks are those of
// go-stellar-sdk's [txnbuild.ReadChallengeTx], with the ones that matter
// most made first so that they fail with their own error: the challenge
// must be signed by the anchor's SIGNING_KEY ([ErrServerKey]), its time
// bounds must include now ([ErrChallengeTimeBounds]: like the SDK, against the system
// clock), and it must be for the anchor's home domain and web auth domain,
// the network passphrase and the account asked for ([ErrChallenge]).
// Signing a challenge that fails them could hand a JWT for the account to
// whoever made it.
//
// # Transport
//
// The endpoint must be https; plain http is accepted only on a loopback
// host (127.0.0.0/8, ::1, localhost), for local anchors in tests. Redirects
// are not followed. Each request is bounded by [DefaultRequestTimeout] or
// [WithRequestTimeout].
//
// # Errors
//
// Every error matches one of the sentinels ([kyccb.ErrConfig],
// [ErrServerKey], [ErrChallengeTimeBounds], [ErrChallenge], [ErrRefused],
// [ErrBadReply]) with
// [errors.Is], or is the HTTP client's or the context's error. No error
// repeats the account's seed or the JWT.
//
// [SEP-10]: https://github.com/stellar/stellar-protocol/blob/master/ecosystem/sep-0010.md
package sep10
