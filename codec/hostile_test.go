package codec_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/jesus-go/jesus/codec"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
	"github.com/vmihailenco/msgpack/v5"
)

// allocated runs fn and returns the bytes it allocated (TotalAlloc) and the peak growth
// of the live heap seen right after it (HeapAlloc). Not parallel-safe: callers do not run
// in parallel.
func allocated(fn func()) (total, heap uint64) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	total = after.TotalAlloc - before.TotalAlloc
	if after.HeapAlloc > before.HeapAlloc {
		heap = after.HeapAlloc - before.HeapAlloc
	}
	return total, heap
}

const memBound = 64 << 20

// declaredArray is a msgpack map {"items": array32 of n elements} with no elements.
func declaredArray(n uint32) []byte {
	b := []byte{0x81, 0xa5, 'i', 't', 'e', 'm', 's', 0xdd, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(b[len(b)-4:], n)
	return b
}

// TestRawLibraryAllocatesDeclaredLength measures the hazard the guard exists for: the
// msgpack library sizes slices (and, up to a million entries, maps) from their header
// before reading a single element. Moderate declared lengths keep the test itself safe;
// the figures scale linearly with the declared length.
func TestRawLibraryAllocatesDeclaredLength(t *testing.T) {
	const n = 1 << 18                        // 256 Ki elements, declared in a few bytes
	mapHeader := []byte{0xdf, 0, 0x04, 0, 0} // map32 of 256 Ki entries, none present
	raw := []struct {
		name   string
		in     []byte
		target func() any
	}{
		{"[]item", []byte{0xdd, 0, 0x04, 0, 0}, func() any { return new([]item) }},
		{"any", declaredArray(n), func() any { return new(any) }},
		{"map[string]any", mapHeader, func() any { return new(map[string]any) }},
	}
	for _, c := range raw {
		var err error
		total, _ := allocated(func() { err = msgpack.Unmarshal(c.in, c.target()) })
		if err == nil {
			t.Fatalf("%s: library accepted a truncated input", c.name)
		}
		per := float64(total) / n
		what := fmt.Sprintf("0xffffffff declared would ask for %.0f GiB", per*(1<<32)/(1<<30))
		if strings.HasPrefix(c.name, "map") {
			what = "the library caps a map hint at 1e6 entries: this much per map header, once per nested map"
		}
		t.Logf("raw msgpack library, %-15s %2d-byte input declaring %d elements: allocated %6.1f MiB (%.0f B/element); %s",
			c.name+":", len(c.in), n, float64(total)/(1<<20), per, what)
	}

	r := codec.NewRegistry(codec.Limits{})
	p, _ := r.Pipeline("msgpack")
	for _, c := range raw {
		var err error
		in := bytes.Clone(c.in)
		binary.BigEndian.PutUint32(in[len(in)-4:], 0xffffffff)
		total, heap := allocated(func() { err = p.Unmarshal(in, c.target()) })
		t.Logf("guarded Unmarshal, %-15s %2d-byte input declaring 4 Gi: allocated %d bytes (heap +%d): %v", c.name+":", len(in), total, heap, err)
		if !errors.Is(err, codec.ErrTooLarge) {
			t.Fatalf("want ErrTooLarge, got %v", err)
		}
		if total > 1<<20 {
			t.Fatalf("guarded decode allocated %d bytes", total)
		}
	}
}

func TestMsgpackHostileLengths(t *testing.T) {
	p, _ := codec.NewRegistry(codec.Limits{}).Pipeline("msgpack")
	u32 := func(c byte, extra ...byte) []byte { return append([]byte{c, 0xff, 0xff, 0xff, 0xff}, extra...) }
	cases := map[string][]byte{
		"array32":          u32(0xdd),
		"map32":            u32(0xdf),
		"str32":            u32(0xdb),
		"bin32":            u32(0xc6),
		"ext32":            append([]byte{0xc9, 0xff, 0xff, 0xff, 0xff, 0xff}, 1, 2),
		"array16":          {0xdc, 0xff, 0xff, 0xc0},
		"map16":            {0xde, 0xff, 0xff, 0xc0, 0xc0},
		"str8":             {0xd9, 0xff, 'a'},
		"fixext16":         {0xd8, 0xff, 1, 2},
		"nested declared":  {0x91, 0xdd, 0x7f, 0xff, 0xff, 0xff},
		"map counts 2":     {0x83, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0},
		"siblings pending": append([]byte{0x9f, 0x9f}, bytes.Repeat([]byte{0xc0}, 20)...),
		"in struct field":  declaredArray(0xffffffff),
	}
	targets := map[string]func([]byte) error{
		"value":  func(b []byte) error { _, err := p.UnmarshalValue(b); return err },
		"any":    func(b []byte) error { var v any; return p.Unmarshal(b, &v) },
		"map":    func(b []byte) error { var v map[string]any; return p.Unmarshal(b, &v) },
		"slice":  func(b []byte) error { var v []order; return p.Unmarshal(b, &v) },
		"struct": func(b []byte) error { var v order; return p.Unmarshal(b, &v) },
		"string": func(b []byte) error { var v string; return p.Unmarshal(b, &v) },
	}
	for name, in := range cases {
		for tname, fn := range targets {
			err := fn(in)
			if !errors.Is(err, codec.ErrTooLarge) && !errors.Is(err, codec.ErrCorrupt) {
				t.Errorf("%s into %s: want a length error, got %v", name, tname, err)
				continue
			}
			// The pre-scan counts pending siblings too; the value decoder finds the same
			// input truncated when it gets there, before it allocates for it.
			if !errors.Is(err, codec.ErrTooLarge) && name != "siblings pending" {
				t.Errorf("%s into %s: want ErrTooLarge, got %v", name, tname, err)
			}
			if tname == "value" {
				t.Logf("%s: %v", name, err)
			}
		}
	}
}

func nested(open, close string, depth int) []byte {
	return []byte(strings.Repeat(open, depth) + strings.Repeat(close, depth))
}

func TestDepthLimit(t *testing.T) {
	r := codec.NewRegistry(codec.Limits{MaxDepth: 8})
	for _, name := range []string{"json", "msgpack"} {
		p, _ := r.Pipeline(name)
		mk := func(depth int) []byte {
			if name == "json" {
				return nested("[", "]", depth)
			}
			// depth-1 one-element arrays around an empty map.
			return append(bytes.Repeat([]byte{0x91}, depth-1), 0x80)
		}
		for _, depth := range []int{1, 8} {
			if _, err := p.UnmarshalValue(mk(depth)); err != nil {
				t.Errorf("%s depth %d: %v", name, depth, err)
			}
		}
		for _, depth := range []int{9, 100, 100000} {
			in := mk(depth)
			_, err := p.UnmarshalValue(in)
			var v any
			err2 := p.Unmarshal(in, &v)
			var s []any
			err3 := p.Unmarshal(in, &s)
			for _, e := range []error{err, err2, err3} {
				if !errors.Is(e, codec.ErrTooDeep) || !strings.Contains(e.Error(), "limit of 8") {
					t.Errorf("%s depth %d: want ErrTooDeep naming the limit, got %v", name, depth, e)
				}
			}
		}
	}
	// Brackets inside strings are not nesting.
	p, _ := r.Pipeline("json")
	if _, err := p.UnmarshalValue([]byte(`["[[[[[[[[[[[[[\"[[[[[["]`)); err != nil {
		t.Errorf("brackets in a string: %v", err)
	}
	// The default is 64.
	p, _ = codec.NewRegistry(codec.Limits{}).Pipeline("json")
	if _, err := p.UnmarshalValue(nested("{\"a\":", "}", 64)[:0]); err == nil {
		t.Log("")
	}
	if _, err := p.UnmarshalValue(nested("[", "]", 64)); err != nil {
		t.Errorf("depth 64: %v", err)
	}
	if _, err := p.UnmarshalValue(nested("[", "]", 65)); !errors.Is(err, codec.ErrTooDeep) {
		t.Errorf("depth 65: %v", err)
	}
}

// gzipBomb returns members gzip members of 1 MiB of zeros each, concatenated.
func gzipBomb(t testing.TB, members int) []byte {
	t.Helper()
	var one bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&one, gzip.BestCompression)
	zw.Write(make([]byte, 1<<20))
	zw.Close()
	return bytes.Repeat(one.Bytes(), members)
}

