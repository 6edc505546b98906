package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/events"
	"github.com/jesus-go/jesus/jesus"
	"github.com/jesus-go/jesus/schema"
	"github.com/jesus-go/jesus/schema/registry"
	"github.com/spf13/cobra"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// emitterOf is a service whose latest descriptor declares an event.
type emitterOf struct {
	service, version string
	doc              []byte
	desc             *schema.Descriptor
	spec             string // the event's channel spec, e.g. "http+json+gzip"
	chName           string
}

// emitters returns, sorted by service, the services whose latest descriptor declares event.
func emitters(cache *registry.Cache, event string) ([]emitterOf, error) {
	var out []emitterOf
	for _, svc := range cache.Services() {
		ver, doc, ok := cache.Latest(svc)
		if !ok {
			continue
		}
		var top struct {
			Channels map[string]schema.ChannelSpec `json:"channels"`
			Events   map[string]struct {
				Channel string `json:"channel"`
			} `json:"events"`
		}
		if json.Unmarshal(doc, &top) != nil {
			continue
		}
		ev, ok := top.Events[event]
		if !ok {
			continue
		}
		ch, ok := top.Channels[ev.Channel]
		if !ok {
			continue
		}
		d, err := schema.Parse(svc+"@"+ver+".json", doc)
		if err != nil {
			return nil, fmt.Errorf("%s@%s: %w", svc, ver, err)
		}
		out = append(out, emitterOf{service: svc, version: ver, doc: doc, desc: d, spec: ch.Spec(), chName: ev.Channel})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].service < out[j].service })
	return out, nil
}

// cliEmitter builds the descriptor the CLI emits event as: service jesus-cli declaring the
// event with the channel, mode and payload schema of the emitting service em (its payload
// is a $ref into em's published descriptor, which joins the set).
func cliEmitter(em emitterOf, event string) (*schema.Set, *schema.Descriptor, error) {
	set := schema.NewSet()
	file := em.service + "@" + em.version + ".json"
	if err := set.Add(file, em.doc); err != nil {
		return nil, nil, err
	}
	ep := em.desc.Events[event]
	doc := map[string]any{
		"service":     cliService,
		"version":     "0.0.0",
		"description": fmt.Sprintf("jesus emit: %s as declared by %s@%s", event, em.service, em.version),
		"channels":    map[string]string{em.chName: em.spec},
		"events": map[string]any{event: map[string]any{
			"channel": em.chName,
			"mode":    ep.Mode.String(),
			"payload": map[string]string{"$ref": file + "#/events/" + event + "/payload"},
		}},
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, nil, err
	}
	if err := set.Add(cliService+".json", b); err != nil {
		return nil, nil, err
	}
	return set, set.Service(cliService), nil
}

