// Package codec turns values into bytes and back: a Serializer (json, msgpack) followed by
// a Compressor (none, gzip, zstd, s2), composed into a Pipeline named in compact form
// ("msgpack+zstd") and built by a Registry that its caller owns. Every decoder is bounded
// (decompressed size, nesting depth, declared lengths) because its input comes from the
// network.
package codec

import "errors"

// Serializer turns values into bytes and back. Implementations are safe for concurrent use.
type Serializer interface {
	Name() string
	// Marshal appends the encoding of v to dst.
	Marshal(dst []byte, v any) ([]byte, error)
	// Unmarshal decodes data into v (a pointer), within the limits of the serializer.
	// It must not retain data: a Pipeline hands it a pooled buffer.
	Unmarshal(data []byte, v any) error
	// UnmarshalValue decodes data into a JSON-ready value: nil, bool, string, json.Number,
	// float64, int64, uint64, []any or map[string]any, or a clear error. Like Unmarshal,
	// it must not retain data.
	UnmarshalValue(data []byte) (any, error)
}

// Compressor compresses and decompresses whole messages. Safe for concurrent use.
type Compressor interface {
	Name() string
	// Compress appends the compressed form of src to dst.
	Compress(dst, src []byte) ([]byte, error)
	// Decompress appends the decompressed form of src to dst. It fails with an error
	// wrapping ErrTooLarge once the output would exceed limit bytes, without producing them.
	Decompress(dst, src []byte, limit int) ([]byte, error)
}

// Errors wrapped by codec failures.
var (
	ErrTooLarge = errors.New("codec: too large")
	ErrTooDeep  = errors.New("codec: nesting too deep")
	ErrUnknown  = errors.New("codec: unknown name")
	ErrCorrupt  = errors.New("codec: corrupt input")
)
