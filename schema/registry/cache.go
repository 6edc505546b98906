package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jesus-go/jesus/channel/backoff"
	"github.com/jesus-go/jesus/schema"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Cache tuning.
const (
	listPage        = 500 // keys per Get while listing
	subscriberQueue = 64  // buffered changes per subscriber
	relistMin       = 50 * time.Millisecond
	relistMax       = time.Second
)

// ChangeKind says what changed in a Cache.
type ChangeKind int

const (
	// DescriptorAdded: a version of a service was published (or first seen).
	DescriptorAdded ChangeKind = iota + 1
	// DescriptorRemoved: a version was deleted from etcd by an operator.
	DescriptorRemoved
	// InstanceUp: an instance appeared or its record changed.
	InstanceUp
	// InstanceDown: an instance's key is gone (lease expired or revoked).
	InstanceDown
	// Resync: the subscriber missed changes because it did not keep up;
	// it should re-read what it needs from the cache.
	Resync
)

func (k ChangeKind) String() string {
	switch k {
	case DescriptorAdded:
		return "descriptor-added"
	case DescriptorRemoved:
		return "descriptor-removed"
	case InstanceUp:
		return "instance-up"
	case InstanceDown:
		return "instance-down"
	case Resync:
		return "resync"
	}
	return fmt.Sprintf("ChangeKind(%d)", int(k))
}

// Change is one change of a Cache's view.
type Change struct {
	Kind     ChangeKind
	Service  string
	Version  string // descriptor changes; the instance's version for instance changes
	Instance string // instance id, for instance changes
}

// view is the cached content of the registry.
type view struct {
	descs  map[string]map[string][]byte   // service -> version -> descriptor
	insts  map[string]map[string]Instance // service -> id -> instance
	latest map[string]string              // service -> highest version
	lists  map[string][]Instance          // service -> instances sorted by id
}

func newView() *view {
	return &view{
		descs:  map[string]map[string][]byte{},
		insts:  map[string]map[string]Instance{},
		latest: map[string]string{},
		lists:  map[string][]Instance{},
	}
}

// Cache is an in-memory view of the registry fed by an etcd watch. Reads never
// touch etcd, so they keep answering (with the last known state) while etcd is down.
// On a broken or compacted watch the cache lists everything again and resumes.
// All methods are safe for concurrent use.
type Cache struct {
	r      *Registry
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	mu    sync.RWMutex
	v     *view
	rev   int64                     // etcd revision the view reflects
	rr    map[string]*atomic.Uint64 // round-robin counters per service
	lists uint64                    // number of completed lists

	subMu  sync.Mutex
	subs   map[*subscriber]struct{}
	closed bool
}

type subscriber struct {
	ch   chan Change
	lost bool
}

