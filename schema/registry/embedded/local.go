package embedded

import (
	"context"
	"errors"

	"github.com/jesus-go/jesus/schema/registry"
)

// Local is a whole registry in this process: an embedded etcd, a Registry open on it and
// the Registry's watch-fed Cache. It is what tests, examples and demos start in place of a
// cluster; a service that runs against a cluster opens registry.Open on its endpoints.
type Local struct {
	Etcd     *Server
	Registry *registry.Registry
	Cache    *registry.Cache
}

// StartLocal starts etcd (see Start; an empty cfg.Dir is a temporary directory), opens a
// Registry with rc on it (its Endpoints are etcd's) and starts the Registry's watch.
// Close closes the three in reverse order.
func StartLocal(ctx context.Context, cfg Config, rc registry.Config) (*Local, error) {
	etcd, err := Start(ctx, cfg)
	if err != nil {
		return nil, err
	}
	rc.Endpoints = etcd.Endpoints()
	reg, err := registry.Open(ctx, rc)
	if err != nil {
		etcd.Close()
		return nil, err
	}
	cache, err := reg.Watch(ctx)
	if err != nil {
		reg.Close()
		etcd.Close()
		return nil, err
	}
	return &Local{Etcd: etcd, Registry: reg, Cache: cache}, nil
}

// Close closes the cache, the registry (its registrations' leases are revoked) and etcd.
func (l *Local) Close() error {
	return errors.Join(l.Cache.Close(), l.Registry.Close(), l.Etcd.Close())
}
