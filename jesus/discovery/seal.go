package discovery

import (
	"crypto/ecdh"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/jesus-go/jesus/codec/seal"
	"github.com/jesus-go/jesus/jesus"
)

// SealKeys returns the keys that the instances found by d publish (registry.Instance
// SealKey): with WithSealKeys(d.SealKeys()), a client seals each request to the instance
// its route picked.
func (d *Discovery) SealKeys() jesus.SealKeys {
	var known sync.Map // instance id -> *ecdh.PublicKey; an instance keeps its key for life
	var n atomic.Int64
	return func(r jesus.Route) (*ecdh.PublicKey, error) {
		if r.Instance == "" {
			return nil, fmt.Errorf("route %s names no instance", r.Spec)
		}
		if k, ok := known.Load(r.Instance); ok {
			return k.(*ecdh.PublicKey), nil
		}
		for _, svc := range d.cache.Services() {
			for _, in := range d.cache.Instances(svc) {
				if in.ID != r.Instance {
					continue
				}
				if in.SealKey == "" {
					return nil, fmt.Errorf("instance %s of %s publishes no sealKey", in.ID, svc)
				}
				k, err := seal.ParsePublicKey(in.SealKey)
				if err == nil {
					if n.Add(1) > 4096 { // instances come and go: start over now and then
						known.Clear()
						n.Store(0)
					}
					known.Store(in.ID, k)
				}
				return k, err
			}
		}
		return nil, fmt.Errorf("instance %s is not in the registry (any more)", r.Instance)
	}
}
