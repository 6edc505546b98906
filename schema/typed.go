package schema

import (
	"math"
	"reflect"
	"sync"
	"unicode/utf8"
	"unsafe"

	"github.com/jesus-go/jesus/internal/mpshape"
)

// Checking a Go value as a serializer (msgpack, or encoding/json) would write it, without
// writing it: a sender holds the value it is about to serialize, and its type says, once,
// which schema node each field meets. A check compiled from a node and a type's shape (mpshape) reads
// fields at their offsets, with no parse and no key lookups, and applies the stream
// walker's own keyword checks (validString, validNum, the same literals and formats) to
// what the bytes would hold.
//
// Like the walkers, a value check only has to be right when it accepts: it mirrors validS
// for the bytes the serializer writes, and anything it is unsure of (a bin, a map, a
// uniqueItems array, a node that is not streamable) is left to the bytes.

// valueCheck checks the value at p, inside depth containers.
type valueCheck func(p unsafe.Pointer, depth int) bool

// typedEntry is a Validator's compiled check of one Go type (nil check: none); for a
// pointer type, elem checks the value pointed to.
type typedEntry struct {
	check, elem valueCheck
	direct      bool // the interface's data word points to the value
}

// AcceptsMsgpack reports whether the message the msgpack serializer writes for x
// certainly passes v. False means only that it is not known: check the bytes
// (ValidateMsgpack). A value of a type the serializer leaves to the msgpack library, or
// whose schema the check cannot follow, is never accepted here.
func (v *Validator) AcceptsMsgpack(x any) bool {
	return v.accepts(x, &v.typed, mpshape.Of)
}

// AcceptsJSON reports whether the document encoding/json writes for x (codec's json
// serializer) certainly passes v. False means only that it is not known: check the bytes
// (ValidateJSON). A value of a type with marshaling of its own, or whose schema the check
// cannot follow, is never accepted here; nor is a string that is not valid UTF-8, which
// encoding/json would change.
func (v *Validator) AcceptsJSON(x any) bool {
	return v.accepts(x, &v.typedJSON, mpshape.JSONOf)
}

// accepts is AcceptsMsgpack or AcceptsJSON: checks compiled from the shapes shapeOf gives,
// kept in cache by type.
func (v *Validator) accepts(x any, cache *sync.Map, shapeOf func(reflect.Type) *mpshape.Shape) bool {
	if x == nil || v.fast == nil {
		return false
	}
	t := reflect.TypeOf(x)
	e, ok := cache.Load(t)
	if !ok {
		e, _ = cache.LoadOrStore(t, v.compileTyped(t, shapeOf(t)))
	}
	// The value is read through x's data word, without taking x's address (which would
	// move x to the heap): a pointer is that word, most other values are behind it.
	te := e.(*typedEntry)
	switch {
	case te.check == nil:
		return false
	case te.elem != nil:
		if q := mpshape.Data(&x); q != nil {
			return te.elem(q, 0)
		}
		return te.check(unsafe.Pointer(&nilPointer), 0)
	case te.direct:
		return te.check(mpshape.Data(&x), 0)
	}
	return checkHeld(te.check, x, t)
}

// nilPointer is a nil pointer, for checking one.
var nilPointer unsafe.Pointer

// checkHeld checks the pointer-shaped value x holds (a map, a struct of one pointer).
//
//go:noinline
func checkHeld(c valueCheck, x any, t reflect.Type) bool {
	return c(mpshape.ValuePointer(&x, t), 0)
}

// compileTyped compiles the check of values of type t, of shape s.
func (v *Validator) compileTyped(t reflect.Type, s *mpshape.Shape) *typedEntry {
	if s == nil || !v.fast.stream {
		return &typedEntry{}
	}
	c := typedCompiler{done: map[typedKey]*valueCheck{}, maxDepth: v.decodeDepth()}
	e := &typedEntry{check: c.compile(v.fast, s), direct: !mpshape.PointerShaped(t)}
	if e.check != nil && s.Kind == mpshape.Pointer {
		e.elem = c.compile(v.fast, s.Elem)
	}
	return e
}

type typedKey struct {
	n *node
	s *mpshape.Shape
}

type typedCompiler struct {
	done     map[typedKey]*valueCheck // compiled or being compiled (recursive types)
	maxDepth int
}

func (c *typedCompiler) compile(n *node, s *mpshape.Shape) valueCheck {
	for n.refOnly {
		n = n.ref
	}
	k := typedKey{n, s}
	if f, ok := c.done[k]; ok {
		if *f != nil {
			return *f
		}
		return func(p unsafe.Pointer, d int) bool { return *f != nil && (*f)(p, d) }
	}
	cell := new(valueCheck)
	c.done[k] = cell
	*cell = c.compileNode(n, s)
	return *cell
}

