package sidecar

// The calls of this file are the only uses of jesus's registry-backed discovery, its
// startup compatibility check and the events bus constructor.

import (
	"log/slog"

	"github.com/jesus-go/jesus/events"
	"github.com/jesus-go/jesus/jesus"
	jdisc "github.com/jesus-go/jesus/jesus/discovery"
	"github.com/jesus-go/jesus/schema"
	"github.com/jesus-go/jesus/schema/registry"
)

// discovery resolves calls through the registry and validates them against the
// receivers' published schemas.
type discovery struct{ d *jdisc.Discovery }

func newDiscovery(cache *registry.Cache) *discovery {
	return &discovery{d: jdisc.New(cache)}
}

func (d *discovery) resolver() jesus.Resolver     { return d.d }
func (d *discovery) validation() jesus.Validation { return d.d }
func (d *discovery) schemas() *schema.Set         { return d.d.Schemas() }
func (d *discovery) close()                       { d.d.Close() }

// startCompat runs the startup compatibility check of an app and keeps re-checking.
func startCompat(self *schema.Descriptor, cache *registry.Cache, policy jdisc.CompatPolicy, logger *slog.Logger) (*jdisc.Compat, error) {
	return jdisc.StartCompat(self, cache, policy, logger)
}

// newBus returns the events bus of service self, routed by d and served by srv (nil:
// emit only).
func newBus(self *schema.Descriptor, set *schema.Set, d *discovery, srv *jesus.Server, opts ...events.Option) (*events.Bus, error) {
	return events.New(self, set, d.d, nil, srv, opts...)
}
