package wire

import (
	"net"
	"strings"
)

// HostVariant is a host a SEP-12 sender may have signed instead of the
// configured one.
type HostVariant struct {
	// Host is the host as it would appear in the signed message.
	Host string
	// What says how Host relates to the configured host, completing
	// "signed for Host (...)".
	What string
	// FromRequest is set when Host comes from the request's Host header:
	// the sender's text, not to be repeated where replies or logs must not
	// quote the request.
	FromRequest bool
}

// Variant descriptions.
const (
	WhatConfigured  = "the configured host"
	WhatRequestHost = "the request's Host header"
)

// HostVariants lists the configured host first, then what senders sign by
// mistake: the host with or without a port (:443, :80), the other name of
// a loopback address, and, when requestHost is not "", the request's Host
// header and the same forms of it. Each host appears once.
func HostVariants(host, requestHost string) []HostVariant {
	var out []HostVariant
	seen := map[string]bool{}
	add := func(h, what string, fromRequest bool) {
		if h != "" && !seen[h] && len(h) <= 255 {
			seen[h] = true
			out = append(out, HostVariant{h, what, fromRequest})
		}
	}
	add(host, WhatConfigured, false)
	for i, h := range []string{host, requestHost} {
		if h == "" {
			continue
		}
		fromRequest := i == 1
		if fromRequest {
			add(h, WhatRequestHost, true)
		}
		name, port, err := net.SplitHostPort(h)
		if err == nil {
			add(joinHost(name, ""), "the host without its port", fromRequest)
		} else {
			name = strings.Trim(h, "[]")
			add(h+":443", "the host with :443", fromRequest)
			add(h+":80", "the host with :80", fromRequest)
		}
		switch name {
		case "127.0.0.1", "::1":
			add(joinHost("localhost", port), "localhost for the loopback address", fromRequest)
		case "localhost":
			add(joinHost("127.0.0.1", port), "127.0.0.1 for localhost", fromRequest)
		}
	}
	return out
}

func joinHost(name, port string) string {
	if port == "" {
		if strings.Contains(name, ":") {
			return "[" + name + "]"
		}
		return name
	}
	return net.JoinHostPort(name, port)
}
