package codec

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// maxWriteDepth stops the value writer on cyclic maps and slices.
const maxWriteDepth = 10000

// appendValue appends the msgpack form of a JSON-ready value. Its reason to exist is
// json.Number: the library would write it as a string, so a message decoded from JSON
// and re-encoded as msgpack (a gateway between channels) would change type. Numbers are
// written as integers when they are integers and fit, else as float64. Values of other
// types are handed to the library encoder, which writes to the same buffer.
func (e *msgpackEncoder) appendValue(v any, depth int) error {
	if depth > maxWriteDepth {
		return fmt.Errorf("codec: msgpack: value nested deeper than %d (a cycle?)", maxWriteDepth)
	}
	b := e.out.b
	switch v := v.(type) {
	case nil:
		b = append(b, 0xc0)
	case bool:
		if v {
			b = append(b, 0xc3)
		} else {
			b = append(b, 0xc2)
		}
	case string:
		b = appendStrHeader(b, len(v))
		b = append(b, v...)
	case json.Number:
		var err error
		if b, err = appendNumber(b, v); err != nil {
			return err
		}
	case int64:
		b = appendInt(b, v)
	case uint64:
		b = appendUint(b, v)
	case int:
		b = appendInt(b, int64(v))
	case float64:
		b = appendFloat(b, v)
	case []any:
		b = appendContainerHeader(b, len(v), 0x90, 0xdc, 0xdd)
		e.out.b = b
		for _, x := range v {
			if err := e.appendValue(x, depth+1); err != nil {
				return err
			}
		}
		return nil
	case map[string]any:
		e.out.b = appendContainerHeader(b, len(v), 0x80, 0xde, 0xdf)
		for k, x := range v {
			e.out.b = append(appendStrHeader(e.out.b, len(k)), k...)
			if err := e.appendValue(x, depth+1); err != nil {
				return err
			}
		}
		return nil
	default:
		e.out.b = b
		if err := e.enc.Encode(v); err != nil {
			return fmt.Errorf("codec: msgpack: %w", err)
		}
		return nil
	}
	e.out.b = b
	return nil
}

func appendNumber(b []byte, n json.Number) ([]byte, error) {
	s := string(n)
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return appendInt(b, i), nil
	}
	if u, err := strconv.ParseUint(s, 10, 64); err == nil {
		return appendUint(b, u), nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) {
		return b, fmt.Errorf("codec: msgpack: number %q does not fit a float64", s)
	}
	return appendFloat(b, f), nil
}

func appendStrHeader(b []byte, n int) []byte {
	switch {
	case n < 32:
		return append(b, 0xa0|byte(n))
	case n <= math.MaxUint8:
		return append(b, 0xd9, byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, 0xda), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(b, 0xdb), uint32(n))
}

func appendContainerHeader(b []byte, n int, fix, c16, c32 byte) []byte {
	switch {
	case n < 16:
		return append(b, fix|byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, c16), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(b, c32), uint32(n))
}

// appendInt writes i in its smallest form, as the library does with compact ints.
func appendInt(b []byte, i int64) []byte {
	switch {
	case i >= 0:
		return appendUint(b, uint64(i))
	case i >= -32:
		return append(b, byte(i))
	case i >= math.MinInt8:
		return append(b, 0xd0, byte(i))
	case i >= math.MinInt16:
		return binary.BigEndian.AppendUint16(append(b, 0xd1), uint16(i))
	case i >= math.MinInt32:
		return binary.BigEndian.AppendUint32(append(b, 0xd2), uint32(i))
	}
	return binary.BigEndian.AppendUint64(append(b, 0xd3), uint64(i))
}

func appendUint(b []byte, u uint64) []byte {
	switch {
	case u <= 0x7f:
		return append(b, byte(u))
	case u <= math.MaxUint8:
		return append(b, 0xcc, byte(u))
	case u <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, 0xcd), uint16(u))
	case u <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(b, 0xce), uint32(u))
	}
	return binary.BigEndian.AppendUint64(append(b, 0xcf), u)
}

func appendFloat(b []byte, f float64) []byte {
	return binary.BigEndian.AppendUint64(append(b, 0xcb), math.Float64bits(f))
}