// compileNode is compile for a node that is not just a $ref.
func (c *typedCompiler) compileNode(n *node, s *mpshape.Shape) valueCheck {
	if n.always < 0 || !n.stream {
		return nil
	}
	if n.always > 0 {
		return c.depthOnly(s)
	}
	switch s.Kind {
	case mpshape.Bool:
		return func(p unsafe.Pointer, _ int) bool { return n.validBool(*(*bool)(p)) }
	case mpshape.Int:
		if s.Size == 8 {
			if lo, hi, ok := n.intRange(); ok {
				return func(p unsafe.Pointer, _ int) bool { i := *(*int64)(p); return i >= lo && i <= hi }
			}
		}
		get := mpshape.IntReader(s.Size)
		return func(p unsafe.Pointer, _ int) bool { return n.validInt(get(p)) }
	case mpshape.Uint:
		get := mpshape.IntReader(s.Size)
		mask := uint64(math.MaxUint64) >> (64 - 8*s.Size)
		return func(p unsafe.Pointer, _ int) bool { return n.validUint(uint64(get(p)) & mask) }
	case mpshape.Float:
		if lo, hi, ok := n.floatRange(); ok {
			return func(p unsafe.Pointer, _ int) bool { f := *(*float64)(p); return f >= lo && f <= hi }
		}
		return func(p unsafe.Pointer, _ int) bool { return n.validFloat(*(*float64)(p)) }
	case mpshape.String:
		check := n.stringCheck()
		if s.ValidUTF8 {
			return func(p unsafe.Pointer, d int) bool { return utf8.ValidString(*(*string)(p)) && check(p, d) }
		}
		return check
	case mpshape.Bytes:
		return func(p unsafe.Pointer, _ int) bool { return (*mpshape.SliceHeader)(p).Data == nil && n.validNull() }
	case mpshape.Pointer:
		elem := c.compile(n, s.Elem)
		if elem == nil {
			return nil
		}
		return func(p unsafe.Pointer, d int) bool {
			q := *(*unsafe.Pointer)(p)
			if q == nil {
				return n.validNull()
			}
			return elem(q, d)
		}
	case mpshape.Slice:
		return c.compileSlice(n, s)
	case mpshape.Struct:
		return c.compileStruct(n, s)
	}
	return nil // maps are read through reflect: the bytes are as quick
}

// depthOnly accepts any value of s that is within the reader's depth limit.
func (c *typedCompiler) depthOnly(s *mpshape.Shape) valueCheck {
	switch s.Kind {
	case mpshape.Bool, mpshape.Int, mpshape.Uint, mpshape.String, mpshape.Bytes:
		return func(unsafe.Pointer, int) bool { return true }
	case mpshape.Float:
		return func(p unsafe.Pointer, _ int) bool { return finite(*(*float64)(p)) }
	}
	return c.compile(trueNode, s)
}

// trueNode is the schema true, for values a node accepts whole: their containers are
// still counted against the depth limit.
var trueNode = &node{stream: true, minProps: -1, maxProps: -1, minItems: -1, maxItems: -1, minLen: -1, maxLen: -1}

func (c *typedCompiler) compileSlice(n *node, s *mpshape.Shape) valueCheck {
	if n.unique || n.valueChecks || n.types != 0 && n.types&tArray == 0 && n.types&tNull == 0 {
		return nil
	}
	items := make([]valueCheck, len(n.prefix))
	for i, pn := range n.prefix {
		if items[i] = c.compile(pn, s.Elem); items[i] == nil {
			return nil
		}
	}
	rest := c.compile(trueNode, s.Elem)
	if n.items != nil {
		rest = c.compile(n.items, s.Elem)
	}
	if rest == nil {
		return nil
	}
	size, maxDepth := s.Size, c.maxDepth
	return func(p unsafe.Pointer, d int) bool {
		h := (*mpshape.SliceHeader)(p)
		if h.Data == nil {
			return n.validNull()
		}
		if n.types != 0 && n.types&tArray == 0 || d+1 > maxDepth ||
			n.minItems >= 0 && h.Len < n.minItems || n.maxItems >= 0 && h.Len > n.maxItems {
			return false
		}
		for i := range h.Len {
			check := rest
			if i < len(items) {
				check = items[i]
			}
			if !check(unsafe.Add(h.Data, uintptr(i)*size), d+1) {
				return false
			}
		}
		return true
	}
}

