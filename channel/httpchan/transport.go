package httpchan

import (
	"context"
	"strings"

	"github.com/jesus-go/jesus/channel"
)

type transport struct{}

// New returns the http transport. Each Conn it dials owns an http.Client with its own
// keep-alive connection pool and is safe for concurrent use; each Listener is one
// net/http server whose limits come from channel.Config.
func New() channel.Transport { return transport{} }

func (transport) Name() string { return "http" }

func (transport) Caps() channel.Caps {
	return channel.Caps{Response: true, Stream: true, Reliable: true}
}

// Dial returns a client for addr ("host:port", or a URL "http://host:port/prefix"). It
// connects lazily; connections are kept alive and reused.
func (transport) Dial(ctx context.Context, addr string, cfg channel.Config) (channel.Conn, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return dial(addr, cfg)
}

// Listen binds addr, "host:port" or "http://host:port" ("127.0.0.1:0" picks a free port).
// The listener serves HTTP/1.1, over TLS when cfg.TLS is set ("https://" addresses too).
func (transport) Listen(ctx context.Context, addr string, cfg channel.Config) (channel.Listener, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return listen(ctx, strings.TrimPrefix(strings.TrimPrefix(addr, "http://"), "https://"), cfg)
}
