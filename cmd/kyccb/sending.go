package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/kyccb/kyccb"
)

// sendConfig says how send and demo deliver callbacks.
type sendConfig struct {
	mode      string // "sep12" or "xgateway"
	seed      string // SEP-12: the anchor's secret seed
	secret    string // XGateway: the merchant secret
	attempts  int    // 0 for the sender's default
	legacy    bool   // SEP-12: send X-Stellar-Signature too
	now       func() time.Time
	client    *http.Client
	onAttempt func(attempt)
}

// attempt is one try at delivering a callback.
type attempt struct {
	N          int
	Signature  string
	StatusCode int
	Err        error
	Delay      time.Duration
}

// delivery is what happened to one callback.
type delivery struct {
	Body       []byte
	Attempts   []attempt
	StatusCode int
	Reply      []byte
}

var errNotDelivered = errors.New("not delivered")

// deliver sends body to callbackURL as cfg says.
//
// TODO(issue 3): go through the library's sender once it lands.
func deliver(ctx context.Context, cfg sendConfig, callbackURL string, body []byte) (delivery, error) {
	u, err := url.Parse(callbackURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return delivery{}, fmt.Errorf("%w: --url must be an absolute http or https URL", errUsage)
	}
	now := cfg.now
	if now == nil {
		now = time.Now
	}
	client := cfg.client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	var sig string
	switch cfg.mode {
	case "sep12":
		if sig, err = kyccb.SignSEP12(cfg.seed, u.Host, body, now()); err != nil {
			return delivery{}, err
		}
	case "xgateway":
		if body, err = withHash(cfg.secret, body); err != nil {
			return delivery{}, err
		}
	}
	d := delivery{Body: body}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, callbackURL, bytes.NewReader(body))
	if err != nil {
		return d, err
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	if sig != "" {
		req.Header.Set(kyccb.SignatureHeader, sig)
	}
	a := attempt{N: 1, Signature: sig}
	resp, err := client.Do(req)
	if err == nil {
		a.StatusCode, d.StatusCode = resp.StatusCode, resp.StatusCode
		d.Reply, _ = io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		resp.Body.Close()
	}
	a.Err = err
	d.Attempts = append(d.Attempts, a)
	if cfg.onAttempt != nil {
		cfg.onAttempt(a)
	}
	if err != nil {
		return d, fmt.Errorf("%w: %w", errNotDelivered, err)
	}
	if d.StatusCode >= 400 {
		return d, fmt.Errorf("%w: the receiver replied %d", errNotDelivered, d.StatusCode)
	}
	return d, nil
}

func withHash(secret string, body []byte) ([]byte, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil || obj == nil {
		return nil, fmt.Errorf("%w: the body is not a JSON object", kyccb.ErrMalformedBody)
	}
	fields, ok := xgatewayFields(jsonString(obj["callbackType"]), obj, "N/A")
	if !ok {
		return nil, kyccb.ErrUnknownCallbackType
	}
	obj["hash"], _ = json.Marshal(kyccb.XGatewayHash(secret, fields...))
	return json.Marshal(obj)
}
