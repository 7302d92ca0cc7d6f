package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/kyccb/kyccb"
	"github.com/stellar/go-stellar-sdk/keypair"
)

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: kyccb demo\n\nStarts a verifying receiver on a loopback port, acts as a Stellar anchor with a fresh\nkey pair and as XGateway with a fresh secret, sends genuine, forged and stale callbacks,\nand prints what the receiver decided and why. Needs no configuration.")
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: demo takes no arguments", errUsage)
	}

	anchor, err := keypair.Random()
	if err != nil {
		return err
	}
	impostor, err := keypair.Random()
	if err != nil {
		return err
	}
	secret := randomSecret()

	rcv := newRecorder()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()
	sep12URL, xgwURL := base+"/kyc", base+"/xgateway"
	mux := http.NewServeMux()
	mux.Handle("/kyc", kyccb.SEP12(anchor.Address(), sep12URL, rcv.customer, kyccb.WithErrorHook(rcv.rejected)))
	mux.Handle("/xgateway", kyccb.XGateway(secret, rcv.xgateway, kyccb.WithErrorHook(rcv.rejected)))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()

	fmt.Fprintf(stdout, "receiver   %s (SEP-12 at /kyc, XGateway at /xgateway)\n", base)
	fmt.Fprintf(stdout, "anchor     signing key %s (fresh for this run)\n", anchor.Address())
	fmt.Fprintf(stdout, "XGateway   merchant secret: fresh, 32 random bytes\n\n")

	customer := func(id string, status kyccb.Status) []byte {
		b, _ := json.Marshal(kyccb.Customer{ID: id, Status: status})
		return b
	}
	xgw := func(sec, id string, status kyccb.XGatewayStatus, docs []string) []byte {
		b, _ := json.Marshal(kyccb.XGatewayKYC{CallbackType: kyccb.XGatewayTypeKYC, CustomerID: id, Status: status,
			DocsMissing: docs, Hash: kyccb.XGatewayHash(sec, id)})
		return b
	}
	now := time.Now()
	cases := []struct {
		what, url string
		body      []byte
		seed      string    // SEP-12 only
		at        time.Time // SEP-12 only
		accept    bool
	}{
		{"SEP-12 genuine callback", sep12URL, customer("c-1", kyccb.StatusAccepted), anchor.Seed(), now, true},
		{"SEP-12 signed by another key", sep12URL, customer("c-1", kyccb.StatusAccepted), impostor.Seed(), now, false},
		{"SEP-12 body changed after signing", sep12URL, customer("c-1", kyccb.StatusAccepted), anchor.Seed(), now, false},
		{"SEP-12 signed 5 minutes ago", sep12URL, customer("c-1", kyccb.StatusAccepted), anchor.Seed(), now.Add(-5 * time.Minute), false},
		{"XGateway genuine KYC callback", xgwURL, xgw(secret, "m-1", kyccb.XGatewaySoftKYCFailed, []string{"SELFIE"}), "", time.Time{}, true},
		{"XGateway hash from another secret", xgwURL, xgw("guessed-secret", "m-1", kyccb.XGatewayFullUser, nil), "", time.Time{}, false},
	}
	client := &http.Client{Timeout: 10 * time.Second}
	failed := 0
	for _, c := range cases {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(c.body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
		if c.seed != "" {
			sig, err := kyccb.SignSEP12(c.seed, c.url, c.body, c.at)
			if err != nil {
				return err
			}
			req.Header.Set(kyccb.SignatureHeader, sig)
			if strings.Contains(c.what, "changed") {
				// A relay that "fixes" the JSON: the signed bytes are gone.
				changed := bytes.Replace(c.body, []byte(`"ACCEPTED"`), []byte(`"REJECTED"`), 1)
				req.Body, req.ContentLength = io.NopCloser(bytes.NewReader(changed)), int64(len(changed))
			}
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		v := rcv.last()
		mark := "ok  "
		if v.accepted != c.accept {
			mark, failed = "FAIL", failed+1
		}
		fmt.Fprintf(stdout, "%s %-36s -> %d %s\n", mark, c.what, resp.StatusCode, v)
	}
	if failed > 0 {
		return fmt.Errorf("%d verdicts were not as expected", failed)
	}
	fmt.Fprintln(stdout, "\nEvery genuine callback was accepted and every forged or stale one rejected.")
	return nil
}

func randomSecret() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

// verdict is what the receiver decided about one callback.
type verdict struct {
	accepted bool
	detail   string
}

func (v verdict) String() string {
	if v.accepted {
		return "accepted  " + v.detail
	}
	return "rejected  " + v.detail
}

// recorder collects the receiver's verdicts, in arrival order.
type recorder struct {
	mu       sync.Mutex
	verdicts []verdict
}

func newRecorder() *recorder { return &recorder{} }

func (r *recorder) add(v verdict) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.verdicts = append(r.verdicts, v)
}

func (r *recorder) last() verdict {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.verdicts) == 0 {
		return verdict{detail: "(no verdict)"}
	}
	return r.verdicts[len(r.verdicts)-1]
}

func (r *recorder) customer(ctx context.Context, c kyccb.Customer) error {
	r.add(verdict{true, fmt.Sprintf("customer %s status %s", c.ID, c.Status)})
	return nil
}

func (r *recorder) xgateway(ctx context.Context, k kyccb.XGatewayKYC) error {
	r.add(verdict{true, fmt.Sprintf("customer %s status %s docs missing [%s]", k.CustomerID, k.Status, strings.Join(k.DocsMissing, " "))})
	return nil
}

func (r *recorder) rejected(_ *http.Request, err error) {
	if errors.Is(err, kyccb.ErrCallback) {
		r.add(verdict{false, "function failed: " + err.Error()})
		return
	}
	r.add(verdict{false, err.Error()})
}
