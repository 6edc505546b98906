package events

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/google/uuid"
	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/codec"
	"github.com/jesus-go/jesus/jesus"
	"github.com/jesus-go/jesus/jesus/discovery"
	"github.com/jesus-go/jesus/schema"
)

// Bus emits the events one service declares and runs the handlers of those it listens to.
// Create it with New; see the package documentation for what it guarantees.
type Bus struct {
	self *schema.Descriptor
	set  *schema.Set
	srv  *jesus.Server
	disc *discovery.Discovery
	o    options

	out map[string]*outEvent // events self emits, by name

	// emitter state
	idBase     [8]byte                // random, per bus: the first half of every event id
	idNext     atomic.Uint64          // the second half
	src        atomic.Pointer[string] // names this bus's sequence streams; renewed when seqs is reset
	seqMu      sync.Mutex
	seqs       map[seqKey]*seqStream
	routeMu    sync.Mutex
	routes     atomic.Pointer[routeTable]
	bufs       sync.Pool     // *[]byte: encoded payloads, reused once an emit returns
	extras     sync.Pool     // map[string]string: event meta of one delivery, reused once it ends
	cli        *jesus.Client // sends every event; its connections are shared by all emits
	ownCli     bool          // cli was made by New: Close closes it, route changes prune it
	connMu     sync.Mutex    // guards closed and the start of inFlight
	closed     bool
	done       chan struct{} // closed by Close: retries stop
	inFlight   sync.WaitGroup
	outbox     *outbox         // WithOutbox, else nil
	outboxDone chan struct{}   // closed when redeliver returns
	closing    context.Context // ends with Close: the outbox's deliveries in flight stop
	stopAll    context.CancelFunc

	// listener state
	onMu    sync.Mutex
	on      map[string]bool // events with a handler
	dedup   *dedupWindow
	streams *streams
	tails   tails

	st counters
}

// outEvent is an event self emits, resolved once at New.
type outEvent struct {
	name      string
	mode      jesus.Mode
	chName    string          // the channel's name in self's descriptor, e.g. "domain"
	transport string          // its transport, e.g. "http"
	pl        *codec.Pipeline // its codec, e.g. json+gzip
	v         jesus.Validator // its payload schema
}

type seqKey struct{ instance, event string }

// seqStream is the sequence of noResponse events to one listening instance.
type seqStream struct {
	n   uint64
	src string // the source id, "<bus source>/<instance>"
}

// maxSeqStreams bounds the emitter's sequence counters (one per listening instance and
// event); past it they start again under a new source id, which listeners see as new streams.
const maxSeqStreams = 1 << 16

// New returns the bus of service self (a descriptor of set).
//
// It emits the events self declares to the services that listen to them, found through
// disc (the registry), sending with cli: cli's codecs, transports, limits and
// interceptors apply to events as to calls. A nil cli gets a client of the bus's own,
// closed by Close. A nil disc makes a bus that only listens.
//
// Handlers registered with On are served by srv, checked against self's listen schemas
// before any ack; a nil srv makes a bus that only emits.
func New(self *schema.Descriptor, set *schema.Set, disc *discovery.Discovery, cli *jesus.Client, srv *jesus.Server, opts ...Option) (*Bus, error) {
	if self == nil || set == nil {
		return nil, fmt.Errorf("events: New needs a descriptor and its schema set")
	}
	b := &Bus{self: self, set: set, srv: srv, disc: disc, cli: cli, o: defaults(),
		out: map[string]*outEvent{}, seqs: map[seqKey]*seqStream{},
		on: map[string]bool{}, done: make(chan struct{})}
	for _, o := range opts {
		o.apply(&b.o)
	}
	b.o.fill()
	if b.cli == nil {
		b.cli, b.ownCli = jesus.NewClient(self.Service, jesus.WithInterceptors(b.o.intercept...)), true
	}
	b.newSource()
	if _, err := rand.Read(b.idBase[:]); err != nil {
		return nil, fmt.Errorf("events: random id base: %w", err)
	}
	b.dedup = newDedupWindow(b.o.dedupWindow, b.o.dedupEntries)
	b.streams = newStreams(maxStreams)
	b.tails.buf = b.o.tailBuffer
	for name, ev := range self.Events {
		ch, ok := self.Channels[ev.Channel]
		if !ok {
			return nil, fmt.Errorf("events: %s event %q: channel %q is not declared", self.ID(), name, ev.Channel)
		}
		if ev.Mode != jesus.ModeNoResponse && ev.Mode != jesus.ModeAck {
			return nil, fmt.Errorf("events: %s event %q: mode %s; events are noResponse or ack", self.ID(), name, ev.Mode)
		}
		pl, err := b.cli.Codecs().Pipeline(ch.Codec())
		if err != nil {
			return nil, fmt.Errorf("events: %s event %q: channel %q: %w", self.ID(), name, ev.Channel, err)
		}
		if _, err := b.cli.Transports().Get(ch.Transport); err != nil {
			return nil, fmt.Errorf("events: %s event %q: channel %q: %w", self.ID(), name, ev.Channel, err)
		}
		v, err := set.Validator(self.Service, self.Version, schema.PartEventPayload, name)
		if err != nil {
			return nil, fmt.Errorf("events: %s event %q: payload schema: %w", self.ID(), name, err)
		}
		b.out[name] = &outEvent{name: name, mode: ev.Mode, chName: ev.Channel, transport: ch.Transport, pl: pl, v: jesus.SchemaValidator(v)}
	}
	if b.o.outboxPath != "" {
		ob, err := openOutbox(b.o.outboxPath, b.o.outboxAge, b.o.outboxEvery)
		if err != nil {
			return nil, err
		}
		b.outbox, b.outboxDone = ob, make(chan struct{})
		b.closing, b.stopAll = context.WithCancel(context.Background())
		go b.redeliver()
	}
	return b, nil
}