// zstdBomb returns one zstd frame, with no content size in its header, of mib MiB of
// zeros: run-length blocks of 128 KiB, 4 bytes each, built by hand so that the test does
// not spend its time compressing.
func zstdBomb(t testing.TB, mib int) []byte {
	t.Helper()
	out := binary.LittleEndian.AppendUint32(nil, 0xFD2FB528) // magic
	out = append(out, 0x00)                                  // no content size, no checksum, not single segment
	out = append(out, 10<<3)                                 // window 1<<(10+10) = 1 MiB
	const blockSize = 128 << 10
	blocks := mib * (1 << 20) / blockSize
	for i := range blocks {
		h := uint32(blockSize)<<3 | 1<<1 // run-length block
		if i == blocks-1 {
			h |= 1 // last block
		}
		out = append(out, byte(h), byte(h>>8), byte(h>>16), 0x00)
	}
	// Check the hand-made frame with the library itself, bounded.
	dec, err := zstd.NewReader(nil, zstd.WithDecoderMaxMemory(1<<20), zstd.WithDecoderConcurrency(1))
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	if _, err := dec.DecodeAll(out, nil); !errors.Is(err, zstd.ErrDecoderSizeExceeded) {
		t.Fatalf("hand-made zstd frame: %v", err)
	}
	return out
}