// typedField is a struct field as an object member: where it is, whether it is left out
// (empty, set for omitempty fields: it reports when), and the check of its value.
type typedField struct {
	off   uintptr
	empty func(unsafe.Pointer) bool
	check valueCheck
}

func (c *typedCompiler) compileStruct(n *node, s *mpshape.Shape) valueCheck {
	if n.valueChecks || n.types != 0 && n.types&tObject == 0 || len(s.Fields) > 64 {
		return nil
	}
	fields := make([]typedField, len(s.Fields))
	byName := make(map[string]int, len(s.Fields))
	for i, f := range s.Fields {
		byName[f.Name] = i
		tf := typedField{off: f.Off}
		if f.OmitEmpty {
			tf.empty = f.Empty
		}
		if p, ok := n.propIdx[f.Name]; ok {
			tf.check = c.compile(n.props[p].n, f.Shape)
		} else {
			switch n.addl {
			case 1:
				tf.check = func(unsafe.Pointer, int) bool { return false } // must not be written
			case 2:
				tf.check = c.compile(n.addlNode, f.Shape)
			default:
				tf.check = c.depthOnly(f.Shape)
			}
		}
		if tf.check == nil {
			return nil
		}
		fields[i] = tf
	}
	rules, ok := n.writtenRules(byName)
	if !ok {
		return nil
	}
	maxDepth := c.maxDepth
	return func(p unsafe.Pointer, d int) bool {
		if n.types != 0 && n.types&tObject == 0 || d+1 > maxDepth {
			return false
		}
		var written uint64
		count := 0
		for i := range fields {
			f := &fields[i]
			fp := unsafe.Add(p, f.off)
			if f.empty != nil && f.empty(fp) {
				continue
			}
			written |= 1 << i
			count++
			if !f.check(fp, d+1) {
				return false
			}
		}
		return (n.minProps < 0 || count >= n.minProps) && (n.maxProps < 0 || count <= n.maxProps) && rules.hold(written)
	}
}

// writtenRules are required and dependentRequired as masks of the fields of a struct
// (bit i: field i is written).
type writtenRules struct {
	required        uint64
	depOn, depNeeds []uint64 // when a field of depOn[i] is written, all of depNeeds[i] are
}

func (r *writtenRules) hold(written uint64) bool {
	if written&r.required != r.required {
		return false
	}
	for i, on := range r.depOn {
		if written&on != 0 && written&r.depNeeds[i] != r.depNeeds[i] {
			return false
		}
	}
	return true
}

// writtenRules returns n's required and dependentRequired over the fields byName
// numbers; ok is false when a name that must be written is no field (the message always
// fails: the bytes say how).
func (n *node) writtenRules(byName map[string]int) (r writtenRules, ok bool) {
	for _, name := range n.required {
		i, ok := byName[name]
		if !ok {
			return r, false
		}
		r.required |= 1 << i
	}
	for name, deps := range n.depRequired {
		i, ok := byName[name]
		if !ok {
			continue
		}
		var needs uint64
		for _, dn := range deps {
			j, ok := byName[dn]
			if !ok {
				return r, false
			}
			needs |= 1 << j
		}
		r.depOn, r.depNeeds = append(r.depOn, 1<<i), append(r.depNeeds, needs)
	}
	return r, true
}

// Checks of the commonest scalar schemas, with what does not change from value to value
// settled when they are compiled: each accepts exactly what the general one (validStr,
// validInt, validFloat) accepts.

// stringCheck checks a string field.
func (n *node) stringCheck() valueCheck {
	if n.types != 0 && n.types&tString == 0 {
		return func(unsafe.Pointer, int) bool { return false }
	}
	switch {
	case !n.valueChecks:
		return func(p unsafe.Pointer, _ int) bool {
			s := *(*string)(p)
			return n.validString(unsafe.Slice(unsafe.StringData(s), len(s)))
		}
	case n.consts == nil && n.format == nil && n.minLen < 0 && n.maxLen < 0 && n.pattern == nil && n.simple == nil:
		// An enum alone.
		var enum []string
		for _, l := range n.enum {
			if v, ok := l.v.(string); ok {
				enum = append(enum, v)
			}
		}
		return func(p unsafe.Pointer, _ int) bool {
			s := *(*string)(p)
			for _, e := range enum {
				if e == s {
					return true
				}
			}
			return false
		}
	}
	return func(p unsafe.Pointer, _ int) bool { return n.validStr(*(*string)(p)) }
}