// newID returns a new event id in UUID text form: 8 random bytes drawn once per bus and
// an 8-byte counter, so ids are unique without a random draw per event.
func (b *Bus) newID() string {
	var raw [16]byte
	copy(raw[:8], b.idBase[:])
	binary.BigEndian.PutUint64(raw[8:], b.idNext.Add(1))
	var out [36]byte
	hex.Encode(out[0:8], raw[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], raw[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], raw[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], raw[8:10])
	out[23] = '-'
	hex.Encode(out[24:], raw[10:])
	return string(out[:])
}

func (b *Bus) newSource() {
	s := uuid.NewString()
	b.src.Store(&s)
}

// Close closes every Tail channel and waits for Emits in flight to end: ack events are not
// retried any more, and with a client of the bus's own (New with a nil cli) its
// connections close, so that sends in flight fail at once. Handlers registered with On
// stay on the server, which is the caller's; events that arrive after Close are still
// handled but not tailed. Close is safe to call more than once.
func (b *Bus) Close() error {
	b.connMu.Lock()
	if !b.closed {
		close(b.done)
		if b.stopAll != nil {
			b.stopAll()
		}
	}
	b.closed = true
	b.connMu.Unlock()
	var first error
	if b.ownCli {
		first = b.cli.Close()
	}
	b.inFlight.Wait()
	if b.outbox != nil {
		<-b.outboxDone
		if err := b.outbox.db.Close(); first == nil {
			first = err
		}
	}
	b.tails.close()
	return first
}

// routeTable maps events to the services that listen to them, for one generation of
// what discovery knows.
type routeTable struct {
	gen     uint64
	byEvent map[string]*listeners
}

// listeners are the services listening to one event, sorted, and the wire method of the
// event at each.
type listeners struct {
	services []string
	methods  []string
}

// listenersOf returns the services whose latest descriptor listens to event (as the one
// parse of each descriptor in discovery says). The table is rebuilt when discovery's
// generation moves, so a new listener is seen by the next Emit.
func (b *Bus) listenersOf(event string) *listeners {
	gen := b.disc.Generation()
	if t := b.routes.Load(); t != nil && t.gen == gen {
		return t.byEvent[event]
	}
	b.routeMu.Lock()
	defer b.routeMu.Unlock()
	if t := b.routes.Load(); t != nil && t.gen == gen {
		return t.byEvent[event]
	}
	t := &routeTable{gen: gen, byEvent: map[string]*listeners{}}
	for name := range b.out {
		svcs := b.disc.Listeners(name)
		if len(svcs) == 0 {
			continue
		}
		l := &listeners{services: svcs}
		for _, svc := range svcs {
			l.methods = append(l.methods, WireMethod(svc, name))
		}
		t.byEvent[name] = l
	}
	b.routes.Store(t)
	if b.ownCli {
		b.pruneConns()
	}
	return t.byEvent[event]
}

// pruneConns closes the connections to endpoints no live instance registers any more, so
// that instances coming and going do not leave sockets behind. A send in flight on such
// a connection fails and is retried elsewhere (ack).
func (b *Bus) pruneConns() {
	cache := b.disc.Cache()
	live := map[string]bool{}
	for _, svc := range cache.Services() {
		for _, in := range cache.Instances(svc) {
			for _, ep := range in.Endpoints {
				if sp, err := channel.ParseSpec(ep); err == nil {
					live[sp.Transport+"://"+sp.Addr] = true
				}
			}
		}
	}
	b.cli.Prune(func(transport, addr string) bool { return live[transport+"://"+addr] })
}
