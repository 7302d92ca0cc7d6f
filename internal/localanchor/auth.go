package localanchor

import (
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stellar/go-stellar-sdk/strkey"
	"github.com/stellar/go-stellar-sdk/txnbuild"
)

// challengeReply is the reply to GET /auth.
type challengeReply struct {
	Transaction       string `json:"transaction"`
	NetworkPassphrase string `json:"network_passphrase"`
}

// tokenReply is the reply to POST /auth.
type tokenReply struct {
	Token string `json:"token"`
}

// challenge serves GET /auth?account=G...[&memo=ID][&home_domain=...]: a
// challenge built by go-stellar-sdk, for this anchor's domain as both home
// and web auth domain. client_domain is ignored: the anchor verifies no
// wallet's domain.
func (a *Anchor) challenge(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	account := q.Get("account")
	if !validAccount(account) {
		a.refuse(w, r, http.StatusBadRequest, "account must be a G... account id or an M... muxed account", nil)
		return
	}
	var memo *txnbuild.MemoID
	if m := q.Get("memo"); m != "" {
		if strings.HasPrefix(account, "M") {
			// SEP-10: a muxed account already names the user.
			a.refuse(w, r, http.StatusBadRequest, "a memo cannot go with a muxed account", nil)
			return
		}
		id, err := strconv.ParseUint(m, 10, 64)
		if err != nil {
			a.refuse(w, r, http.StatusBadRequest, "memo must be an ID memo, a decimal number", nil)
			return
		}
		mid := txnbuild.MemoID(id)
		memo = &mid
	}
	if hd := q.Get("home_domain"); hd != "" && hd != a.domain {
		a.refuse(w, r, http.StatusBadRequest, "home_domain is not this anchor's domain", nil)
		return
	}
	tx, err := txnbuild.BuildChallengeTx(a.kp.Seed(), account, a.authDom, a.domain, NetworkPassphrase, ChallengeTimeout, memo)
	if err != nil {
		a.refuse(w, r, http.StatusInternalServerError, "cannot build a challenge", err)
		return
	}
	x, err := tx.Base64()
	if err != nil {
		a.refuse(w, r, http.StatusInternalServerError, "cannot build a challenge", err)
		return
	}
	writeJSON(w, http.StatusOK, challengeReply{Transaction: x, NetworkPassphrase: NetworkPassphrase})
}

// token serves POST /auth with {"transaction": ...} as JSON or a form: it
// verifies the signed challenge and issues a JWT.
func (a *Anchor) token(w http.ResponseWriter, r *http.Request) {
	fields, _, err := readFields(w, r, maxBodyBytes)
	if err != nil {
		a.refuse(w, r, http.StatusBadRequest, "the body must be JSON or a form with a transaction", err)
		return
	}
	x := fields["transaction"]
	if x == "" {
		a.refuse(w, r, http.StatusBadRequest, "the body must be JSON or a form with a transaction", nil)
		return
	}
	sub, jti, expires, err := a.verifyChallenge(x)
	if err != nil {
		msg := "the challenge is not valid"
		if errors.Is(err, errChallengeExpired) {
			msg = "the challenge has expired: ask for another"
		}
		a.refuse(w, r, http.StatusBadRequest, msg, err)
		return
	}
	if !a.firstUse(jti, expires) {
		// SEP-10: a server should not provide more than one JWT for a
		// specific challenge transaction.
		a.refuse(w, r, http.StatusBadRequest, "the challenge was already exchanged for a JWT: ask for another", nil)
		return
	}
	now := a.cfg.Now()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{
		Issuer:    a.webAuth,
		Subject:   sub,
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(TokenLifetime)),
		ID:        jti,
	}).SignedString(a.jwtKey[:])
	if err != nil {
		a.refuse(w, r, http.StatusInternalServerError, "cannot issue a token", err)
		return
	}
	writeJSON(w, http.StatusOK, tokenReply{Token: tok})
}

var errChallengeExpired = errors.New("outside its time bounds")

// validAccount reports whether s is a G... account id or an M... muxed
// account.
func validAccount(s string) bool {
	if strings.HasPrefix(s, "M") {
		_, err := strkey.DecodeMuxedAccount(s)
		return err == nil
	}
	_, err := strkey.Decode(strkey.VersionByteAccountID, s)
	return err == nil
}

