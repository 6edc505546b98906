package codec

import (
	"errors"
	"math"
	"reflect"
	"unsafe"

	"github.com/jesus-go/jesus/internal/mpshape"
)

var errTooDeepToWrite = errors.New("value nested deeper than 10000 (a cycle?)")

// errPlanType: the message holds a value of a kind the target cannot take, which the
// library refuses as well; the read ends there, without the library reading it again
// (which, for an array, would first make room for every item its header declares).
var errPlanType = errors.New("codec: msgpack: a value does not fit the target type")

// numMismatch is the error for a token a number field did not take: for a number, the
// library's own conversions (it truncates and wraps) decide; anything else it refuses too.
func numMismatch(t *MsgpackToken) error {
	switch t.Kind {
	case MsgpackInt, MsgpackUint, MsgpackFloat:
		return errPlanMismatch
	}
	return errPlanType
}

// containerMismatch is the error for a token an array, map or struct did not take: the
// library reads an extension where it expects a map as the map its data begins with, and
// a struct from an array of its fields; anything else it refuses too.
func containerMismatch(t *MsgpackToken) error {
	switch t.Kind {
	case MsgpackArray, MsgpackTime, MsgpackMap:
		return errPlanMismatch
	}
	return errPlanType
}

// errPlanMismatch: the message does not read as the plan's type; the library reads it
// again and says why, or reads it its own way.
var errPlanMismatch = errors.New("codec: msgpack: message does not fit the compiled plan")

func encBool(b []byte, p unsafe.Pointer, _ int) ([]byte, error) {
	if *(*bool)(p) {
		return append(b, 0xc3), nil
	}
	return append(b, 0xc2), nil
}

func decBool(d *mpDec, t *MsgpackToken, p unsafe.Pointer) error {
	switch t.Kind {
	case MsgpackBool:
		*(*bool)(p) = t.Bool()
	case MsgpackNil:
		*(*bool)(p) = false
		d.inexact = true
	default:
		return errPlanType
	}
	return nil
}

func encFloat64(b []byte, p unsafe.Pointer, _ int) ([]byte, error) {
	return appendFloat(b, *(*float64)(p)), nil
}

func decFloat64(d *mpDec, t *MsgpackToken, p unsafe.Pointer) error {
	switch t.Kind {
	case MsgpackFloat:
		*(*float64)(p) = t.Float()
	case MsgpackInt:
		*(*float64)(p) = float64(t.Int())
		d.inexact = true
	case MsgpackNil:
		*(*float64)(p) = 0
		d.inexact = true
	default:
		return numMismatch(t) // an integer above MaxInt64 wraps in the library
	}
	return nil
}

func encString(b []byte, p unsafe.Pointer, _ int) ([]byte, error) {
	s := *(*string)(p)
	return append(appendStrHeader(b, len(s)), s...), nil
}

func decString(d *mpDec, t *MsgpackToken, p unsafe.Pointer) error {
	b, _, ok := d.bytesOf(t)
	if !ok {
		return errPlanType
	}
	if t.Kind != MsgpackStr {
		d.inexact = true
	}
	*(*string)(p) = d.str(b)
	return nil
}

// Strings of up to arenaString bytes are cut from shared chunks, of arenaMin bytes
// growing to arenaMax: a message of many short strings costs a few allocations instead
// of one a string, and a string kept from it keeps at most arenaMax bytes alive. A chunk
// of at most arenaKeep bytes serves the next messages of its decoder too (a stream of
// small items shares one), so a string kept from a small message keeps at most arenaKeep
// bytes alive.
const (
	arenaString = 256
	arenaMin    = 256
	arenaMax    = 8 << 10
	arenaKeep   = 1 << 10
)

// arena is where a decoder cuts its short strings from (see arenaString).
type arena []byte

// string returns b as a string, cut from a's chunk when short.
func (a *arena) string(b []byte) string {
	n := len(b)
	if n == 0 {
		return ""
	}
	if n > arenaString {
		return string(b)
	}
	if cap(*a)-len(*a) < n {
		*a = make([]byte, 0, min(max(arenaMin, 2*cap(*a)), arenaMax))
	}
	start := len(*a)
	*a = append(*a, b...)
	return unsafe.String(&(*a)[start], n)
}

// next ends a message: a small chunk is kept for the next one, a large one let go.
func (a *arena) next() {
	if cap(*a) > arenaKeep {
		*a = nil
	}
}

// str returns b as a string (see arenaString).
func (d *mpDec) str(b []byte) string { return d.arena.string(b) }

