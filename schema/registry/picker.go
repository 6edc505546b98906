package registry

import (
	"fmt"
	"sync/atomic"
)

// Pick returns the next live instance of service in round-robin order. With a
// non-empty channel only instances that offer that channel take part. skip, when
// not nil, rules out instances the caller cannot use (for example one whose
// connection just failed, so that a request not yet sent goes to another one).
// With no usable instance the error wraps ErrNoInstance and names the service.
// Pick does not touch etcd.
func (c *Cache) Pick(service, channel string, skip func(Instance) bool) (Instance, error) {
	c.mu.RLock()
	list := c.v.lists[service]
	ctr := c.rr[service]
	c.mu.RUnlock()
	if len(list) == 0 {
		return Instance{}, fmt.Errorf("%w: service %q has no registered instance", ErrNoInstance, service)
	}
	if ctr == nil {
		c.mu.Lock()
		if ctr = c.rr[service]; ctr == nil {
			ctr = new(atomic.Uint64)
			c.rr[service] = ctr
		}
		c.mu.Unlock()
	}
	n := uint64(len(list))
	start := ctr.Add(1) - 1
	noChannel, skipped := 0, 0
	for i := uint64(0); i < n; i++ {
		in := list[(start+i)%n]
		if channel != "" {
			if _, ok := in.Endpoints[channel]; !ok {
				noChannel++
				continue
			}
		}
		if skip != nil && skip(in) {
			skipped++
			continue
		}
		return in, nil
	}
	if channel != "" {
		return Instance{}, fmt.Errorf("%w: service %q, channel %q: %d instances, %d without the channel, %d skipped", ErrNoInstance, service, channel, n, noChannel, skipped)
	}
	return Instance{}, fmt.Errorf("%w: service %q: %d instances, all %d skipped", ErrNoInstance, service, n, skipped)
}

// Picker balances calls to one service; see Cache.Pick.
type Picker struct {
	c       *Cache
	service string
}

// Picker returns a round-robin picker over the live instances of service.
func (c *Cache) Picker(service string) *Picker { return &Picker{c: c, service: service} }

// Pick returns the next usable instance; see Cache.Pick.
func (p *Picker) Pick(channel string, skip func(Instance) bool) (Instance, error) {
	return p.c.Pick(p.service, channel, skip)
}