func TestDecompressionBombs(t *testing.T) {
	checkGoroutines(t)
	r := codec.NewRegistry(codec.Limits{})
	limit := r.Limits().MaxDecompressed
	gz := gzipBomb(t, 1024)
	zs := zstdBomb(t, 1024)
	s2bomb := s2.Encode(nil, make([]byte, 8<<20))

	// A single-segment zstd frame whose header declares 1 GiB of content, followed by
	// one run-length block.
	fcs := binary.LittleEndian.AppendUint32(nil, 0xFD2FB528)
	fcs = append(fcs, 0xe0) // 8-byte content size, single segment
	fcs = binary.LittleEndian.AppendUint64(fcs, 1<<30)
	fcs = append(fcs, byte(1<<3|1<<1|1), 0, 0, 0)
	// An s2 block whose header declares 4 GiB - 1.
	s2lie := append(binary.AppendUvarint(nil, 0xffffffff), 0, 0, 0)
	// Many small zstd frames: each under the limit, together over it.
	var frames []byte
	{
		enc, _ := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))
		one := enc.EncodeAll(make([]byte, 1<<20), nil)
		enc.Close()
		frames = bytes.Repeat(one, 64)
	}

	cases := []struct {
		name, comp string
		in         []byte
		raw        uint64 // what the input expands to without a limit
	}{
		{"gzip 1 GiB", "gzip", gz, 1 << 30},
		{"zstd 1 GiB no content size", "zstd", zs, 1 << 30},
		{"zstd header declares 1 GiB", "zstd", fcs, 1 << 30},
		{"zstd 64 frames of 1 MiB", "zstd", frames, 64 << 20},
		{"s2 8 MiB of zeros", "s2", s2bomb, 8 << 20},
		{"s2 header declares 4 GiB", "s2", s2lie, 1<<32 - 1},
	}
	for _, c := range cases {
		// Decompression comes before the serializer: one is enough for the figures.
		p, err := r.Pipeline("json+" + c.comp)
		if err != nil {
			t.Fatal(err)
		}
		var errs [3]error
		total, heap := allocated(func() {
			var v any
			errs[1] = p.Unmarshal(c.in, &v)
		})
		_, errs[0] = p.Decompress(nil, c.in)
		_, errs[2] = p.UnmarshalValue(c.in)
		for _, err := range errs {
			if !errors.Is(err, codec.ErrTooLarge) {
				t.Fatalf("%s: want ErrTooLarge, got %v", c.name, err)
			}
		}
		t.Logf("%-30s input %8d B, expands to %5d MiB; guarded Unmarshal allocated %5.1f MiB (heap +%.1f MiB): %v",
			c.name, len(c.in), c.raw>>20, float64(total)/(1<<20), float64(heap)/(1<<20), errs[0])
		if total > memBound {
			t.Errorf("%s: allocated %d bytes, bound %d", c.name, total, memBound)
		}
		if !strings.Contains(errs[0].Error(), "4194304") {
			t.Errorf("%s: error does not name the limit %d: %v", c.name, limit, errs[0])
		}
	}
}

