package codec

import (
	"reflect"
	"sync"
)

// maxPooledBuffer is the largest scratch buffer returned to the pool: one large message
// must not pin its buffer for the life of the process.
const maxPooledBuffer = 1 << 20

var scratchPool = sync.Pool{New: func() any { b := make([]byte, 0, 4<<10); return &b }}

func getScratch() *[]byte { return scratchPool.Get().(*[]byte) }

// putScratch returns b to the pool unless it grew past maxPooledBuffer. b holds only
// bytes, so no reference outlives its use.
func putScratch(p *[]byte, b []byte) {
	if cap(b) > maxPooledBuffer {
		return
	}
	*p = b[:0]
	scratchPool.Put(p)
}

// appendWriter is an io.Writer (and io.ByteWriter, io.StringWriter) that appends to b,
// so encoders can write straight into the caller's dst.
type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

func (w *appendWriter) WriteByte(c byte) error {
	w.b = append(w.b, c)
	return nil
}

func (w *appendWriter) WriteString(s string) (int, error) {
	w.b = append(w.b, s...)
	return len(s), nil
}

// writerPool pools encoders of type E, each made once by open to write to an appendWriter
// of its own. appendTo lends that writer the caller's dst for one call, so that the
// encoder appends to dst in place; the pool keeps no reference to dst.
type writerPool[E any] struct {
	pool sync.Pool // *pooledWriter[E]
	open func(w *appendWriter) E
}

type pooledWriter[E any] struct {
	out appendWriter
	enc E
}

// appendTo returns dst with what write wrote through an encoder of the pool (enc, or out
// directly) appended; on error, dst as it was and write's error.
func (p *writerPool[E]) appendTo(dst []byte, write func(enc E, out *appendWriter) error) ([]byte, error) {
	w, _ := p.pool.Get().(*pooledWriter[E])
	if w == nil {
		w = new(pooledWriter[E])
		w.enc = p.open(&w.out)
	}
	start := len(dst)
	w.out.b = dst
	err := write(w.enc, &w.out)
	dst, w.out.b = w.out.b, nil
	p.pool.Put(w)
	if err != nil {
		return dst[:start], err
	}
	return dst, nil
}

// typeCache holds, per type, what walk finds in it; walk gets the types seen so far on its
// way, so that it can stop at a cycle.
type typeCache[V any] struct {
	m    sync.Map // reflect.Type -> V
	walk func(t reflect.Type, seen map[reflect.Type]bool) V
}

func (c *typeCache[V]) get(t reflect.Type) V {
	if v, ok := c.m.Load(t); ok {
		return v.(V)
	}
	v := c.walk(t, map[reflect.Type]bool{})
	c.m.Store(t, v)
	return v
}

// unmarshalAny is Unmarshal into *any: p gets the JSON-ready value of data (see
// Serializer.UnmarshalValue); on error it is left as it was.
func unmarshalAny(s Serializer, data []byte, p *any) error {
	v, err := s.UnmarshalValue(data)
	if err != nil {
		return err
	}
	*p = v
	return nil
}
