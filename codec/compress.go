package codec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
)

// Names of the built-in compressors.
const (
	CompressorNone = "none"
	CompressorGzip = "gzip"
	CompressorZstd = "zstd"
	CompressorS2   = "s2"
)

// deflateMaxRatio is the worst-case expansion of deflate, used to cap an output size
// hint that hostile input could inflate.
const deflateMaxRatio = 1032

func tooLarge(what string, size uint64, limit int) error {
	if size > 0 {
		return fmt.Errorf("%w: %s declares %d bytes, over the limit of %d bytes", ErrTooLarge, what, size, limit)
	}
	return fmt.Errorf("%w: %s output exceeds the limit of %d bytes", ErrTooLarge, what, limit)
}

// NewNone returns the identity compressor "none".
func NewNone() Compressor { return noneCompressor{} }

type noneCompressor struct{}

func (noneCompressor) Name() string { return CompressorNone }

func (noneCompressor) Compress(dst, src []byte) ([]byte, error) { return append(dst, src...), nil }

func (noneCompressor) Decompress(dst, src []byte, limit int) ([]byte, error) {
	if len(src) > limit {
		return dst, fmt.Errorf("%w: message of %d bytes is over the limit of %d bytes", ErrTooLarge, len(src), limit)
	}
	return append(dst, src...), nil
}

// NewGzip returns the gzip compressor at the given level (gzip.DefaultCompression,
// gzip.BestSpeed … gzip.BestCompression, gzip.HuffmanOnly). Readers and writers are pooled.
func NewGzip(level int) (Compressor, error) {
	if _, err := gzip.NewWriterLevel(io.Discard, level); err != nil {
		return nil, fmt.Errorf("codec: gzip level %d: %w", level, err)
	}
	open := func(w *appendWriter) *gzip.Writer {
		zw, _ := gzip.NewWriterLevel(w, level) // level checked above
		return zw
	}
	return &gzipCompressor{writers: writerPool[*gzip.Writer]{open: open}}, nil
}

type gzipCompressor struct {
	writers writerPool[*gzip.Writer]
	readers sync.Pool // *gzipReader
}

type gzipReader struct {
	zr *gzip.Reader
	in bytes.Reader
}

func (*gzipCompressor) Name() string { return CompressorGzip }

func (g *gzipCompressor) Compress(dst, src []byte) ([]byte, error) {
	dst, err := g.writers.appendTo(dst, func(zw *gzip.Writer, out *appendWriter) error {
		zw.Reset(out)
		if _, err := zw.Write(src); err != nil {
			return err
		}
		return zw.Close()
	})
	if err != nil {
		return dst, fmt.Errorf("codec: gzip: %w", err)
	}
	return dst, nil
}

func (g *gzipCompressor) Decompress(dst, src []byte, limit int) ([]byte, error) {
	r, _ := g.readers.Get().(*gzipReader)
	if r == nil {
		r = new(gzipReader)
	}
	defer func() {
		r.in.Reset(nil)
		if r.zr != nil {
			r.zr.Header = gzip.Header{}
		}
		g.readers.Put(r)
	}()
	r.in.Reset(src)
	var err error
	if r.zr == nil {
		r.zr, err = gzip.NewReader(&r.in)
	} else {
		err = r.zr.Reset(&r.in)
	}
	if err != nil {
		return dst, fmt.Errorf("%w: gzip header: %w", ErrCorrupt, err)
	}
	// The trailer's size field is a hint only (hostile input can lie): never trust it past
	// the limit or the format's worst-case ratio.
	hint := 0
	if len(src) >= 4 {
		n := src[len(src)-4:]
		hint = int(uint32(n[0]) | uint32(n[1])<<8 | uint32(n[2])<<16 | uint32(n[3])<<24)
	}
	hint = min(hint, limit+1, len(src)*deflateMaxRatio)
	start := len(dst)
	dst = slices.Grow(dst, max(hint, 512))
	for {
		produced := len(dst) - start
		if produced > limit {
			return dst[:start], tooLarge("gzip", 0, limit)
		}
		if len(dst) == cap(dst) {
			dst = slices.Grow(dst, min(max(produced, 512), limit+1-produced))
		}
		// Never ask for more than one byte past the limit.
		end := min(cap(dst), start+limit+1)
		n, err := r.zr.Read(dst[len(dst):end])
		dst = dst[:len(dst)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return dst[:start], fmt.Errorf("%w: gzip: %w", ErrCorrupt, err)
		}
	}
	if len(dst)-start > limit {
		return dst[:start], tooLarge("gzip", 0, limit)
	}
	return dst, nil
}