// Watch lists everything under the prefix, then keeps the returned Cache current
// with a watch from the list's revision on. The first list must succeed within ctx
// and CallTimeout; later failures are retried in the background with backoff.
func (r *Registry) Watch(ctx context.Context) (*Cache, error) {
	c := &Cache{
		r:    r,
		done: make(chan struct{}),
		rr:   map[string]*atomic.Uint64{},
		subs: map[*subscriber]struct{}{},
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	v, rev, err := c.list(ctx)
	if err != nil {
		c.cancel()
		return nil, err
	}
	c.install(v, rev)
	if err := r.own(c); err != nil {
		c.cancel()
		return nil, err
	}
	go c.run()
	return c, nil
}

// list reads every key under the prefix at one revision, page by page.
func (c *Cache) list(ctx context.Context) (*view, int64, error) {
	r := c.r
	v := newView()
	key, end := r.cfg.Prefix, clientv3.GetPrefixRangeEnd(r.cfg.Prefix)
	var rev int64
	for {
		opts := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithLimit(listPage)}
		if rev != 0 {
			opts = append(opts, clientv3.WithRev(rev))
		}
		cctx, cancel := r.callCtx(ctx)
		resp, err := r.cli.Get(cctx, key, opts...)
		cancel()
		if err != nil {
			return nil, 0, wrap(ctx, "list "+r.cfg.Prefix, err)
		}
		if rev == 0 {
			rev = resp.Header.Revision
		}
		for _, kv := range resp.Kvs {
			c.applyPut(v, kv)
		}
		if !resp.More || len(resp.Kvs) == 0 {
			break
		}
		key = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
	for svc := range v.descs {
		v.latest[svc] = latestOf(v.descs[svc])
	}
	for svc := range v.insts {
		v.lists[svc] = sortedInstances(v.insts[svc])
	}
	return v, rev, nil
}

// applyPut stores one key into v; bad records are skipped (and remove what the key
// held before), so hostile content cannot reach readers. It reports the change.
func (c *Cache) applyPut(v *view, kv *mvccpb.KeyValue) (Change, bool) {
	kind, svc, name := c.r.parseKey(string(kv.Key))
	switch kind {
	case keyVersion:
		if len(kv.Value) > c.r.cfg.MaxDescriptorSize || !json.Valid(kv.Value) {
			c.r.log.Warn("registry: skipping bad descriptor", "key", string(kv.Key), "size", len(kv.Value))
			return c.applyDelete(v, kv.Key)
		}
		m := v.descs[svc]
		if m == nil {
			m = map[string][]byte{}
			v.descs[svc] = m
		}
		m[name] = kv.Value
		return Change{Kind: DescriptorAdded, Service: svc, Version: name}, true
	case keyInstance:
		in, err := ParseInstance(kv.Value)
		if err == nil && (in.ID != name || in.Service != svc) {
			err = fmt.Errorf("record names %s/%s", in.Service, in.ID)
		}
		if err != nil {
			c.r.log.Warn("registry: skipping bad instance record", "key", string(kv.Key), "err", err)
			return c.applyDelete(v, kv.Key)
		}
		m := v.insts[svc]
		if m == nil {
			m = map[string]Instance{}
			v.insts[svc] = m
		}
		m[name] = in
		return Change{Kind: InstanceUp, Service: svc, Version: in.Version, Instance: name}, true
	}
	return Change{}, false
}

func (c *Cache) applyDelete(v *view, key []byte) (Change, bool) {
	kind, svc, name := c.r.parseKey(string(key))
	switch kind {
	case keyVersion:
		if _, ok := v.descs[svc][name]; !ok {
			return Change{}, false
		}
		delete(v.descs[svc], name)
		if len(v.descs[svc]) == 0 {
			delete(v.descs, svc)
		}
		return Change{Kind: DescriptorRemoved, Service: svc, Version: name}, true
	case keyInstance:
		in, ok := v.insts[svc][name]
		if !ok {
			return Change{}, false
		}
		delete(v.insts[svc], name)
		if len(v.insts[svc]) == 0 {
			delete(v.insts, svc)
		}
		return Change{Kind: InstanceDown, Service: svc, Version: in.Version, Instance: name}, true
	}
	return Change{}, false
}

func latestOf(m map[string][]byte) string {
	best := ""
	for ver := range m {
		if best == "" || schema.CompareVersions(ver, best) > 0 {
			best = ver
		}
	}
	return best
}

func sortedInstances(m map[string]Instance) []Instance {
	out := slices.Collect(maps.Values(m))
	slices.SortFunc(out, func(a, b Instance) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// install replaces the view after a list and notifies the differences.
func (c *Cache) install(v *view, rev int64) {
	c.mu.Lock()
	old := c.v
	c.v = v
	c.rev = rev
	c.lists++
	c.mu.Unlock()
	if old != nil {
		c.notify(diff(old, v))
	}
}

// diff lists the changes from a to b.
func diff(a, b *view) []Change {
	var out []Change
	for svc, vers := range a.descs {
		for ver := range vers {
			if _, ok := b.descs[svc][ver]; !ok {
				out = append(out, Change{Kind: DescriptorRemoved, Service: svc, Version: ver})
			}
		}
	}
	for svc, vers := range b.descs {
		for ver, doc := range vers {
			if old, ok := a.descs[svc][ver]; !ok || !bytes.Equal(old, doc) {
				out = append(out, Change{Kind: DescriptorAdded, Service: svc, Version: ver})
			}
		}
	}
	for svc, ins := range a.insts {
		for id, in := range ins {
			if _, ok := b.insts[svc][id]; !ok {
				out = append(out, Change{Kind: InstanceDown, Service: svc, Version: in.Version, Instance: id})
			}
		}
	}
	for svc, ins := range b.insts {
		for id, in := range ins {
			if old, ok := a.insts[svc][id]; !ok || !sameInstance(old, in) {
				out = append(out, Change{Kind: InstanceUp, Service: svc, Version: in.Version, Instance: id})
			}
		}
	}
	return out
}

func sameInstance(a, b Instance) bool {
	return a.ID == b.ID && a.Service == b.Service && a.Version == b.Version &&
		a.StartedAt.Equal(b.StartedAt) && maps.Equal(a.Endpoints, b.Endpoints)
}

// run watches and, whenever the watch ends, lists again with backoff and resumes.
func (c *Cache) run() {
	defer close(c.done)
	for {
		c.mu.RLock()
		from := c.rev + 1
		c.mu.RUnlock()
		err := c.watch(from)
		if c.ctx.Err() != nil {
			return
		}
		c.r.log.Warn("registry: watch ended, listing again", "from", from, "err", err)
		bo := backoff.Backoff{Min: relistMin, Max: relistMax}
		for {
			if bo.Wait(c.ctx) != nil {
				return
			}
			v, rev, err := c.list(c.ctx)
			if err == nil {
				c.install(v, rev)
				break
			}
			if c.ctx.Err() != nil {
				return
			}
			c.r.log.Warn("registry: list failed, will retry", "err", err)
		}
	}
}

var errCompacted = errors.New("registry: watch revision compacted")

// watch applies events from revision from on until the watch channel closes.
func (c *Cache) watch(from int64) error {
	ctx, cancel := context.WithCancel(c.ctx)
	defer cancel()
	wch := c.r.cli.Watch(clientv3.WithRequireLeader(ctx), c.r.cfg.Prefix,
		clientv3.WithPrefix(), clientv3.WithRev(from))
	for resp := range wch {
		if resp.CompactRevision != 0 {
			return fmt.Errorf("%w: need %d, compacted up to %d", errCompacted, from, resp.CompactRevision)
		}
		if err := resp.Err(); err != nil {
			if errors.Is(err, rpctypes.ErrCompacted) {
				return fmt.Errorf("%w: %v", errCompacted, err)
			}
			return err
		}
		if resp.Canceled {
			return errors.New("registry: watch canceled by etcd")
		}
		c.apply(resp.Events, resp.Header.Revision)
	}
	return errors.New("registry: watch channel closed")
}

// apply folds watch events into the view, copying only what changes, and notifies.
func (c *Cache) apply(evs []*clientv3.Event, rev int64) {
	if len(evs) == 0 {
		c.mu.Lock()
		if rev > c.rev {
			c.rev = rev
		}
		c.mu.Unlock()
		return
	}
	var changes []Change
	c.mu.Lock()
	// Readers never keep the inner maps past their read lock, and list slices are
	// replaced, not modified, so the view can change in place.
	v := c.v
	touchedDesc, touchedInst := map[string]bool{}, map[string]bool{}
	for _, ev := range evs {
		var ch Change
		var ok bool
		if ev.Type == mvccpb.DELETE {
			ch, ok = c.applyDelete(v, ev.Kv.Key)
		} else {
			ch, ok = c.applyPut(v, ev.Kv)
		}
		if !ok {
			continue
		}
		changes = append(changes, ch)
		if ch.Kind == DescriptorAdded || ch.Kind == DescriptorRemoved {
			touchedDesc[ch.Service] = true
		} else {
			touchedInst[ch.Service] = true
		}
	}
	for svc := range touchedDesc {
		if m := v.descs[svc]; len(m) > 0 {
			v.latest[svc] = latestOf(m)
		} else {
			delete(v.latest, svc)
		}
	}
	for svc := range touchedInst {
		if m := v.insts[svc]; len(m) > 0 {
			v.lists[svc] = sortedInstances(m)
		} else {
			delete(v.lists, svc)
		}
	}
	if rev > c.rev {
		c.rev = rev
	}
	c.mu.Unlock()
	c.notify(changes)
}

// Subscribe returns a channel of changes and a function that ends the subscription
// and closes the channel. The channel is buffered; a subscriber that falls behind
// loses changes and then receives one Resync. The channel is also closed by Close.
func (c *Cache) Subscribe() (<-chan Change, func()) {
	s := &subscriber{ch: make(chan Change, subscriberQueue)}
	c.subMu.Lock()
	if c.closed {
		c.subMu.Unlock()
		close(s.ch)
		return s.ch, func() {}
	}
	c.subs[s] = struct{}{}
	c.subMu.Unlock()
	var once sync.Once
	return s.ch, func() {
		once.Do(func() {
			c.subMu.Lock()
			defer c.subMu.Unlock()
			if _, ok := c.subs[s]; ok {
				delete(c.subs, s)
				close(s.ch)
			}
		})
	}
}

func (c *Cache) notify(changes []Change) {
	if len(changes) == 0 {
		return
	}
	c.subMu.Lock()
	defer c.subMu.Unlock()
	for s := range c.subs {
		for _, ch := range changes {
			if s.lost {
				select {
				case s.ch <- Change{Kind: Resync}:
					s.lost = false
				default:
					continue
				}
			}
			select {
			case s.ch <- ch:
			default:
				s.lost = true
			}
		}
	}
}

func (c *Cache) stop() {
	c.cancel()
	<-c.done
	c.subMu.Lock()
	defer c.subMu.Unlock()
	if c.closed {
		return
	}
	c.closed = true
	for s := range c.subs {
		close(s.ch)
	}
	c.subs = nil
}

// Close stops the watch and closes subscriber channels. Reads keep returning the
// last view. It is safe to call more than once.
func (c *Cache) Close() error {
	c.r.disown(c)
	c.stop()
	return nil
}

// Revision returns the etcd revision the cached view reflects.
func (c *Cache) Revision() int64 { return locked(c.mu.RLocker(), &c.rev) }

// Lists returns how many times the cache has listed etcd: 1 after Watch, one more
// after each recovery from a broken or compacted watch.
func (c *Cache) Lists() uint64 { return locked(c.mu.RLocker(), &c.lists) }

// Instances returns the live instances of service, sorted by id. The Endpoints maps
// are shared with the cache and must not be modified.
func (c *Cache) Instances(service string) []Instance {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return slices.Clone(c.v.lists[service])
}

// Descriptor returns a copy of the cached descriptor of service@version.
func (c *Cache) Descriptor(service, version string) ([]byte, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	doc, ok := c.v.descs[service][version]
	return bytes.Clone(doc), ok
}

// Versions returns the cached versions of service, lowest semver precedence first.
func (c *Cache) Versions(service string) []string {
	c.mu.RLock()
	out := slices.Collect(maps.Keys(c.v.descs[service]))
	c.mu.RUnlock()
	slices.SortFunc(out, schema.CompareVersions)
	return out
}

// Latest returns the highest published version of service and a copy of its descriptor.
func (c *Cache) Latest(service string) (version string, doc []byte, ok bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	version, ok = c.v.latest[service]
	if !ok {
		return "", nil, false
	}
	return version, bytes.Clone(c.v.descs[service][version]), true
}

// Services returns, sorted, the services with a cached version or a live instance.
func (c *Cache) Services() []string {
	c.mu.RLock()
	out := make([]string, 0, len(c.v.descs)+len(c.v.insts))
	for s := range c.v.descs {
		out = append(out, s)
	}
	for s := range c.v.insts {
		if _, ok := c.v.descs[s]; !ok {
			out = append(out, s)
		}
	}
	c.mu.RUnlock()
	slices.Sort(out)
	return out
}
