package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/kyccb/kyccb"
	"github.com/kyccb/kyccb/send"
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
	onAttempt func(send.Attempt)
}

// deliver sends body to callbackURL as cfg says. An error matching
// errUsage means nothing was sent.
func deliver(ctx context.Context, cfg sendConfig, callbackURL string, body []byte) (send.Delivery, error) {
	var opts []send.Option
	if cfg.attempts > 0 {
		opts = append(opts, send.WithAttempts(cfg.attempts))
	}
	if cfg.now != nil {
		opts = append(opts, send.WithClock(cfg.now))
	}
	if cfg.client != nil {
		opts = append(opts, send.WithHTTPClient(cfg.client))
	}
	if cfg.onAttempt != nil {
		opts = append(opts, send.WithAttemptHook(cfg.onAttempt))
	}
	var s *send.Sender
	var err error
	switch cfg.mode {
	case "sep12":
		if cfg.legacy {
			opts = append(opts, send.WithLegacySignatureHeader())
		}
		s, err = send.NewSEP12(cfg.seed, opts...)
	case "xgateway":
		s, err = send.NewXGateway(cfg.secret, opts...)
	default:
		err = fmt.Errorf("%w: unknown mode %q", kyccb.ErrConfig, cfg.mode)
	}
	if err != nil {
		return send.Delivery{}, fmt.Errorf("%w: %w", errUsage, err)
	}
	d, err := s.Send(ctx, callbackURL, body)
	if errors.Is(err, kyccb.ErrConfig) {
		return d, fmt.Errorf("%w: %w", errUsage, err)
	}
	return d, err
}
