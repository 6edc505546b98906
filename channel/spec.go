package channel

import (
	"fmt"
	"strings"
)

// The transport names are a closed set, like codec's names: descriptors name them and
// PROTOCOL.md specifies each. A Set may hold another implementation under a name (e.g.
// one wrapped for tests), not a new name. transports is the one source of the names and
// of what each can carry (every implementation's Caps must agree; channeltest checks).
var transports = []struct {
	name string
	caps Caps
}{
	{"tcp", Caps{Response: true, Stream: true, Reliable: true}},
	{"unix", Caps{Response: true, Stream: true, Reliable: true}},
	{"http", Caps{Response: true, Stream: true, Reliable: true}},
	{"udp", Caps{}}, // datagrams: noResponse and ack only
}

// TransportNames returns the transport names, in the order documented.
func TransportNames() []string {
	out := make([]string, len(transports))
	for i, t := range transports {
		out[i] = t.name
	}
	return out
}

// TransportCaps returns what a transport of that name can carry (MaxMessage, which
// depends on the configuration, is 0), and false for an unknown name.
func TransportCaps(name string) (Caps, bool) {
	for _, t := range transports {
		if t.name == name {
			return t.caps, true
		}
	}
	return Caps{}, false
}

// Spec names a channel: a transport, a codec and, where known, an address.
// Its compact form is "transport+serializer+compressor", e.g. "tcp+msgpack+zstd",
// optionally followed by "://address" ("unix+json:///run/orders.sock"). "+tls" right
// after the transport ("tcp+tls+msgpack+zstd") says the channel speaks TLS only, and
// "+seal" after the codec ("tcp+msgpack+zstd+seal") that payloads are sealed
// to the receiving service (package codec/seal).
type Spec struct {
	Transport string // tcp, unix, http, udp
	TLS       bool   // the channel speaks TLS only (tcp, unix, http); a client refuses it plaintext
	Seal      bool   // payloads are sealed end to end ("+seal" after the codec): requests to the receiver, replies back to the caller
	Codec     string // "serializer+compressor" or "serializer"; checked by package codec
	Addr      string // host:port, or a socket path for unix; may be empty
}

// ParseSpec parses the compact form. A missing serializer defaults to "json"; the codec
// names themselves are checked when a codec pipeline is built from Spec.Codec.
func ParseSpec(s string) (Spec, error) {
	var sp Spec
	name, addr, hasAddr := strings.Cut(s, "://")
	if hasAddr {
		if addr == "" {
			return sp, fmt.Errorf("channel: spec %q: empty address after ://", s)
		}
		sp.Addr = addr
	}
	parts := strings.Split(name, "+")
	sp.Transport = parts[0]
	if !knownTransport(sp.Transport) {
		return sp, fmt.Errorf("channel: spec %q: unknown transport %q (want one of %s)", s, sp.Transport, strings.Join(TransportNames(), ", "))
	}
	if len(parts) > 1 && parts[1] == "tls" {
		if sp.Transport == "udp" {
			return sp, fmt.Errorf("channel: spec %q: udp has no TLS; use tcp, unix or http", s)
		}
		sp.TLS = true
		parts = append(parts[:1:1], parts[2:]...)
	}
	if n := len(parts); n > 1 && parts[n-1] == "seal" {
		sp.Seal = true
		parts = parts[:n-1]
	}
	switch len(parts) {
	case 1:
		sp.Codec = "json"
	case 2, 3:
		for _, p := range parts[1:] {
			if p == "" {
				return sp, fmt.Errorf("channel: spec %q: empty codec part", s)
			}
		}
		sp.Codec = strings.Join(parts[1:], "+")
	default:
		return sp, fmt.Errorf("channel: spec %q: want transport+serializer[+compressor]", s)
	}
	return sp, nil
}

// String returns the compact form, with the address when there is one.
func (s Spec) String() string {
	n := s.Name()
	if s.Addr != "" {
		n += "://" + s.Addr
	}
	return n
}

// Name is the compact form without the address, e.g. "tcp+msgpack+zstd".
func (s Spec) Name() string {
	t := s.Transport
	if s.TLS {
		t += "+tls"
	}
	if s.Codec != "" {
		t += "+" + s.Codec
	}
	if s.Seal {
		t += "+seal"
	}
	return t
}

func knownTransport(t string) bool {
	_, ok := TransportCaps(t)
	return ok
}

// Set is a caller-owned lookup of transports by name (no package-level registry).
type Set map[string]Transport

// Get returns the transport named n or an error that lists what the set has.
func (s Set) Get(n string) (Transport, error) {
	if t, ok := s[n]; ok {
		return t, nil
	}
	have := make([]string, 0, len(s))
	for k := range s {
		have = append(have, k)
	}
	return nil, fmt.Errorf("channel: no transport %q in this set (have %s)", n, strings.Join(have, ", "))
}