// firstUse records that the challenge with hash jti, valid until expires,
// was exchanged for a JWT, and reports whether it is the first time. A
// challenge is remembered until it expires, when it could not be used
// anyway; the expired ones are dropped here, so the set holds at most the
// challenges of the last ChallengeTimeout.
func (a *Anchor) firstUse(jti string, expires time.Time) bool {
	now := time.Now() // the challenges' clock, as in verifyChallenge
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.used[jti]; ok {
		return false
	}
	for h, exp := range a.used {
		if now.After(exp) {
			delete(a.used, h)
		}
	}
	a.used[jti] = expires
	return true
}

// verifyChallenge checks a signed challenge as SEP-10 asks of a server, and
// returns the JWT's subject and id, the client account (G..., G...:memo or
// M...) and the challenge's hash, as SEP-10 suggests, and when the
// challenge expires.
func (a *Anchor) verifyChallenge(x string) (sub, jti string, expires time.Time, err error) {
	generic, err := txnbuild.TransactionFromXDR(x)
	if err != nil {
		return "", "", time.Time{}, errors.New("not a transaction envelope in base64 XDR")
	}
	tx, ok := generic.Transaction()
	if !ok {
		return "", "", time.Time{}, errors.New("a fee bump transaction")
	}
	// ReadChallengeTx checks the time bounds too (with the system clock,
	// which is why this does); checked first, an expired challenge gets a
	// reply that says so. ReadChallengeTx refuses infinite ones.
	tb := tx.Timebounds()
	if tb.MaxTime != txnbuild.TimeoutInfinite && time.Now().Unix() > tb.MaxTime {
		return "", "", time.Time{}, errChallengeExpired
	}
	homeDomains := []string{a.domain}
	_, client, _, memo, err := txnbuild.ReadChallengeTx(x, a.kp.Address(), NetworkPassphrase, a.authDom, homeDomains)
	if err != nil {
		return "", "", time.Time{}, err
	}
	signer := client
	if strings.HasPrefix(client, "M") {
		// The signer of a muxed account is its underlying G... account.
		m, err := strkey.DecodeMuxedAccount(client)
		if err != nil {
			return "", "", time.Time{}, err
		}
		if signer, err = m.AccountID(); err != nil {
			return "", "", time.Time{}, err
		}
	}
	// No Horizon here: the account may not exist, and SEP-10 says that the
	// signer of an account that does not exist is its own key.
	if _, err := txnbuild.VerifyChallengeTxSigners(x, a.kp.Address(), NetworkPassphrase, a.authDom, homeDomains, signer); err != nil {
		return "", "", time.Time{}, err
	}
	hash, err := tx.Hash(NetworkPassphrase)
	if err != nil {
		return "", "", time.Time{}, err
	}
	sub = client
	if memo != nil {
		sub += ":" + strconv.FormatUint(uint64(*memo), 10)
	}
	return sub, hex.EncodeToString(hash[:]), time.Unix(tb.MaxTime, 0), nil
}

// subject returns the subject of the request's JWT: the account, or
// account:memo.
func (a *Anchor) subject(r *http.Request) (string, error) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return "", errors.New("no Bearer token")
	}
	var claims jwt.RegisteredClaims
	_, err := jwt.ParseWithClaims(strings.TrimSpace(tok), &claims, func(*jwt.Token) (any, error) { return a.jwtKey[:], nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(a.webAuth),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(a.cfg.Now),
	)
	if err != nil {
		return "", err
	}
	account, _, _ := strings.Cut(claims.Subject, ":")
	if !validAccount(account) {
		return "", errors.New("the subject is not an account")
	}
	return claims.Subject, nil
}

// authorized wraps a SEP-12 handler: it answers 401 without a valid JWT,
// and passes the JWT's subject on.
func (a *Anchor) authorized(h func(http.ResponseWriter, *http.Request, string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sub, err := a.subject(r)
		if err != nil {
			msg := "a valid SEP-10 JWT is required as a Bearer token"
			if errors.Is(err, jwt.ErrTokenExpired) {
				msg = "the JWT has expired: authenticate again"
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="SEP-10"`)
			a.refuse(w, r, http.StatusUnauthorized, msg, err)
			return
		}
		h(w, r, sub)
	}
}
