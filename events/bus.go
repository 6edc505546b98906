package events

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/google/uuid"
	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/codec"
	"github.com/jesus-go/jesus/jesus"
	"github.com/jesus-go/jesus/schema"
	"github.com/jesus-go/jesus/schema/registry"
)

// Bus emits the events one service declares and runs the handlers of those it listens to.
// Create it with New; see the package documentation for what it guarantees.
type Bus struct {
	self  *schema.Descriptor
	set   *schema.Set
	srv   *jesus.Server
	cache *registry.Cache
	o     options

	out map[string]*outEvent // events self emits, by name

	// emitter state
	idBase   [8]byte                // random, per bus: the first half of every event id
	idNext   atomic.Uint64          // the second half
	src      atomic.Pointer[string] // names this bus's sequence streams; renewed when seqs is reset
	seqMu    sync.Mutex
	seqs     map[seqKey]*seqStream
	routeMu  sync.Mutex
	routes   atomic.Pointer[routeTable]
	listens  map[string][]string // "svc@ver" -> events it listens to (parsed once per version)
	bad      sync.Map            // endpoint key -> time.Time until which it is avoided
	badMarks atomic.Uint64
	eps      sync.Map // registered endpoint -> endpoint, parsed
	epsN     atomic.Int64
	bufs     sync.Pool     // *[]byte: encoded payloads, reused once an emit returns
	extras   sync.Pool     // map[string]string: event meta of one delivery, reused once it ends
	cli      *jesus.Client // sends every event; its connections are shared by all emits
	connMu   sync.Mutex    // guards closed and the start of inFlight
	closed   bool
	done     chan struct{} // closed by Close: retries stop
	inFlight sync.WaitGroup

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

	routes  sync.Map // endpoint key -> jesus.Route with this event's codec
	routesN atomic.Int64
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

// New returns the bus of service self (a descriptor of set). It emits the events self
// declares, finding listeners and their live instances in cache; handlers registered with
// On are served by srv under "<self>.event:<event>". srv may be nil for a bus that only
// emits. See NewValidation for creating srv so that listeners validate before the ack.
func New(self *schema.Descriptor, set *schema.Set, srv *jesus.Server, cache *registry.Cache, opts ...Option) (*Bus, error) {
	if self == nil || set == nil || cache == nil {
		return nil, fmt.Errorf("events: New needs a descriptor, its schema set and a registry cache")
	}
	b := &Bus{self: self, set: set, srv: srv, cache: cache, o: defaults(),
		out: map[string]*outEvent{}, seqs: map[seqKey]*seqStream{}, listens: map[string][]string{},
		on: map[string]bool{}, done: make(chan struct{})}
	for _, o := range opts {
		o.apply(&b.o)
	}
	b.o.fill()
	b.cli = jesus.NewClient(self.Service, jesus.WithCodecs(b.o.codecs), jesus.WithTransports(b.o.transports),
		jesus.WithChannelConfig(b.o.cfg), jesus.WithLogger(b.o.logger), jesus.WithInterceptors(b.o.intercept...))
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
		pl, err := b.o.codecs.Pipeline(ch.Codec())
		if err != nil {
			return nil, fmt.Errorf("events: %s event %q: channel %q: %w", self.ID(), name, ev.Channel, err)
		}
		if _, err := b.o.transports.Get(ch.Transport); err != nil {
			return nil, fmt.Errorf("events: %s event %q: channel %q: %w", self.ID(), name, ev.Channel, err)
		}
		v, err := set.Validator(self.Service, self.Version, schema.PartEventPayload, name)
		if err != nil {
			return nil, fmt.Errorf("events: %s event %q: payload schema: %w", self.ID(), name, err)
		}
		b.out[name] = &outEvent{name: name, mode: ev.Mode, chName: ev.Channel, transport: ch.Transport, pl: pl, v: jesus.SchemaValidator(v)}
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

// Close closes the bus's connections and every Tail channel, and waits for Emits in flight
// to end (their sends fail, and ack events are not retried any more). Handlers registered with On stay on the server, which is
// the caller's; events that arrive after Close are still handled but not tailed.
// Close is safe to call more than once.
func (b *Bus) Close() error {
	b.connMu.Lock()
	if !b.closed {
		close(b.done)
	}
	b.closed = true
	b.connMu.Unlock()
	first := b.cli.Close()
	b.inFlight.Wait()
	b.tails.close()
	return first
}

// routeTable maps events to the services that listen to them, for one cache revision.
type routeTable struct {
	rev     int64
	byEvent map[string]*listeners
}

// listeners are the services listening to one event, sorted, and the wire method of the
// event at each.
type listeners struct {
	services []string
	methods  []string
}

// listenersOf returns the services whose latest descriptor listens to event. The table is
// rebuilt when the cache's revision moves, so a new listener is seen by the next Emit
// without a watch of our own.
func (b *Bus) listenersOf(event string) *listeners {
	rev := b.cache.Revision()
	if t := b.routes.Load(); t != nil && t.rev == rev {
		return t.byEvent[event]
	}
	b.routeMu.Lock()
	defer b.routeMu.Unlock()
	if t := b.routes.Load(); t != nil && t.rev == rev {
		return t.byEvent[event]
	}
	t := &routeTable{rev: rev, byEvent: map[string]*listeners{}}
	for _, svc := range b.cache.Services() {
		ver, doc, ok := b.cache.Latest(svc)
		if !ok {
			continue
		}
		key := svc + "@" + ver
		evs, seen := b.listens[key]
		if !seen {
			evs = parseListens(doc)
			if len(b.listens) >= maxParsedDescriptors {
				clear(b.listens)
			}
			b.listens[key] = evs
		}
		for _, e := range evs {
			l := t.byEvent[e]
			if l == nil {
				l = &listeners{}
				t.byEvent[e] = l
			}
			l.services = append(l.services, svc)
		}
	}
	for e, l := range t.byEvent {
		sort.Strings(l.services)
		for _, svc := range l.services {
			l.methods = append(l.methods, WireMethod(svc, e))
		}
	}
	b.routes.Store(t)
	b.pruneConns()
	return t.byEvent[event]
}

// pruneConns closes the connections to endpoints no live instance registers any more, so
// that instances coming and going do not leave sockets behind. A send in flight on such
// a connection fails and is retried elsewhere (ack).
func (b *Bus) pruneConns() {
	live := map[string]bool{}
	for _, svc := range b.cache.Services() {
		for _, in := range b.cache.Instances(svc) {
			for _, ep := range in.Endpoints {
				if sp, err := channel.ParseSpec(ep); err == nil {
					live[endpointKey(sp)] = true
				}
			}
		}
	}
	b.cli.Prune(func(transport, addr string) bool { return live[transport+"://"+addr] })
}

// maxParsedDescriptors bounds the memo of parsed listens (one per service version).
const maxParsedDescriptors = 4096

// parseListens reads the names under "listens" of a descriptor document; a document that
// does not parse listens to nothing (the registry keeps only valid JSON).
func parseListens(doc []byte) []string {
	var d struct {
		Listens map[string]json.RawMessage `json:"listens"`
	}
	if json.Unmarshal(doc, &d) != nil {
		return nil
	}
	out := make([]string, 0, len(d.Listens))
	for e := range d.Listens {
		out = append(out, e)
	}
	sort.Strings(out)
	return out
}