func encBytes(b []byte, p unsafe.Pointer, _ int) ([]byte, error) {
	s := *(*[]byte)(p)
	if s == nil {
		return append(b, 0xc0), nil
	}
	switch n := len(s); {
	case n <= math.MaxUint8:
		b = append(b, 0xc4, byte(n))
	case n <= math.MaxUint16:
		b = append(b, 0xc5, byte(n>>8), byte(n))
	default:
		b = append(b, 0xc6, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(b, s...), nil
}

func decBytes(d *mpDec, t *MsgpackToken, p unsafe.Pointer) error {
	b, isNil, ok := d.bytesOf(t)
	switch {
	case !ok:
		return errPlanType
	case isNil:
		*(*[]byte)(p) = nil
	default:
		if t.Kind != MsgpackBin {
			d.inexact = true
		}
		// The library reuses the target's room; a fresh copy reads the same.
		*(*[]byte)(p) = append(make([]byte, 0, len(b)), b...)
	}
	return nil
}

// bytesOf returns the bytes of a str or bin token (the library reads either into a
// string or a []byte), or isNil for nil; ok is false for any other token.
func (d *mpDec) bytesOf(t *MsgpackToken) (b []byte, isNil, ok bool) {
	switch t.Kind {
	case MsgpackStr, MsgpackBin:
		return d.data[t.Off : t.Off+t.Len], false, true
	case MsgpackNil:
		return nil, true, true
	}
	return nil, false, false
}

// intPlan fills p for a signed integer kind of size bytes.
func intPlan(p *mpPlan, size uintptr) {
	get, set := intAccess(size)
	lo, hi := int64(math.MinInt64)>>(64-8*size), int64(math.MaxInt64)>>(64-8*size)
	p.enc = func(b []byte, ptr unsafe.Pointer, _ int) ([]byte, error) { return appendInt(b, get(ptr)), nil }
	p.empty = func(ptr unsafe.Pointer) bool { return get(ptr) == 0 }
	p.dec = func(d *mpDec, t *MsgpackToken, ptr unsafe.Pointer) error {
		switch t.Kind {
		case MsgpackInt:
			if i := t.Int(); i >= lo && i <= hi {
				set(ptr, i)
				return nil
			}
		case MsgpackNil:
			set(ptr, 0)
			d.inexact = true
			return nil
		}
		return numMismatch(t) // out of range: the library truncates
	}
}

// uintPlan fills p for an unsigned integer kind of size bytes.
func uintPlan(p *mpPlan, size uintptr) {
	get, set := intAccess(size)
	hi := uint64(math.MaxUint64) >> (64 - 8*size)
	p.enc = func(b []byte, ptr unsafe.Pointer, _ int) ([]byte, error) {
		return appendUint(b, uint64(get(ptr))&hi), nil
	}
	p.empty = func(ptr unsafe.Pointer) bool { return get(ptr) == 0 }
	p.dec = func(d *mpDec, t *MsgpackToken, ptr unsafe.Pointer) error {
		switch t.Kind {
		case MsgpackInt:
			if i := t.Int(); i >= 0 && uint64(i) <= hi {
				set(ptr, i)
				return nil
			}
		case MsgpackUint:
			if size == 8 {
				set(ptr, int64(t.Uint()))
				return nil
			}
		case MsgpackNil:
			set(ptr, 0)
			d.inexact = true
			return nil
		}
		return numMismatch(t) // negative or out of range: the library wraps
	}
}

// intAccess reads and writes integers of size bytes; reads sign-extend.
func intAccess(size uintptr) (func(unsafe.Pointer) int64, func(unsafe.Pointer, int64)) {
	get := mpshape.IntReader(size)
	switch size {
	case 1:
		return get, func(p unsafe.Pointer, i int64) { *(*int8)(p) = int8(i) }
	case 2:
		return get, func(p unsafe.Pointer, i int64) { *(*int16)(p) = int16(i) }
	case 4:
		return get, func(p unsafe.Pointer, i int64) { *(*int32)(p) = int32(i) }
	}
	return get, func(p unsafe.Pointer, i int64) { *(*int64)(p) = i }
}

// mpDec reads one message with the package's reader into a planned value.
type mpDec struct {
	r    MsgpackReader
	data []byte
	tok  [1]MsgpackToken
	// inexact is set when the message is not what the plan writes for the value read,
	// but for the order of map keys and the widths of numbers and headers: a key no
	// field takes, a repeated key, a field missing or written empty where the plan
	// would leave it out or write it, nil or a number of another kind read as a value
	// (see UnmarshalExact).
	inexact bool
	arena   arena // where the strings of the message are cut from (str)
}

// next reads the next token.
func (d *mpDec) next() (*MsgpackToken, error) {
	t := &d.tok[0]
	if n, err := d.r.Read(d.tok[:]); n != 1 {
		if err == nil {
			err = errPlanMismatch
		}
		return nil, err
	}
	return t, nil
}

// skip reads past the contents of the container whose header t is (nothing for a scalar).
func (d *mpDec) skip(t *MsgpackToken) error {
	if t.Kind != MsgpackArray && t.Kind != MsgpackMap {
		return nil
	}
	for range t.Len {
		c, err := d.next()
		if err != nil {
			return err
		}
		if err := d.skip(c); err != nil {
			return err
		}
	}
	return nil
}

// decode reads data, a whole message, into the value of plan p at ptr.
func (d *mpDec) decode(data []byte, maxDepth int, p *mpPlan, ptr unsafe.Pointer) error {
	d.data, d.inexact = data, false
	d.r.Reset(data, maxDepth)
	t, err := d.next()
	if err == nil {
		err = p.dec(d, t, ptr)
	}
	if err == nil {
		err = d.r.End()
	}
	d.data = nil
	d.arena.next()
	d.r.Reset(nil, 0)
	return err
}

// structValue reads a struct; always has a bit set for each field (of the first 64) that
// the plan writes whatever its value.
func (d *mpDec) structValue(t *MsgpackToken, ptr unsafe.Pointer, typ reflect.Type, fields []mpField, names []string, always uint64) error {
	switch t.Kind {
	case MsgpackNil:
		typedZero(typ, ptr)
		d.inexact = true
		return nil
	case MsgpackMap:
	default:
		return containerMismatch(t)
	}
	var seen uint64 // the fields read, of the first 64
	if len(fields) > 64 {
		d.inexact = true
	}
	for i := range t.Len {
		v, err := d.next()
		if err != nil {
			return err
		}
		if v.Key != MsgpackStr {
			return errPlanMismatch
		}
		key := d.data[v.KeyOff : v.KeyOff+v.KeyLen]
		fi := fieldIndex(names, i, key)
		if fi < 0 {
			d.inexact = true
			if err := d.skip(v); err != nil {
				return err
			}
			continue
		}
		f := &fields[fi]
		fp := unsafe.Add(ptr, f.off)
		if err := f.plan.dec(d, v, fp); err != nil {
			return err
		}
		if !d.inexact && fi < 64 {
			d.inexact = seen&(1<<fi) != 0 || f.omitEmpty && f.plan.empty(fp)
			seen |= 1 << fi
		}
	}
	if seen&always != always {
		d.inexact = true // a field the plan writes is missing
	}
	return nil
}

func (d *mpDec) sliceValue(t *MsgpackToken, ptr unsafe.Pointer, typ reflect.Type, ep *mpPlan) error {
	switch t.Kind {
	case MsgpackNil:
		*(*sliceHeader)(ptr) = sliceHeader{}
		return nil
	case MsgpackArray:
	default:
		return containerMismatch(t)
	}
	// The reader has checked that t.Len items fit in the bytes that remain, but an item
	// of one byte may decode into a large element: the slice grows with what was read
	// (as the library's does) instead of being made whole up front for a message that
	// may fail at its second item.
	n, size := t.Len, typ.Elem().Size()
	c := n
	if size > 0 && uintptr(n)*size > maxPlanPrealloc {
		c = max(1, int(maxPlanPrealloc/size))
	}
	s := reflect.MakeSlice(typ, c, c)
	for i := range n {
		if i == c {
			c = min(n, 2*c)
			ns := reflect.MakeSlice(typ, c, c)
			reflect.Copy(ns, s)
			s = ns
		}
		v, err := d.next()
		if err != nil {
			return err
		}
		if err := ep.dec(d, v, unsafe.Add(s.UnsafePointer(), uintptr(i)*size)); err != nil {
			return err
		}
	}
	reflect.NewAt(typ, ptr).Elem().Set(s.Slice(0, n))
	return nil
}

// maxPlanPrealloc bounds the memory a plan sets aside for an array or map before it has
// read its items: a header may declare as many items as there are bytes left.
const maxPlanPrealloc = 64 << 10

func (d *mpDec) mapValue(t *MsgpackToken, ptr unsafe.Pointer, typ reflect.Type, ep *mpPlan) error {
	d.inexact = true // its keys' order is Go's: not followed
	m := reflect.NewAt(typ, ptr).Elem()
	switch t.Kind {
	case MsgpackNil:
		m.SetZero()
		return nil
	case MsgpackMap:
	default:
		return containerMismatch(t)
	}
	if m.IsNil() {
		hint := t.Len
		if per := typ.Key().Size() + typ.Elem().Size(); per > 0 && uintptr(hint)*per > maxPlanPrealloc {
			hint = int(maxPlanPrealloc / per)
		}
		m.Set(reflect.MakeMapWithSize(typ, hint))
	}
	k := reflect.New(typ.Key()).Elem()
	for range t.Len {
		v, err := d.next()
		if err != nil {
			return err
		}
		if v.Key != MsgpackStr {
			return errPlanMismatch
		}
		e := reflect.New(typ.Elem())
		if err := ep.dec(d, v, e.UnsafePointer()); err != nil {
			return err
		}
		k.SetString(d.str(d.data[v.KeyOff : v.KeyOff+v.KeyLen]))
		m.SetMapIndex(k, e.Elem())
	}
	return nil
}

// typedZero sets the value of type typ at ptr to its zero value.
func typedZero(typ reflect.Type, ptr unsafe.Pointer) {
	reflect.NewAt(typ, ptr).Elem().SetZero()
}
