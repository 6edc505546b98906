package codec

import "sync"

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
