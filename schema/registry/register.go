package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/jesus-go/jesus/channel/backoff"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Backoff of re-registration while etcd is unreachable.
const (
	reregisterMin = 50 * time.Millisecond
	reregisterMax = time.Second
)

// Registration keeps one instance registered: its key lives under a lease that is
// kept alive, and when the lease is lost (etcd restarted, or unreachable for longer
// than the TTL) a new lease is granted and the key written again, with backoff, until
// that succeeds or the registration is closed. Methods are safe for concurrent use.
type Registration struct {
	r    *Registry
	inst Instance
	key  string
	val  string

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	mu         sync.Mutex
	lease      clientv3.LeaseID
	registered bool
	count      int
	changed    chan struct{}
	closed     bool
}

// Register validates inst, grants a lease of the registry's TTL, writes the instance
// key with it and keeps it alive in the background. StartedAt defaults to now. The
// first write happens before Register returns; an etcd that is down gives an error.
func (r *Registry) Register(ctx context.Context, inst Instance) (*Registration, error) {
	if inst.StartedAt.IsZero() {
		inst.StartedAt = time.Now().UTC()
	}
	if err := inst.Validate(); err != nil {
		return nil, err
	}
	val, err := json.Marshal(inst)
	if err != nil {
		return nil, fmt.Errorf("registry: instance %s: %w", inst.ID, err)
	}
	g := &Registration{
		r:       r,
		inst:    inst,
		key:     r.instanceKey(inst.Service, inst.ID),
		val:     string(val),
		done:    make(chan struct{}),
		changed: make(chan struct{}),
	}
	g.ctx, g.cancel = context.WithCancel(context.Background())
	ka, err := g.register(ctx)
	if err != nil {
		g.cancel()
		return nil, err
	}
	if err := r.own(g); err != nil {
		g.cancel()
		g.revoke(g.lease)
		return nil, err
	}
	go g.run(ka)
	return g, nil
}

// register grants a lease, writes the key under it and starts its keep-alive.
func (g *Registration) register(ctx context.Context) (<-chan *clientv3.LeaseKeepAliveResponse, error) {
	ttl := int64(g.r.cfg.TTL / time.Second)
	op := "register " + g.inst.Service + "/" + g.inst.ID
	cctx, cancel := g.r.callCtx(ctx)
	defer cancel()
	lease, err := g.r.cli.Grant(cctx, ttl)
	if err != nil {
		return nil, wrap(ctx, op+": grant lease", err)
	}
	if _, err := g.r.cli.Put(cctx, g.key, g.val, clientv3.WithLease(lease.ID)); err != nil {
		g.revoke(lease.ID)
		return nil, wrap(ctx, op+": put", err)
	}
	ka, err := g.r.cli.KeepAlive(g.ctx, lease.ID)
	if err != nil {
		g.revoke(lease.ID)
		return nil, wrap(ctx, op+": keep-alive", err)
	}
	g.mu.Lock()
	g.lease = lease.ID
	g.registered = true
	g.count++
	g.notifyLocked()
	g.mu.Unlock()
	return ka, nil
}

// revoke drops a lease best-effort, bounded by CallTimeout.
func (g *Registration) revoke(id clientv3.LeaseID) {
	ctx, cancel := g.r.callCtx(context.Background())
	defer cancel()
	_, _ = g.r.cli.Revoke(ctx, id)
}

func (g *Registration) run(ka <-chan *clientv3.LeaseKeepAliveResponse) {
	defer close(g.done)
	for {
		for range ka {
			// Each response extends the lease; the channel closes when it is lost.
		}
		if g.ctx.Err() != nil {
			return
		}
		g.mu.Lock()
		g.registered = false
		g.notifyLocked()
		g.mu.Unlock()
		lost := time.Now()
		g.r.log.Warn("registry: lease lost, registering again", "service", g.inst.Service, "id", g.inst.ID)
		bo := backoff.Backoff{Min: reregisterMin, Max: reregisterMax}
		for {
			var err error
			ka, err = g.register(g.ctx)
			if err == nil {
				g.r.log.Info("registry: registered again", "service", g.inst.Service, "id", g.inst.ID, "after", time.Since(lost))
				break
			}
			if g.ctx.Err() != nil {
				return
			}
			g.r.log.Warn("registry: register failed, will retry", "service", g.inst.Service, "id", g.inst.ID, "err", err)
			if bo.Wait(g.ctx) != nil {
				return
			}
		}
	}
}

func (g *Registration) notifyLocked() {
	close(g.changed)
	g.changed = make(chan struct{})
}

// Instance returns the registered record.
func (g *Registration) Instance() Instance { return g.inst }

// Registered reports whether the instance key is currently held under a live lease,
// as far as this process knows.
func (g *Registration) Registered() bool { return locked(&g.mu, &g.registered) }

// Count returns how many times the instance has been written: 1 after Register,
// one more after each re-registration.
func (g *Registration) Count() int { return locked(&g.mu, &g.count) }

// Changed returns a channel that is closed at the next change of Registered or Count.
func (g *Registration) Changed() <-chan struct{} { return locked(&g.mu, &g.changed) }

// stop ends the keep-alive loop without revoking; the lease expires after its TTL.
func (g *Registration) stop() {
	g.cancel()
	<-g.done
	g.mu.Lock()
	if !g.closed {
		g.closed = true
		g.registered = false
		g.notifyLocked()
	}
	g.mu.Unlock()
}

// Close deregisters: it stops the keep-alive and revokes the lease, which deletes the
// instance key at once so callers stop picking it. When etcd cannot be reached the
// error wraps ErrUnavailable and the key disappears after the TTL instead. Close is
// safe to call more than once; later calls return nil.
func (g *Registration) Close(ctx context.Context) error {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return nil
	}
	g.mu.Unlock()
	g.r.disown(g)
	g.stop()
	g.mu.Lock()
	lease := g.lease
	g.mu.Unlock()
	if lease == 0 || g.r.isClosed() {
		return nil
	}
	cctx, cancel := g.r.callCtx(ctx)
	defer cancel()
	if _, err := g.r.cli.Revoke(cctx, lease); err != nil {
		return wrap(ctx, "deregister "+g.inst.Service+"/"+g.inst.ID, err)
	}
	return nil
}