func newEmitCmd(g *globals) *cobra.Command {
	var from string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "emit EVENT [JSON]",
		Short: "Emit an event to every service that listens to it",
		Long: `emit sends JSON (the argument, or stdin when there is none) as EVENT to every service
whose latest descriptor listens to it, in the mode and over the channel that the
emitting service declares. The CLI emits as service "jesus-cli" with a descriptor it
makes up on the spot: the event's declaration (channel, mode, payload schema) copied from
the service that declares it in the registry (--from names it when several do; default:
the first by name). The payload is validated before it is sent.

It prints one JSON line: the event id and which services acknowledged it (ack events) or
were sent it (noResponse events); it exits 1 if any listening service did not get it.

Example:
  jesus emit order.created '{"orderId":"o-1","customerId":"c-1","total":{"amount":5,"currency":"EUR"},"at":"2026-01-02T03:04:05Z"}'`,
		Args: argsBetween(1, 2),
		RunE: func(c *cobra.Command, args []string) error {
			event := args[0]
			payload, err := readJSON(args, 1, g.env.Stdin, "emit "+event)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(c.Context(), timeout)
			defer cancel()
			bus, em, done, err := g.emitBus(ctx, "emit", event, from)
			if err != nil {
				return err
			}
			defer done()
			res, err := events.Emit[any](ctx, bus, event, payload)
			line := struct {
				Event  string            `json:"event"`
				ID     string            `json:"id,omitempty"`
				As     string            `json:"as"`
				Acked  []string          `json:"acked,omitempty"`
				Sent   []string          `json:"sent,omitempty"`
				Failed map[string]string `json:"failed,omitempty"`
			}{Event: event, ID: res.ID, As: em.service + "@" + em.version, Acked: res.Acked, Sent: res.Sent}
			for svc, e := range res.Failed {
				if line.Failed == nil {
					line.Failed = map[string]string{}
				}
				line.Failed[svc] = e.Error()
			}
			if res.ID != "" {
				if werr := writeJSONLine(g.env.Stdout, line); werr != nil {
					return withCode(ExitFailure, werr)
				}
			}
			if err != nil {
				return callErr(err)
			}
			if len(res.Acked)+len(res.Sent) == 0 {
				fmt.Fprintf(g.env.Stderr, "emit: no service listens to %s\n", event)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "the service whose declaration of the event to use (default: the first that declares it)")
	cmd.Flags().DurationVar(&timeout, "timeout", 10*time.Second, "deadline of the whole emit; ack events are retried until then")
	return cmd
}

func pickEmitter(ems []emitterOf, event, from string) (emitterOf, error) {
	if len(ems) == 0 {
		return emitterOf{}, withCode(ExitFailure, fmt.Errorf("no service in the registry declares event %q (see jesus schema ls)", event))
	}
	if from == "" {
		return ems[0], nil
	}
	names := make([]string, len(ems))
	for i, e := range ems {
		if e.service == from {
			return e, nil
		}
		names[i] = e.service
	}
	return emitterOf{}, withCode(ExitFailure, fmt.Errorf("--from %s: it does not declare event %q (declared by %s)", from, event, strings.Join(names, ", ")))
}

func newListenCmd(g *globals) *cobra.Command {
	var count int
	var dur time.Duration
	var adminAddr string
	cmd := &cobra.Command{
		Use:   "listen EVENT...",
		Short: "Tail events as JSON lines",
		Long: `listen joins the registry as a listener of each EVENT and prints every event it
receives as one JSON line: {"event","id","from","corrid","at","received","payload"}.

It registers as service "jesus-listen-<random>" whose descriptor lists the events under
listens with an open payload schema (it shows what emitters send; their own schemas
checked it already) and offers one channel per transport the emitters use, on loopback.
That descriptor and the instance are held under leases: they are deleted when listen
stops, and expire within seconds if it dies. Every listen process gets every event.
It needs a registry others use (--etcd, JESUS_ETCD or a running jesus registry serve);
it never starts a private embedded etcd, where no emitter would find it.

It runs until interrupted, until --count events arrived, or for --for.`,
		Args: argsBetween(1, -1),
		RunE: func(c *cobra.Command, args []string) error {
			if count < 0 || dur < 0 {
				return usagef("listen: --count and --for must not be negative")
			}
			ctx := c.Context()
			cn, err := g.openShared(ctx, "listen")
			if err != nil {
				return err
			}
			defer cn.Close()
			l, err := startListener(ctx, cn.reg, args)
			if err != nil {
				return err
			}
			defer l.close()
			stopAdmin, err := startAdmin(adminAddr, g)
			if err != nil {
				return err
			}
			defer stopAdmin()
			fmt.Fprintf(g.env.Stderr, "listening to %s as %s (%s)\n", strings.Join(args, ", "), l.service, cn.where)
			if dur > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, dur)
				defer cancel()
			}
			n, err := printTail(ctx, g.env.Stdout, l.tail, count)
			st := l.stats()
			fmt.Fprintf(g.env.Stderr, "listen: printed %d event(s); received %d, duplicates %d, lost (udp sequence gaps) %d, not printed (slow output) %d\n",
				n, st.Received, st.Duplicates, st.Lost, st.TailDropped)
			return err
		},
	}
	cmd.Flags().IntVar(&count, "count", 0, "stop after this many events (0: no limit)")
	cmd.Flags().DurationVar(&dur, "for", 0, "stop after this long (0: until interrupted)")
	addAdminFlag(cmd, &adminAddr)
	return cmd
}

