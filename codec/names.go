package codec

import "strings"

// The names a channel may use are a closed set: descriptors name them, every service of
// a fleet must understand them, and PROTOCOL.md specifies each. A Registry may replace
// the implementation under a name (a compression level, an instrumented compressor), but
// not add a name. This file is the one source of the names and of their HTTP media types.

// SerializerNames returns the serializer names, in the order documented.
func SerializerNames() []string { return []string{SerializerJSON, SerializerMsgpack} }

// CompressorNames returns the compressor names, in the order documented.
func CompressorNames() []string {
	return []string{CompressorNone, CompressorGzip, CompressorZstd, CompressorS2}
}

// KnownSerializer reports whether name is one of SerializerNames.
func KnownSerializer(name string) bool {
	return name == SerializerJSON || name == SerializerMsgpack
}

// KnownCompressor reports whether name is one of CompressorNames.
func KnownCompressor(name string) bool {
	switch name {
	case CompressorNone, CompressorGzip, CompressorZstd, CompressorS2:
		return true
	}
	return false
}

// MediaType returns the HTTP media type a serializer's data is sent with
// ("application/json", "application/msgpack"), "" for an unknown name.
func MediaType(serializer string) string {
	switch serializer {
	case SerializerJSON:
		return "application/json"
	case SerializerMsgpack:
		return "application/msgpack"
	}
	return ""
}

// SerializerOf returns the serializer of an HTTP media type (without parameters, any
// case): application/json, and application/msgpack with its unofficial aliases
// application/x-msgpack and application/vnd.msgpack.
func SerializerOf(mediaType string) (string, bool) {
	switch strings.ToLower(mediaType) {
	case "application/json":
		return SerializerJSON, true
	case "application/msgpack", "application/x-msgpack", "application/vnd.msgpack":
		return SerializerMsgpack, true
	}
	return "", false
}