// NewZstd returns the zstd compressor. It shares one encoder and one decoder, created on
// first use, through EncodeAll and DecodeAll (safe for concurrent use). The decoder refuses
// windows over l.MaxZstdWindow and output over l.MaxDecompressed whatever limit
// Decompress is given.
func NewZstd(l Limits) Compressor {
	return &zstdCompressor{limits: l.withDefaults()}
}

type zstdCompressor struct {
	limits Limits
	once   sync.Once
	enc    *zstd.Encoder
	dec    *zstd.Decoder
	err    error
}

func (*zstdCompressor) Name() string { return CompressorZstd }

func (z *zstdCompressor) init() error {
	z.once.Do(func() {
		window := 1 << 10
		for window*2 <= z.limits.MaxZstdWindow && window < 1<<29 {
			window *= 2
		}
		z.enc, z.err = zstd.NewWriter(nil,
			zstd.WithEncoderLevel(zstd.SpeedDefault),
			zstd.WithWindowSize(window))
		if z.err != nil {
			z.err = fmt.Errorf("codec: zstd encoder: %w", z.err)
			return
		}
		z.dec, z.err = zstd.NewReader(nil,
			zstd.WithDecoderMaxMemory(uint64(z.limits.MaxDecompressed)),
			zstd.WithDecoderMaxWindow(uint64(z.limits.MaxZstdWindow)),
			zstd.WithDecoderConcurrency(0))
		if z.err != nil {
			z.err = fmt.Errorf("codec: zstd decoder: %w", z.err)
		}
	})
	return z.err
}

func (z *zstdCompressor) Compress(dst, src []byte) ([]byte, error) {
	if err := z.init(); err != nil {
		return dst, err
	}
	return z.enc.EncodeAll(src, dst), nil
}

func (z *zstdCompressor) Decompress(dst, src []byte, limit int) ([]byte, error) {
	if err := z.init(); err != nil {
		return dst, err
	}
	if len(src) == 0 {
		return dst, fmt.Errorf("%w: zstd: empty input", ErrCorrupt)
	}
	limit = min(limit, z.limits.MaxDecompressed)
	// Look at the frame header before the decoder allocates for what it declares.
	var h zstd.Header
	if err := h.Decode(src); err != nil {
		return dst, fmt.Errorf("%w: zstd header: %w", ErrCorrupt, err)
	}
	if h.HasFCS && h.FrameContentSize > uint64(limit) {
		return dst, tooLarge("zstd frame", h.FrameContentSize, limit)
	}
	if h.WindowSize > uint64(z.limits.MaxZstdWindow) {
		return dst, fmt.Errorf("%w: zstd window of %d bytes is over the limit of %d bytes", ErrTooLarge, h.WindowSize, z.limits.MaxZstdWindow)
	}
	start := len(dst)
	out, err := z.dec.DecodeAll(src, dst)
	switch {
	case errors.Is(err, zstd.ErrDecoderSizeExceeded):
		return dst[:start], tooLarge("zstd", 0, limit)
	case errors.Is(err, zstd.ErrWindowSizeExceeded):
		return dst[:start], fmt.Errorf("%w: zstd window is over the limit of %d bytes", ErrTooLarge, z.limits.MaxZstdWindow)
	case err != nil:
		return dst[:start], fmt.Errorf("%w: zstd: %w", ErrCorrupt, err)
	}
	if len(out)-start > limit {
		return out[:start], tooLarge("zstd", 0, limit)
	}
	return out, nil
}

// NewS2 returns the s2 compressor (block format, snappy-compatible on decode).
func NewS2() Compressor { return s2Compressor{} }

type s2Compressor struct{}

func (s2Compressor) Name() string { return CompressorS2 }

func (s2Compressor) Compress(dst, src []byte) ([]byte, error) {
	n := s2.MaxEncodedLen(len(src))
	if n < 0 {
		return dst, fmt.Errorf("%w: s2 input of %d bytes", ErrTooLarge, len(src))
	}
	start := len(dst)
	dst = slices.Grow(dst, n)
	out := s2.Encode(dst[start:start+n], src)
	return dst[:start+len(out)], nil
}

func (s2Compressor) Decompress(dst, src []byte, limit int) ([]byte, error) {
	n, err := s2.DecodedLen(src)
	if err != nil {
		return dst, fmt.Errorf("%w: s2: %w", ErrCorrupt, err)
	}
	if n > limit {
		return dst, tooLarge("s2 block", uint64(n), limit)
	}
	start := len(dst)
	dst = slices.Grow(dst, n)
	if _, err := s2.Decode(dst[start:start+n], src); err != nil {
		return dst[:start], fmt.Errorf("%w: s2: %w", ErrCorrupt, err)
	}
	return dst[:start+n], nil
}