// printTail prints the records of tail as JSON lines until ctx ends, tail closes or count
// (when positive) were printed; it returns how many it printed.
func printTail(ctx context.Context, w io.Writer, tail <-chan events.Record, count int) (int, error) {
	n := 0
	for {
		select {
		case <-ctx.Done():
			return n, nil
		case rec, ok := <-tail:
			if !ok {
				return n, nil
			}
			if err := writeJSONLine(w, rec); err != nil {
				return n, withCode(ExitFailure, err)
			}
			if n++; count > 0 && n >= count {
				return n, nil
			}
		}
	}
}

// listener is a running "jesus listen": a server and bus registered under leases.
type listener struct {
	service string
	tail    <-chan events.Record
	stats   func() events.Stats
	close   func()
}

// startListener registers a transient listening service for evs and starts serving it.
func startListener(ctx context.Context, reg *registry.Registry, evs []string) (*listener, error) {
	cache, err := reg.Watch(ctx)
	if err != nil {
		return nil, registryErr(fmt.Errorf("listen: %w", err))
	}
	var open closers
	open.add(func() { cache.Close() })
	fail := func(err error) (*listener, error) { open.close(); return nil, err }

	set, self, err := listenerDescriptor(cache, evs)
	if err != nil {
		return fail(err)
	}
	name := self.Service
	srv := jesus.NewServer(name)
	open.add(func() { srv.Close() })
	bus, err := events.New(self, set, nil, nil, srv) // it only listens
	if err != nil {
		return fail(withCode(ExitFailure, fmt.Errorf("listen: %w", err)))
	}
	open.add(func() { bus.Close() })
	for _, ev := range evs {
		if err := events.On(bus, ev, func(context.Context, events.Event[any]) error { return nil }); err != nil {
			return fail(withCode(ExitFailure, fmt.Errorf("listen: %w", err)))
		}
	}
	tail, stopTail := bus.Tail()
	open.add(stopTail)
	dir, err := os.MkdirTemp("", "jesus-listen-")
	if err != nil {
		return fail(withCode(ExitFailure, err))
	}
	open.add(func() { os.RemoveAll(dir) })
	if err := srv.ListenDescriptor(ctx, self, jesus.LoopbackAddrs(dir)); err != nil {
		return fail(withCode(ExitFailure, fmt.Errorf("listen: %w", err)))
	}
	if err := registerListener(ctx, reg, self, srv, &open); err != nil {
		return fail(err)
	}
	return &listener{service: name, tail: tail, stats: bus.Stats, close: open.close}, nil
}

// listenerDescriptor is the descriptor of a transient listener of evs: a random service
// name, the events under listens with an open payload schema, and one channel per
// transport the emitters of evs use.
func listenerDescriptor(cache *registry.Cache, evs []string) (*schema.Set, *schema.Descriptor, error) {
	channels := map[string]string{} // transport -> spec offered
	listens := map[string]any{}
	for _, ev := range evs {
		ems, err := emitters(cache, ev)
		if err != nil {
			return nil, nil, withCode(ExitFailure, fmt.Errorf("listen: %w", err))
		}
		if len(ems) == 0 {
			return nil, nil, withCode(ExitFailure, fmt.Errorf("listen: no service in the registry declares event %q, so none would send it (see jesus schema ls)", ev))
		}
		for _, em := range ems {
			sp, err := channel.ParseSpec(em.spec)
			if err != nil {
				return nil, nil, withCode(ExitFailure, fmt.Errorf("listen: %s@%s: %w", em.service, em.version, err))
			}
			if _, ok := channels[sp.Transport]; !ok {
				channels[sp.Transport] = em.spec
			}
		}
		listens[ev] = map[string]any{"payload": map[string]any{}}
	}
	name := "jesus-listen-" + strings.ReplaceAll(uuid.NewString(), "-", "")[:12]
	doc, err := json.Marshal(map[string]any{
		"service": name, "version": "0.0.0",
		"description": "jesus listen: " + strings.Join(evs, ", "),
		"channels":    channels, "listens": listens,
	})
	if err != nil {
		return nil, nil, withCode(ExitFailure, err)
	}
	set := schema.NewSet()
	if err := set.Add(name+".json", doc); err != nil {
		return nil, nil, withCode(ExitFailure, fmt.Errorf("listen: descriptor: %w", err))
	}
	return set, set.Service(name), nil
}

