// Package wallet makes a wallet's calls to a Stellar anchor about KYC
// callbacks: reading the anchor's stellar.toml, trusting its signing key,
// registering a callback URL with its KYC server, and reading a
// customer's current status.
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
// and NETWORK_PASSPHRASE [StellarTOML] reads: package wallet/sep10 signs
// in, and its TokenSource keeps the JWT for as long as it is valid. The
// calls here take the JWT as a string, wherever it comes from.
//
// # Callbacks as prompts
//
// A callback says that a customer changed, not reliably what it is now:
// SEP-12 bodies carry no time, and anchors retry failed deliveries and may
// deliver late, so a callback can arrive after the status it carries has
// changed again. On each callback, read the customer's current status with
// [GetCustomer] and apply that:
//
//	tokens, err := sep10.NewTokenSource(anchor, accountSeed)
//	...
//	h := v.Handler(func(ctx context.Context, cb kyccb.Customer) error {
//		mu.Lock() // from read to apply: see below
//		defer mu.Unlock()
//		jwt, err := tokens.Token(ctx)
//		if err != nil {
//			return err // 500: the anchor sends it again later
//		}
//		c, err := wallet.GetCustomer(ctx, server, jwt, wallet.CustomerQuery{ID: cb.ID})
//		var ae *wallet.AnchorError
//		if errors.As(err, &ae) && ae.StatusCode == 404 {
//			return nil // not a customer of this wallet's account
//		}
//		if errors.As(err, &ae) && ae.StatusCode == 401 {
//			tokens.Expire(jwt) // refused before its exp: sign in again next time
//		}
//		if err != nil {
//			return err
//		}
//		changed := apply(c) // the wallet's own records
//		if changed && (c.Status == kyccb.StatusAccepted || c.Status == kyccb.StatusRejected) {
//			reg := wallet.CallbackRegistration{URL: callbackURL, ID: c.ID}
//			return wallet.RegisterCallback(ctx, server, jwt, reg)
//		}
//		return nil
//	})
//
// Read and apply under one lock (one per customer, for a wallet with
// many): two callbacks handled at once could otherwise apply their reads in
// the opposite order. The callback's body serves only to name the
// customer, so a late or replayed callback cannot change what is applied,
// only cause a read. A customer the anchor does not know (a 404) is
// answered with success: an error would only make the anchor send the
// callback again.
//
// Anchors stop sending once the status is ACCEPTED or REJECTED, but an
// ACCEPTED customer can move back (a document expires, the anchor asks for
// more). A wallet that wants to hear of that registers again when the
// status becomes final, as above: only on the change, since an anchor that
// answers a registration with a callback of the current status would
// otherwise be asked again on every one. The Watch example runs the whole
// pattern against a local anchor.
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
// [ErrTOML]; an anchor's refusal is an [*AnchorError], and a success reply
// that is not what was asked for is [ErrBadReply]. No error repeats a JWT
// or a URL, which may hold a token in its query.
//
// [SEP-1]: https://github.com/stellar/stellar-protocol/blob/master/ecosystem/sep-0001.md
package wallet
