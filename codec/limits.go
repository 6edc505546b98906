package codec

// Default limits, used for every zero field of Limits.
const (
	DefaultMaxDecompressed = 4 << 20 // 4 MiB
	DefaultMaxDepth        = 64
	DefaultMaxZstdWindow   = 8 << 20 // 8 MiB

	minZstdWindow = 1 << 10 // the smallest window zstd allows
)

// Limits bound what a decoder accepts. Input comes from the network, so every decoder
// of a Registry enforces them before it allocates for what the input declares.
// A zero field means its default; see DefaultLimits.
type Limits struct {
	// MaxDecompressed is the largest serialized message, in bytes: the most a
	// decompressor produces, the largest input an uncompressed pipeline decodes, and the
	// largest message Pipeline.Marshal writes.
	MaxDecompressed int
	// MaxDepth is the deepest nesting of arrays and maps (objects) a decoder accepts.
	// A scalar has depth 0, [1] has depth 1, [[1]] depth 2.
	MaxDepth int
	// MaxZstdWindow is the largest zstd window, in bytes, the zstd decoder accepts.
	MaxZstdWindow int
}

// DefaultLimits returns the default limits: 4 MiB decompressed, depth 64, 8 MiB zstd window.
func DefaultLimits() Limits {
	return Limits{
		MaxDecompressed: DefaultMaxDecompressed,
		MaxDepth:        DefaultMaxDepth,
		MaxZstdWindow:   DefaultMaxZstdWindow,
	}
}

// withDefaults returns l with zero or negative fields replaced by their defaults and the
// zstd window raised to the minimum zstd allows.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxDecompressed <= 0 {
		l.MaxDecompressed = d.MaxDecompressed
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = d.MaxDepth
	}
	if l.MaxZstdWindow <= 0 {
		l.MaxZstdWindow = d.MaxZstdWindow
	}
	if l.MaxZstdWindow < minZstdWindow {
		l.MaxZstdWindow = minZstdWindow
	}
	return l
}
