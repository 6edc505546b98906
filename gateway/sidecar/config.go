package sidecar

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"time"

	jdisc "github.com/jesus-go/jesus/jesus/discovery"

	"github.com/jesus-go/jesus/schema/registry"
)

// Config configures a Sidecar. Zero fields take the defaults of DefaultConfig.
type Config struct {
	// Registry is the etcd registry apps are published and registered in. Required.
	Registry *registry.Registry
	// Cache is a watch-fed cache of Registry, the caller's. Required.
	Cache *registry.Cache
	// Name is the service name (Meta.From) of calls and emits made without Jesus-From
	// naming an app of this sidecar. Default "jesus-sidecar".
	Name string
	// MaxBody bounds every request body the API reads and every reply an app sends,
	// in bytes. Default 4 MiB.
	MaxBody int64
	// MaxBodies bounds the request bodies held by all API requests in flight together,
	// in bytes; a request over it is refused with resource_exhausted. Default 256 MiB.
	MaxBodies int64
	// MaxConcurrent caps the requests each app's server forwards at once; more are
	// refused with resource_exhausted. Default 256.
	MaxConcurrent int
	// CallTimeout bounds a call or an emit whose request carries no Jesus-Timeout.
	// Default 30 s.
	CallTimeout time.Duration
	// AppTimeout bounds one request forwarded to an app (the caller's deadline, when
	// shorter, wins). Default 30 s.
	AppTimeout time.Duration
	// HealthInterval is how often an app's health check runs when its registration
	// gives none. Default 2 s; each check waits at most half of it.
	HealthInterval time.Duration
	// MaxApps bounds the apps registered at once. Default 64.
	MaxApps int
	// MaxSubscribers bounds the SSE and WebSocket subscribers at once. Default 1024.
	MaxSubscribers int
	// SubscriberBuffer is how many events wait for one slow subscriber before further
	// ones are dropped for it (counted). Default 64.
	SubscriberBuffer int
	// ChannelHost is the host apps' tcp, http and udp channels bind on (port 0: a free
	// one). Default "127.0.0.1".
	ChannelHost string
	// SocketDir is where apps' unix channels get their sockets. Required when an app's
	// descriptor declares a unix channel.
	SocketDir string
	// Compat is the policy of the startup compatibility check of every app.
	Compat jdisc.CompatPolicy
	// Logger receives what the sidecar cannot return to anyone (push failures, health
	// changes). Default: discard.
	Logger *slog.Logger
}

// DefaultConfig returns the defaults (without Registry and Cache).
func DefaultConfig() Config {
	return Config{
		Name:             "jesus-sidecar",
		MaxBody:          4 << 20,
		MaxBodies:        256 << 20,
		MaxConcurrent:    256,
		CallTimeout:      30 * time.Second,
		AppTimeout:       30 * time.Second,
		HealthInterval:   2 * time.Second,
		MaxApps:          64,
		MaxSubscribers:   1024,
		SubscriberBuffer: 64,
		ChannelHost:      "127.0.0.1",
	}
}

// withDefaults fills zero fields from DefaultConfig.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	c.Name = cmp.Or(c.Name, d.Name)
	c.MaxBody = cmp.Or(c.MaxBody, d.MaxBody)
	c.MaxBodies = cmp.Or(c.MaxBodies, d.MaxBodies)
	c.MaxConcurrent = cmp.Or(c.MaxConcurrent, d.MaxConcurrent)
	c.CallTimeout = cmp.Or(c.CallTimeout, d.CallTimeout)
	c.AppTimeout = cmp.Or(c.AppTimeout, d.AppTimeout)
	c.HealthInterval = cmp.Or(c.HealthInterval, d.HealthInterval)
	c.MaxApps = cmp.Or(c.MaxApps, d.MaxApps)
	c.MaxSubscribers = cmp.Or(c.MaxSubscribers, d.MaxSubscribers)
	c.SubscriberBuffer = cmp.Or(c.SubscriberBuffer, d.SubscriberBuffer)
	c.ChannelHost = cmp.Or(c.ChannelHost, d.ChannelHost)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Validate reports the first field that is wrong (after defaults).
func (c Config) Validate() error {
	switch {
	case c.Registry == nil || c.Cache == nil:
		return errors.New("sidecar: Config.Registry and Config.Cache are required")
	case c.MaxBody < 1:
		return fmt.Errorf("sidecar: MaxBody %d: want at least 1 byte", c.MaxBody)
	case c.MaxBodies < c.MaxBody:
		return fmt.Errorf("sidecar: MaxBodies %d: want at least MaxBody (%d)", c.MaxBodies, c.MaxBody)
	case c.MaxConcurrent < 1:
		return fmt.Errorf("sidecar: MaxConcurrent %d: want at least 1", c.MaxConcurrent)
	case c.CallTimeout < 0 || c.AppTimeout < 0:
		return errors.New("sidecar: CallTimeout and AppTimeout must not be negative")
	case c.HealthInterval < 10*time.Millisecond:
		return fmt.Errorf("sidecar: HealthInterval %v: want at least 10ms", c.HealthInterval)
	case c.MaxApps < 1 || c.MaxSubscribers < 1 || c.SubscriberBuffer < 1:
		return errors.New("sidecar: MaxApps, MaxSubscribers and SubscriberBuffer must be at least 1")
	}
	return nil
}
