package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/kyccb/kyccb"
)

// sendConfig says how send and demo deliver callbacks: through the
// library's sender, so that the host signed, the headers and the retries
// are those of a real anchor (or of XGateway).
type sendConfig struct {
	mode      string // "sep12" or "xgateway"
	seed      string // SEP-12: the anchor's secret seed
	secret    string // XGateway: the merchant secret
	attempts  int    // 0 for the sender's default
	legacy    bool   // SEP-12: send X-Stellar-Signature as well
	now       func() time.Time
	client    *http.Client
	onAttempt func(kyccb.Attempt)
}

// deliver sends body to callbackURL as cfg says. An error matching
// errUsage means nothing was sent.
func deliver(ctx context.Context, cfg sendConfig, callbackURL string, body []byte) (kyccb.Delivery, error) {
	var opts []kyccb.Option
	if cfg.attempts > 0 {
		opts = append(opts, kyccb.WithAttempts(cfg.attempts))
	}
	if cfg.now != nil {
		opts = append(opts, kyccb.WithClock(cfg.now))
	}
	if cfg.client != nil {
		opts = append(opts, kyccb.WithHTTPClient(cfg.client))
	}
	if cfg.onAttempt != nil {
		opts = append(opts, kyccb.WithAttemptHook(cfg.onAttempt))
	}
	var s *kyccb.Sender
	var err error
	switch cfg.mode {
	case "sep12":
		if cfg.legacy {
			opts = append(opts, kyccb.WithLegacySignatureHeader())
		}
		s, err = kyccb.NewSEP12Sender(cfg.seed, opts...)
	case "xgateway":
		s, err = kyccb.NewXGatewaySender(cfg.secret, opts...)
	default:
		err = fmt.Errorf("%w: unknown mode %q", kyccb.ErrConfig, cfg.mode)
	}
	if err != nil {
		return kyccb.Delivery{}, fmt.Errorf("%w: %w", errUsage, err)
	}
	d, err := s.Send(ctx, callbackURL, body)
	if errors.Is(err, kyccb.ErrConfig) {
		return d, fmt.Errorf("%w: %w", errUsage, err)
	}
	return d, err
}