// intRange reports whether an int64 is valid for n just when it is in [lo, hi]: n allows
// integers and has no keyword for them but integral minimum and maximum.
func (n *node) intRange() (lo, hi int64, ok bool) {
	if n.types != 0 && n.types&(tNumber|tInteger) == 0 || n.valueChecks || n.exMin != nil || n.exMx != nil || n.mult != nil {
		return 0, 0, false
	}
	lo, hi = math.MinInt64, math.MaxInt64
	if n.min != nil {
		if !n.min.isI {
			return 0, 0, false
		}
		lo = n.min.i
	}
	if n.max != nil {
		if !n.max.isI {
			return 0, 0, false
		}
		hi = n.max.i
	}
	return lo, hi, true
}

// floatRange reports whether a float64 is valid for n just when it is in [lo, hi] (NaN
// and the infinities are not): n allows any number and has no keyword for them but a
// minimum and maximum that floats represent exactly (their shortest form).
func (n *node) floatRange() (lo, hi float64, ok bool) {
	if n.types != 0 && n.types&tNumber == 0 || n.valueChecks || n.exMin != nil || n.exMx != nil || n.mult != nil {
		return 0, 0, false
	}
	lo, hi = -math.MaxFloat64, math.MaxFloat64
	if n.min != nil {
		if !n.min.short {
			return 0, 0, false
		}
		lo = max(lo, n.min.f)
	}
	if n.max != nil {
		if !n.max.short {
			return 0, 0, false
		}
		hi = min(hi, n.max.f)
	}
	return lo, hi, true
}

// The scalar checks of validS, for the token the serializer would write.

func (n *node) validNull() bool {
	if n.types != 0 && n.types&tNull == 0 {
		return false
	}
	if n.valueChecks {
		for _, l := range n.consts {
			if l.num != nil || l.v != nil {
				return false
			}
		}
		if n.enum != nil && !anyLit(n.enum, func(l *lit) bool { return l.num == nil && l.v == nil }) {
			return false
		}
		if n.format != nil && !n.format(nil) {
			return false
		}
	}
	return true
}

func (n *node) validBool(b bool) bool {
	if n.types != 0 && n.types&tBool == 0 {
		return false
	}
	if n.valueChecks {
		eq := func(l *lit) bool { v, ok := l.v.(bool); return ok && v == b }
		if n.consts != nil && !eq(&n.consts[0]) || n.enum != nil && !anyLit(n.enum, eq) {
			return false
		}
		if n.format != nil && !n.format(b) {
			return false
		}
	}
	return true
}

func (n *node) validStr(s string) bool {
	if n.types != 0 && n.types&tString == 0 {
		return false
	}
	b := unsafe.Slice(unsafe.StringData(s), len(s))
	if n.valueChecks {
		eq := func(l *lit) bool { v, ok := l.v.(string); return ok && v == s }
		if n.consts != nil && !eq(&n.consts[0]) || n.enum != nil && !anyLit(n.enum, eq) {
			return false
		}
		if n.format != nil && !(n.fastFormat != nil && n.fastFormat(b) || n.format(s)) {
			return false
		}
	}
	return n.validString(b)
}

func (n *node) validInt(i int64) bool {
	if n.types != 0 && n.types&(tNumber|tInteger) == 0 {
		return false
	}
	if n.format != nil && !n.format(i) {
		return false
	}
	v := num{kind: kInt, i: i, f: float64(i)}
	return n.validNumber(&v)
}

func (n *node) validUint(u uint64) bool {
	if u <= math.MaxInt64 {
		return n.validInt(int64(u)) // the serializer writes it as an integer the reader takes as signed
	}
	if n.types != 0 && n.types&(tNumber|tInteger) == 0 {
		return false
	}
	if n.format != nil && !n.format(u) {
		return false
	}
	v := num{kind: kUint, u: u, f: float64(u)}
	return n.validNumber(&v)
}

func (n *node) validFloat(f float64) bool {
	if !finite(f) {
		return false // the reader refuses a float with no JSON form
	}
	if n.types != 0 && n.types&tNumber == 0 && !(n.types&tInteger != 0 && f == math.Trunc(f)) {
		return false
	}
	if n.format != nil && !n.format(f) {
		return false
	}
	v := num{kind: kFloat, f: f}
	return n.validNumber(&v)
}

// validNumber is the rest of validS for a number v, but its format.
func (n *node) validNumber(v *num) bool {
	if n.valueChecks {
		eq := func(l *lit) bool { return l.num != nil && v.cmp(l.num) == 0 }
		if n.consts != nil && !eq(&n.consts[0]) || n.enum != nil && !anyLit(n.enum, eq) {
			return false
		}
	}
	return !n.hasNum || n.validNum(v)
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

func anyLit(ls []lit, eq func(*lit) bool) bool {
	for i := range ls {
		if eq(&ls[i]) {
			return true
		}
	}
	return false
}
