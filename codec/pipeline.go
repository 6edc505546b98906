package codec

import "fmt"

// Pipeline is a serializer followed by a compressor, bounded by the limits of the
// registry that built it. It is immutable and safe for concurrent use.
type Pipeline struct {
	name     string
	ser      Serializer
	comp     Compressor
	identity bool // the compressor is "none": decoding reads the input in place
	limits   Limits
	ctype    string
	cenc     string
}

func newPipeline(s Serializer, c Compressor, l Limits) *Pipeline {
	_, identity := c.(noneCompressor)
	p := &Pipeline{ser: s, comp: c, limits: l, identity: identity}
	p.name = s.Name()
	if !p.identity {
		p.name += "+" + c.Name()
		p.cenc = c.Name()
	}
	p.ctype = MediaType(s.Name())
	return p
}

// Name returns the canonical compact name: "msgpack+zstd", or just "msgpack" when the
// compressor is none.
func (p *Pipeline) Name() string { return p.name }

// Serializer returns the pipeline's serializer.
func (p *Pipeline) Serializer() Serializer { return p.ser }

// Compressor returns the pipeline's compressor.
func (p *Pipeline) Compressor() Compressor { return p.comp }

// Limits returns the limits the pipeline's decoding enforces.
func (p *Pipeline) Limits() Limits { return p.limits }

// ContentType returns the HTTP media type of the serializer, e.g. "application/json".
func (p *Pipeline) ContentType() string { return p.ctype }

// ContentEncoding returns the HTTP content coding of the compressor: "" for none,
// otherwise its name ("gzip", "zstd", "s2").
func (p *Pipeline) ContentEncoding() string { return p.cenc }

// String returns Name.
func (p *Pipeline) String() string { return p.name }

// Marshal serializes v, compresses the result and appends it to dst. A serialized form
// over Limits().MaxDecompressed fails with ErrTooLarge: a peer with the same limits
// would refuse it.
func (p *Pipeline) Marshal(dst []byte, v any) ([]byte, error) {
	if p.identity {
		start := len(dst)
		out, err := p.ser.Marshal(dst, v)
		if err == nil && len(out)-start > p.limits.MaxDecompressed {
			return out[:start], p.tooLarge(len(out) - start)
		}
		return out, err
	}
	start := len(dst)
	sp := getScratch()
	raw, err := p.ser.Marshal((*sp)[:0], v)
	switch {
	case err != nil:
	case len(raw) > p.limits.MaxDecompressed:
		err = p.tooLarge(len(raw))
	default:
		dst, err = p.comp.Compress(dst, raw)
	}
	putScratch(sp, raw)
	if err != nil {
		return dst[:start], err
	}
	return dst, nil
}

func (p *Pipeline) tooLarge(n int) error {
	return fmt.Errorf("%w: %s message of %d bytes is over the limit of %d bytes", ErrTooLarge, p.ser.Name(), n, p.limits.MaxDecompressed)
}

// Decompress appends the decompressed form of data to dst, refusing output over
// Limits().MaxDecompressed with an error wrapping ErrTooLarge.
func (p *Pipeline) Decompress(dst, data []byte) ([]byte, error) {
	return p.comp.Decompress(dst, data, p.limits.MaxDecompressed)
}

// Unmarshal decompresses data within the limits and decodes it into v (a pointer).
// Decoding into a *any yields the same JSON-ready value as UnmarshalValue.
func (p *Pipeline) Unmarshal(data []byte, v any) error {
	if p.identity {
		if len(data) > p.limits.MaxDecompressed {
			return p.tooLarge(len(data))
		}
		return p.ser.Unmarshal(data, v)
	}
	sp := getScratch()
	raw, err := p.comp.Decompress((*sp)[:0], data, p.limits.MaxDecompressed)
	if err == nil {
		err = p.ser.Unmarshal(raw, v)
	}
	putScratch(sp, raw)
	return err
}

