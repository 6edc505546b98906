package framed

import (
	"context"
	"fmt"
	"net"

	"github.com/jesus-go/jesus/channel"
)

// TCP returns the framed transport over TCP ("tcp"). Addresses are host:port.
func TCP() channel.Transport { return tcpTransport }

// Unix returns the framed transport over unix stream sockets ("unix"). Addresses are
// socket paths. Listen removes a socket file left behind by a listener that died (a
// connect to it is refused) and fails when something is live on it or the path is not a
// socket; Close removes it.
func Unix() channel.Transport { return unixTransport }

var (
	tcpTransport  = &transport{name: "tcp", where: "tcp frame"}
	unixTransport = &transport{name: "unix", where: "unix frame"}
)

type transport struct {
	name  string // also the network name for package net
	where string
}

func (t *transport) Name() string { return t.name }

func (t *transport) Caps() channel.Caps {
	return channel.Caps{Response: true, Stream: true, Reliable: true}
}

func (t *transport) config(cfg channel.Config) (channel.Config, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("framed: %w", err)
	}
	return cfg, nil
}

// Dial returns a Conn that connects lazily, on the first Open.
func (t *transport) Dial(ctx context.Context, addr string, cfg channel.Config) (channel.Conn, error) {
	cfg, err := t.config(cfg)
	if err != nil {
		return nil, err
	}
	if err := t.checkAddr(addr); err != nil {
		return nil, err
	}
	return &client{t: t, addr: addr, cfg: cfg, slots: make([]slot, cfg.PoolSize), tls: clientTLS(t.name, addr, cfg.TLS)}, nil
}

// Listen binds addr; Serve starts accepting.
func (t *transport) Listen(ctx context.Context, addr string, cfg channel.Config) (channel.Listener, error) {
	cfg, err := t.config(cfg)
	if err != nil {
		return nil, err
	}
	if err := t.checkAddr(addr); err != nil {
		return nil, err
	}
	if t.name == "unix" {
		if err := clearStaleSocket(ctx, addr); err != nil {
			return nil, err
		}
	}
	var lc net.ListenConfig
	nl, err := lc.Listen(ctx, t.name, addr)
	if err != nil {
		return nil, fmt.Errorf("framed: listen %s %s: %w", t.name, addr, err)
	}
	if cfg.TLS != nil {
		nl = &tlsListener{Listener: nl, cfg: cfg.TLS}
	}
	return newListener(t, nl, cfg), nil
}

// maxUnixPath is the longest socket path the kernel takes (sun_path is 108 bytes on
// Linux, including the terminating NUL).
const maxUnixPath = 107

func (t *transport) checkAddr(addr string) error {
	if addr == "" {
		return fmt.Errorf("framed: %s: empty address", t.name)
	}
	if t.name == "unix" && len(addr) > maxUnixPath {
		return fmt.Errorf("framed: unix socket path of %d bytes exceeds the limit of %d bytes: %s", len(addr), maxUnixPath, addr)
	}
	return nil
}
