package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestDemo(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"demo"}, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{
		"SEP-12 genuine callback              -> 200 accepted  customer c-1 status ACCEPTED",
		"SEP-12 signed by another key         -> 401 rejected  kyccb: signature does not verify",
		"SEP-12 body changed after signing    -> 401 rejected  kyccb: signature does not verify",
		"SEP-12 signed 5 minutes ago          -> 401 rejected  kyccb: signature timestamp too old",
		"XGateway genuine KYC callback        -> 200 accepted  customer m-1 status SOFT_KYC_FAILED",
		"XGateway hash from another secret    -> 401 rejected  kyccb: hash does not match",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\nFAIL ") {
		t.Errorf("a verdict was not as expected:\n%s", out)
	}
}

func TestUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"no command", nil, exitUsage},
		{"an unknown command", []string{"frobnicate"}, exitUsage},
		{"help", []string{"-h"}, exitOK},
		{"demo with an argument", []string{"demo", "extra"}, exitUsage},
		{"demo -h", []string{"demo", "-h"}, exitOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			if got := run(context.Background(), tt.args, &out, &out); got != tt.want {
				t.Fatalf("exit %d, want %d\n%s", got, tt.want, out.String())
			}
		})
	}
}