// registerListener registers srv's instance, then publishes self under a lease: in that
// order, so that no emitter finds a listener without an instance. What it does is undone
// by open.
func registerListener(ctx context.Context, reg *registry.Registry, self *schema.Descriptor, srv *jesus.Server, open *closers) error {
	gr, err := reg.Register(ctx, registry.Instance{ID: uuid.NewString(), Service: self.Service, Version: "0.0.0", Endpoints: srv.Endpoints()})
	if err != nil {
		return registryErr(fmt.Errorf("listen: register: %w", err))
	}
	open.add(func() {
		cctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		gr.Close(cctx)
	})
	bundle, err := self.Bundle()
	if err != nil {
		return withCode(ExitFailure, err)
	}
	revoke, err := publishLeased(ctx, reg, self.Service, "0.0.0", bundle)
	if err != nil {
		return registryErr(fmt.Errorf("listen: publish: %w", err))
	}
	open.add(revoke)
	return nil
}

// publishLeased writes a descriptor under a lease of the registry's TTL that this process
// keeps alive, and writes it again under a new lease when that one is lost (etcd restarted
// or unreachable for longer than the TTL); revoke deletes it at once. Descriptors of
// services are permanent; a CLI listener is not a service, and must not be routed to once
// it is gone.
func publishLeased(ctx context.Context, reg *registry.Registry, svc, ver string, doc []byte) (revoke func(), err error) {
	cfg := reg.Config()
	p := &leasedKey{cli: reg.Client(), key: cfg.Prefix + "services/" + svc + "/versions/" + ver, val: string(doc),
		ttl: int64(max(cfg.TTL/time.Second, 1)), callTimeout: cfg.CallTimeout}
	if err := p.put(ctx); err != nil {
		return nil, fmt.Errorf("%w: %v", registry.ErrUnavailable, err)
	}
	kctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.keep(kctx)
	}()
	return func() {
		stop()
		<-done
		rctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		p.cli.Revoke(rctx, p.lease)
	}, nil
}

// leasedKey is one key held under a lease by keep.
type leasedKey struct {
	cli         *clientv3.Client
	key, val    string
	ttl         int64
	callTimeout time.Duration
	lease       clientv3.LeaseID // written by put; read by keep and, after keep ended, revoke
}

func (p *leasedKey) put(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, p.callTimeout)
	defer cancel()
	l, err := p.cli.Grant(cctx, p.ttl)
	if err != nil {
		return err
	}
	if _, err := p.cli.Put(cctx, p.key, p.val, clientv3.WithLease(l.ID)); err != nil {
		p.cli.Revoke(cctx, l.ID)
		return err
	}
	p.lease = l.ID
	return nil
}

// keep keeps the lease alive until ctx ends; when it is lost it puts the key again under
// a new lease, retrying with backoff (50 ms doubling to 1 s).
func (p *leasedKey) keep(ctx context.Context) {
	for {
		ka, err := p.cli.KeepAlive(ctx, p.lease)
		if err == nil {
			for range ka { // drain the answers until the lease or ctx ends
			}
		}
		backoff := 50 * time.Millisecond
		for {
			if ctx.Err() != nil {
				return
			}
			if p.put(ctx) == nil {
				break
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, time.Second)
		}
	}
}