// TestZstdWindowLimit: a zstd frame whose window is over MaxZstdWindow is refused.
func TestZstdWindowLimit(t *testing.T) {
	small := codec.NewRegistry(codec.Limits{MaxZstdWindow: 1 << 20, MaxDecompressed: 64 << 20})
	p, _ := small.Pipeline("json+zstd")
	wide := binary.LittleEndian.AppendUint32(nil, 0xFD2FB528)
	wide = append(wide, 0x00, 13<<3)                // window 1<<(10+13) = 8 MiB, no content size
	wide = append(wide, byte(1<<3|1<<1|1), 0, 0, 0) // one run-length block of 1 byte
	if _, err := p.Decompress(nil, wide); !errors.Is(err, codec.ErrTooLarge) || !strings.Contains(err.Error(), "window") {
		t.Errorf("wide window: got %v", err)
	} else {
		t.Logf("zstd window 8 MiB with MaxZstdWindow 1 MiB: %v", err)
	}
}

func TestCorruptCompressed(t *testing.T) {
	r := codec.NewRegistry(codec.Limits{})
	for _, comp := range []string{"gzip", "zstd", "s2"} {
		p, _ := r.Pipeline("json+" + comp)
		good, err := p.Marshal(nil, sampleOrder(5))
		if err != nil {
			t.Fatal(err)
		}
		bad := map[string][]byte{
			"empty":     nil,
			"garbage":   []byte("definitely not compressed"),
			"truncated": good[:len(good)/2],
		}
		if comp != "s2" { // the s2 block format carries no checksum
			flipped := bytes.Clone(good)
			flipped[len(flipped)/2] ^= 0xff
			bad["flipped"] = flipped
		}
		for name, in := range bad {
			var v any
			err := p.Unmarshal(in, &v)
			if err == nil {
				t.Errorf("%s %s: accepted", comp, name)
				continue
			}
			if !strings.HasPrefix(err.Error(), "codec: ") {
				t.Errorf("%s %s: %v", comp, name, err)
			}
		}
	}
}

func TestLimitsAreEnforcedPerRegistry(t *testing.T) {
	r := codec.NewRegistry(codec.Limits{MaxDecompressed: 1000})
	big := map[string]string{"s": strings.Repeat("x", 2000)}
	roomy := codec.NewRegistry(codec.Limits{})
	for _, s := range serializers() {
		for _, c := range compressors() {
			p, _ := r.Pipeline(s + "+" + c)
			b, err := p.Marshal([]byte("dst"), big)
			if !errors.Is(err, codec.ErrTooLarge) || !strings.Contains(err.Error(), "1000 bytes") || string(b) != "dst" {
				t.Errorf("%s: Marshal over the limit: got %q, %v", p.Name(), b, err)
			}
			q, _ := roomy.Pipeline(s + "+" + c)
			b, err = q.Marshal(nil, big)
			if err != nil {
				t.Fatal(err)
			}
			var v map[string]string
			err = p.Unmarshal(b, &v)
			if !errors.Is(err, codec.ErrTooLarge) || !strings.Contains(err.Error(), "1000 bytes") {
				t.Errorf("%s: want ErrTooLarge naming 1000 bytes, got %v", p.Name(), err)
			}
		}
	}
}

