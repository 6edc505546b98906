package codec

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/klauspost/compress/gzip"
)

// maxCachedPipelines bounds the pipeline cache. Only valid names are cached, so the
// bound matters only with many registered codecs; past it, pipelines are built per call.
const maxCachedPipelines = 256

// Registry holds the serializers and compressors a client or server uses and builds
// pipelines from their compact names. It is owned by its caller: there is no global
// registry. All methods are safe for concurrent use; Pipeline is meant for the hot path
// (a cached lookup that neither locks nor allocates).
type Registry struct {
	limits Limits

	mu          sync.Mutex // serializes writers of the fields below
	serializers atomic.Pointer[map[string]Serializer]
	compressors atomic.Pointer[map[string]Compressor]
	cache       atomic.Pointer[map[string]*Pipeline] // copy on write; valid names only
}

// NewRegistry returns a registry with the built-ins: serializers json and msgpack,
// compressors none, gzip (default level), zstd and s2, all bounded by l (zero fields
// take their defaults).
func NewRegistry(l Limits) *Registry {
	l = l.withDefaults()
	gz, _ := NewGzip(gzip.DefaultCompression) // a valid level
	r := &Registry{limits: l}
	sers := map[string]Serializer{
		SerializerJSON:    NewJSON(l),
		SerializerMsgpack: NewMsgpack(l),
	}
	comps := map[string]Compressor{
		CompressorNone: NewNone(),
		CompressorGzip: gz,
		CompressorZstd: NewZstd(l),
		CompressorS2:   NewS2(),
	}
	r.serializers.Store(&sers)
	r.compressors.Store(&comps)
	r.cache.Store(&map[string]*Pipeline{})
	return r
}

// Limits returns the limits the registry's decoders enforce, defaults filled in.
func (r *Registry) Limits() Limits { return r.limits }

// RegisterSerializer replaces the serializer of s's name, which must be one of
// SerializerNames (the set is closed). Pipelines built before keep the serializer they
// were built with.
func (r *Registry) RegisterSerializer(s Serializer) error {
	if s == nil {
		return fmt.Errorf("codec: RegisterSerializer(nil)")
	}
	return register(r, &r.serializers, "serializer", s, SerializerNames())
}

// RegisterCompressor replaces the compressor of c's name, which must be one of
// CompressorNames (the set is closed). Pipelines built before keep the compressor they
// were built with.
func (r *Registry) RegisterCompressor(c Compressor) error {
	if c == nil {
		return fmt.Errorf("codec: RegisterCompressor(nil)")
	}
	return register(r, &r.compressors, "compressor", c, CompressorNames())
}

// register puts impl in place of the codec of its name in set (copied on write), if names
// holds that name, and empties the pipeline cache; kind names the set in errors.
func register[T interface{ Name() string }](r *Registry, set *atomic.Pointer[map[string]T], kind string, impl T, names []string) error {
	name := impl.Name()
	if !slices.Contains(names, name) {
		return fmt.Errorf("%w: %s %q: the names are a closed set (%s); an implementation may only replace one", ErrUnknown, kind, name, strings.Join(names, ", "))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	m := maps.Clone(*set.Load())
	m[name] = impl
	set.Store(&m)
	r.cache.Store(&map[string]*Pipeline{})
	return nil
}

// Serializers returns the names of the registered serializers, sorted.
func (r *Registry) Serializers() []string { return slices.Sorted(maps.Keys(*r.serializers.Load())) }

// Compressors returns the names of the registered compressors, sorted.
func (r *Registry) Compressors() []string { return slices.Sorted(maps.Keys(*r.compressors.Load())) }

// Pipeline returns the pipeline named in compact form, serializer[+compressor]:
// "msgpack+zstd", "json+gzip", "json" (no compression), "msgpack+none". An unknown part
// fails with an error wrapping ErrUnknown that names it and lists what exists.
func (r *Registry) Pipeline(name string) (*Pipeline, error) {
	if p, ok := (*r.cache.Load())[name]; ok {
		return p, nil
	}
	serName, compName, hasComp := strings.Cut(name, "+")
	if !hasComp {
		compName = CompressorNone
	}
	p, err := r.build(name, serName, compName)
	if err != nil {
		return nil, err
	}
	r.remember(name, p)
	return p, nil
}

func (r *Registry) build(name, serName, compName string) (*Pipeline, error) {
	s, ok := (*r.serializers.Load())[serName]
	if !ok {
		return nil, fmt.Errorf("%w: serializer %q in %q (have %s)", ErrUnknown, serName, name, strings.Join(r.Serializers(), ", "))
	}
	c, ok := (*r.compressors.Load())[compName]
	if !ok {
		return nil, fmt.Errorf("%w: compressor %q in %q (have %s)", ErrUnknown, compName, name, strings.Join(r.Compressors(), ", "))
	}
	return newPipeline(s, c, r.limits), nil
}

func (r *Registry) remember(name string, p *Pipeline) {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := *r.cache.Load()
	if len(old) >= maxCachedPipelines {
		return
	}
	if _, ok := old[name]; ok {
		return
	}
	m := maps.Clone(old)
	m[name] = p
	r.cache.Store(&m)
}

// cached returns the cached pipeline of p's name, caching p if there is none.
func (p *Pipeline) cached(r *Registry) *Pipeline {
	if q, ok := (*r.cache.Load())[p.name]; ok {
		return q
	}
	r.remember(p.name, p)
	return p
}