// UnmarshalValue decompresses data within the limits and decodes it into a JSON-ready
// value: nil, bool, string, json.Number, float64, int64, uint64, []any or map[string]any,
// whatever the serializer, ready for JSON Schema validation.
func (p *Pipeline) UnmarshalValue(data []byte) (any, error) {
	if p.identity {
		if len(data) > p.limits.MaxDecompressed {
			return nil, p.tooLarge(len(data))
		}
		return p.ser.UnmarshalValue(data)
	}
	sp := getScratch()
	raw, err := p.comp.Decompress((*sp)[:0], data, p.limits.MaxDecompressed)
	var v any
	if err == nil {
		v, err = p.ser.UnmarshalValue(raw)
	}
	putScratch(sp, raw)
	return v, err
}

// The stages of Marshal and Unmarshal one at a time, for a layer that checks the
// serialized bytes in between (serialize, check, compress; decompress once, check,
// decode from the same bytes) without undoing its own work.

// Compressed reports whether the pipeline has a compressor other than none.
func (p *Pipeline) Compressed() bool { return !p.identity }

// Serialize appends the serialized, uncompressed form of v to dst. A form over
// Limits().MaxDecompressed fails with ErrTooLarge.
func (p *Pipeline) Serialize(dst []byte, v any) ([]byte, error) {
	start := len(dst)
	out, err := p.ser.Marshal(dst, v)
	if err == nil && len(out)-start > p.limits.MaxDecompressed {
		return out[:start], p.tooLarge(len(out) - start)
	}
	return out, err
}

// Compress appends the compressed form of raw, a serialized message, to dst; for the
// compressor none it appends raw itself.
func (p *Pipeline) Compress(dst, raw []byte) ([]byte, error) {
	if p.identity {
		return append(dst, raw...), nil
	}
	return p.comp.Compress(dst, raw)
}

// Opened is a message opened by Pipeline.Open: Raw is its serialized form, in a pooled
// buffer when the pipeline decompressed it. Release gives the buffer back; Raw must not
// be used after that.
type Opened struct {
	Raw []byte
	sp  *[]byte
}

// Release returns the buffer of o to the pool. It is safe on the zero Opened.
func (o Opened) Release() {
	if o.sp != nil {
		putScratch(o.sp, o.Raw)
	}
}

// Open returns the serialized form of data within the limits: data itself for the
// compressor none, else data decompressed once into a pooled buffer.
func (p *Pipeline) Open(data []byte) (Opened, error) { return p.OpenLimit(data, 0) }

// OpenLimit is Open with a lower limit on the decompressed size than the pipeline's own
// MaxDecompressed (0: the pipeline's), e.g. what a server's memory budget can grant now;
// a message past it fails with ErrTooLarge.
func (p *Pipeline) OpenLimit(data []byte, limit int) (Opened, error) {
	if limit <= 0 || limit > p.limits.MaxDecompressed {
		limit = p.limits.MaxDecompressed
	}
	if p.identity {
		if len(data) > limit {
			return Opened{}, p.tooLarge(len(data))
		}
		return Opened{Raw: data}, nil
	}
	sp := getScratch()
	raw, err := p.comp.Decompress((*sp)[:0], data, limit)
	if err != nil {
		putScratch(sp, raw)
		return Opened{}, err
	}
	return Opened{Raw: raw, sp: sp}, nil
}

// SerializePooled serializes v into a pooled buffer (the Opened's Raw), to be checked
// and then compressed with Compress; Release it after. A form over
// Limits().MaxDecompressed fails with ErrTooLarge.
func (p *Pipeline) SerializePooled(v any) (Opened, error) {
	sp := getScratch()
	raw, err := p.Serialize((*sp)[:0], v)
	if err != nil {
		putScratch(sp, raw)
		return Opened{}, err
	}
	return Opened{Raw: raw, sp: sp}, nil
}

// Decode decodes raw, a serialized message already within the limits (see Open), into
// v (a pointer); a *any gets the JSON-ready value UnmarshalValue returns.
func (p *Pipeline) Decode(raw []byte, v any) error { return p.ser.Unmarshal(raw, v) }

// DecodeValue decodes raw, a serialized message (see Open), into a JSON-ready value.
func (p *Pipeline) DecodeValue(raw []byte) (any, error) { return p.ser.UnmarshalValue(raw) }