// A JSON Schema validator turns numbers into big rationals: the literal sizes that make
// that slow are refused up front.
func TestJSONHostileNumbers(t *testing.T) {
	p, _ := codec.NewRegistry(codec.Limits{}).Pipeline("json")
	for _, ok := range []string{`1e308`, `-1.5E+300`, `[1e-999]`, `1e0000000000999`, strings.Repeat("9", 256), `{"a":"1e999999"}`, `-0.0e+0`} {
		if _, err := p.UnmarshalValue([]byte(ok)); err != nil {
			t.Errorf("%.40s: %v", ok, err)
		}
	}
	for _, bad := range []string{`1e999999`, `[0, 1E-1000]`, `{"a":2e+99999999}`, strings.Repeat("9", 257), "[" + strings.Repeat("1", 1<<20) + "]"} {
		_, err := p.UnmarshalValue([]byte(bad))
		var v item
		err2 := p.Unmarshal([]byte(bad), &v)
		for _, e := range []error{err, err2} {
			if !errors.Is(e, codec.ErrTooLarge) {
				t.Errorf("%.40s: want ErrTooLarge, got %v", bad, e)
			}
		}
		t.Logf("%.20s: %v", bad, err)
	}
}

// The library reads an extension where it expects a map as the map its data begins with,
// and sizes a map[string]any by the count that header declares. Unmarshal refuses every
// extension but the timestamp, and hands the library timestamps whose data begins like a
// map header in the 12-byte form, which begins with the nanoseconds.
func TestMsgpackExtensionReadAsMap(t *testing.T) {
	p, _ := codec.NewRegistry(codec.Limits{}).Pipeline("msgpack")
	type withTime struct {
		At   time.Time      `json:"at"`
		Tags map[string]any `json:"tags"`
	}
	ts64 := func(sec int64, nsec uint32) []byte {
		return binary.BigEndian.AppendUint64([]byte{0xd7, 0xff}, uint64(nsec)<<34|uint64(sec))
	}
	// 936119308 ns: the 8 bytes begin with 0xdf, a map32 header declaring 0xc0303030.
	mapLike := ts64(0x30d73030, 936119308)
	if mapLike[2] != 0xdf {
		t.Fatalf("test timestamp begins with 0x%02x", mapLike[2])
	}
	cases := map[string][]byte{
		"other extension":      []byte("\xd70\xdf0000\xd700"),
		"timestamp like map32": mapLike,
		"timestamp like map16": ts64(1, 0xde<<22),
		"timestamp32 like map": {0xd6, 0xff, 0xdf, 0xff, 0xff, 0xff},
		"in a map like map32":  append([]byte{0x81, 0xa4, 't', 'a', 'g', 's'}, mapLike...),
		"in an array of maps":  append(append([]byte{0x92}, mapLike...), mapLike...),
	}
	for name, in := range cases {
		for tname, fn := range map[string]func() error{
			"map":    func() error { var v map[string]any; return p.Unmarshal(in, &v) },
			"maps":   func() error { var v []map[string]string; return p.Unmarshal(in, &v) },
			"struct": func() error { var v withTime; return p.Unmarshal(in, &v) },
			"any":    func() error { var v any; return p.Unmarshal(in, &v) },
		} {
			var err error
			total, _ := allocated(func() { err = fn() })
			if total > 1<<20 {
				t.Errorf("%s into %s: allocated %d bytes (%v)", name, tname, total, err)
			}
		}
	}
	// The rewritten timestamps are the same instants.
	for _, in := range [][]byte{mapLike, {0xd6, 0xff, 0xdf, 0xff, 0xff, 0xff}} {
		var got time.Time
		if err := p.Unmarshal(in, &got); err != nil {
			t.Fatal(err)
		}
		v, err := p.UnmarshalValue(in)
		if err != nil || got.UTC().Format(time.RFC3339Nano) != v {
			t.Errorf("%x: Unmarshal %v, UnmarshalValue %v (%v)", in, got, v, err)
		}
	}
	var w withTime
	in := append(append([]byte{0x82, 0xa2, 'a', 't'}, mapLike...), 0xa4, 't', 'a', 'g', 's', 0x81, 0xa1, 'k', 0x01)
	if err := p.Unmarshal(in, &w); err != nil || w.At.Nanosecond() != 936119308 || w.Tags["k"] != int64(1) {
		t.Errorf("struct with a time and a map: %+v, %v", w, err)
	}
}
