package codec

import (
	"encoding"
	"encoding/json"
	"reflect"
	"sync"
	"unicode"
	"unicode/utf8"
	"unsafe"

	"github.com/jesus-go/jesus/internal/mpshape"
)

// Compiled plans for decoding JSON into the commonest Go types. encoding/json checks the
// whole document, then walks it again finding the decoder of every value by its type and
// storing through reflect.Value; a plan is worked out once per type and reads with
// JSONReader, the package's one JSON parser, straight into the value's memory. Plans
// cover structs whose fields carry `json` tags (name, omitempty, omitzero), bool, the
// integer kinds, float32, float64, string, slices, string-keyed maps and pointers of
// those, named or not, with encoding/json's rules: a key matches the field of its name,
// else the first whose name is equal under Unicode case folding; unknown keys are
// skipped; null leaves a bool, number, string or struct as it is and sets a pointer,
// slice or map to nil; a number goes into an integer only if strconv.ParseInt (ParseUint)
// reads it whole within the type's range, into a float if strconv.ParseFloat reads it.
// Any type that encoding/json treats in a way of its own (the Unmarshaler and
// TextUnmarshaler interfaces, their Marshaler counterparts, `,string`, embedded fields,
// json.Number, interfaces, arrays, []byte as base64, maps with other keys) has no plan and
// is left to encoding/json, whole.
//
// A plan reads only into a zero value, and only documents it reads exactly as
// encoding/json would: anything else (a syntax error, a value of the wrong kind, a
// number out of range, a key met twice, a depth or number bound) ends the plan's read,
// the target is zeroed, and encoding/json reads the document again, after checkJSON, as
// it always did. So a plan never changes what a document decodes to, nor the error it
// gets.

// jsPlan is what the JSON serializer knows about one Go type.
type jsPlan struct {
	typ reflect.Type
	// dec reads the value whose token t has been read into the value at p.
	dec func(d *jsDec, t *JSONToken, p unsafe.Pointer) error
	// empty reports whether the value at p is empty for `omitempty`, as encoding/json
	// decides it (a struct never is).
	empty func(p unsafe.Pointer) bool
}

// jsField is a struct field of a plan.
type jsField struct {
	name      string
	folded    string // foldName(name)
	off       uintptr
	omitEmpty bool
	plan      *jsPlan
}

// jsPlans holds the json plans; a type without one is left to encoding/json.
var jsPlans = planCache[jsPlan]{none: new(jsPlan)}

// jsonPlanOf returns the plan of t, or nil when t is left to encoding/json.
func jsonPlanOf(t reflect.Type) *jsPlan {
	if p, known := jsPlans.load(t); known {
		return p
	}
	return jsPlans.of(t, func(t reflect.Type, building map[reflect.Type]*jsPlan) *jsPlan {
		return (&jsPlanCompiler{building: building}).plan(t)
	})
}

var jsonOwnTypes = []reflect.Type{
	reflect.TypeFor[json.Unmarshaler](),
	reflect.TypeFor[json.Marshaler](),
	reflect.TypeFor[encoding.TextUnmarshaler](),
	reflect.TypeFor[encoding.TextMarshaler](),
}

// jsonSpecial reports whether encoding/json treats t, or a pointer to it, in its own way.
func jsonSpecial(t reflect.Type) bool {
	if t == reflect.TypeFor[json.Number]() {
		return true
	}
	return implementsAny(t, jsonOwnTypes)
}

type jsPlanCompiler struct {
	building map[reflect.Type]*jsPlan
}

// plan compiles the plan of t, or returns nil.
func (c *jsPlanCompiler) plan(t reflect.Type) *jsPlan {
	if p, ok := jsPlans.known(c.building, t); ok || jsonSpecial(t) {
		return p
	}
	p := &jsPlan{typ: t}
	c.building[t] = p
	ok := true
	switch t.Kind() {
	case reflect.Bool:
		p.dec, p.empty = jsDecBool, func(p unsafe.Pointer) bool { return !*(*bool)(p) }
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		jsIntPlan(p, t.Size())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		jsUintPlan(p, t.Size())
	case reflect.Float64:
		p.dec, p.empty = jsDecFloat64, func(p unsafe.Pointer) bool { return *(*float64)(p) == 0 }
	case reflect.Float32:
		p.dec, p.empty = jsDecFloat32, func(p unsafe.Pointer) bool { return *(*float32)(p) == 0 }
	case reflect.String:
		p.dec, p.empty = jsDecString, func(p unsafe.Pointer) bool { return len(*(*string)(p)) == 0 }
	default:
		ok = compoundPlan(c, p, t)
	}
	if !ok {
		delete(c.building, t)
		return nil
	}
	return p
}

func (c *jsPlanCompiler) structPlan(p *jsPlan, t reflect.Type) bool {
	var fields []jsField
	var always uint64 // the fields Marshal always writes (for exactness)
	omitZero := false // a field is left out by omitzero: exactness is not followed
	for i := range t.NumField() {
		sf := t.Field(i)
		if sf.Anonymous {
			return false // embedded fields: encoding/json's promotion rules
		}
		jf, written := mpshape.JSONFieldOf(sf)
		if !written {
			continue
		}
		if jf.String {
			return false // quoted values: left to encoding/json
		}
		name, omit := jf.Name, jf.OmitEmpty
		omitZero = omitZero || jf.OmitZero
		fp := c.plan(sf.Type)
		if fp == nil {
			return false
		}
		if !omit {
			always |= 1 << min(len(fields), 63)
		}
		fields = append(fields, jsField{name: name, folded: string(foldName([]byte(name))), off: sf.Offset, omitEmpty: omit, plan: fp})
	}
	if len(fields) > 63 {
		return false // the fields read are kept in a bitset
	}
	for i := range fields {
		for j := range i {
			if fields[i].name == fields[j].name {
				return false // equal names: encoding/json drops both, or keeps the tagged one
			}
		}
	}
	p.empty = func(unsafe.Pointer) bool { return false }
	names := make([]string, len(fields))
	for i := range fields {
		names[i] = fields[i].name
	}
	p.dec = func(d *jsDec, tok *JSONToken, ptr unsafe.Pointer) error {
		return d.structValue(tok, ptr, fields, names, always, omitZero)
	}
	return true
}

func (c *jsPlanCompiler) slicePlan(p *jsPlan, t reflect.Type) bool {
	if t.Elem().Kind() == reflect.Uint8 {
		return false // base64: left to encoding/json
	}
	ep := c.plan(t.Elem())
	if ep == nil {
		return false
	}
	p.empty = sliceEmpty
	p.dec = func(d *jsDec, tok *JSONToken, ptr unsafe.Pointer) error {
		return d.sliceValue(tok, ptr, t, ep)
	}
	return true
}

func (c *jsPlanCompiler) mapPlan(p *jsPlan, t reflect.Type) bool {
	if !stringKeyed(t, jsonSpecial) {
		return false
	}
	ep := c.plan(t.Elem())
	if ep == nil {
		return false
	}
	p.empty = mapEmpty(t)
	p.dec = func(d *jsDec, tok *JSONToken, ptr unsafe.Pointer) error {
		return d.mapValue(tok, ptr, t, ep)
	}
	return true
}

func (c *jsPlanCompiler) pointerPlan(p *jsPlan, t reflect.Type) bool {
	if t.Elem().Kind() == reflect.Pointer {
		return false
	}
	ep := c.plan(t.Elem())
	if ep == nil {
		return false
	}
	p.empty = func(ptr unsafe.Pointer) bool { return *(*unsafe.Pointer)(ptr) == nil }
	elem := t.Elem()
	p.dec = func(d *jsDec, tok *JSONToken, ptr unsafe.Pointer) error {
		if tok.Kind == JSONNull {
			*(*unsafe.Pointer)(ptr) = nil
			return nil
		}
		return ep.dec(d, tok, pointee(ptr, elem))
	}
	return true
}

// jsDec reads one document with the package's reader into a planned value.
type jsDec struct {
	r    JSONReader
	data []byte
	buf  [32]JSONToken
	n, i int
	err  error // the reader's error, once the tokens before it are used
	// inexact is set when the document is not what Marshal writes for the value read,
	// but for white space, escapes, the order of map keys and the spelling of numbers
	// (see UnmarshalExact).
	inexact bool
	arena   arena  // where the strings of the document are cut from (str)
	scratch []byte // decoded keys and strings
	fold    []byte // a folded key
}

var jsDecs = sync.Pool{New: func() any { return new(jsDec) }}

// next reads the next token. A token stays valid until 32 more are read.
func (d *jsDec) next() (*JSONToken, error) {
	if d.i == d.n {
		if d.err != nil {
			return nil, d.err
		}
		n, err := d.r.Read(d.buf[:])
		d.n, d.i, d.err = n, 0, err
		if n == 0 {
			if err == nil {
				err = errJSONPlan // the document has no more tokens
			}
			return nil, err
		}
	}
	t := &d.buf[d.i]
	d.i++
	return t, nil
}

// skip reads past the rest of the value whose token t is (nothing for a scalar).
func (d *jsDec) skip(t *JSONToken) error {
	if t.Kind != JSONArray && t.Kind != JSONObject {
		return nil
	}
	for depth := 1; depth > 0; {
		c, err := d.next()
		if err != nil {
			return err
		}
		switch c.Kind {
		case JSONArray, JSONObject:
			depth++
		case JSONEnd:
			depth--
		}
	}
	return nil
}

// decode reads data, a whole document, into the zero value of plan p at ptr.
func (d *jsDec) decode(data []byte, maxDepth int, p *jsPlan, ptr unsafe.Pointer) error {
	t, err := d.begin(data, maxDepth)
	if err == nil {
		err = p.dec(d, t, ptr)
	}
	return d.finish(err)
}

// begin starts reading data and returns its first token.
func (d *jsDec) begin(data []byte, maxDepth int) (*JSONToken, error) {
	d.data, d.inexact, d.n, d.i, d.err = data, false, 0, 0, nil
	d.r.Reset(data, maxDepth)
	return d.next()
}

// finish ends a read that returned err: the document must end where the read stopped.
// It lets go of the document and of large buffers.
func (d *jsDec) finish(err error) error {
	if err == nil && d.i != d.n {
		err = errJSONPlan
	}
	if err == nil && d.err != nil {
		err = d.err
	}
	if err == nil {
		err = d.r.End()
	}
	d.data, d.err = nil, nil
	d.arena.next()
	d.r.Reset(nil, 0)
	d.trim()
	return err
}

// trim drops the buffers a large document left, rather than keep them in the pool.
func (d *jsDec) trim() {
	if cap(d.scratch) > 1<<16 {
		d.scratch = nil
	}
	if cap(d.fold) > 1<<12 {
		d.fold = nil
	}
}

// str returns the string of token t, decoded, cut from the arena when short (see
// arenaString in msgpack_plan_scalar.go).
func (d *jsDec) str(t *JSONToken) string {
	b := d.data[t.Off : t.Off+t.Len]
	if t.Flags&JSONEscaped != 0 {
		d.scratch = AppendJSONString(d.scratch[:0], b)
		b = d.scratch
	}
	return d.arena.string(b)
}

// key returns the decoded key of the member whose value t is.
func (d *jsDec) key(t *JSONToken) []byte {
	b := d.data[t.KeyOff : t.KeyOff+t.KeyLen]
	if t.Flags&JSONKeyEscaped != 0 {
		d.scratch = AppendJSONString(d.scratch[:0], b)
		b = d.scratch
	}
	return b
}

// structValue reads a struct; always has a bit set for each field that Marshal writes
// whatever its value.
func (d *jsDec) structValue(t *JSONToken, ptr unsafe.Pointer, fields []jsField, names []string, always uint64, omitZero bool) error {
	switch t.Kind {
	case JSONNull:
		d.inexact = true // left as it is; Marshal writes an object
		return nil
	case JSONObject:
	default:
		return errJSONPlan
	}
	if omitZero {
		d.inexact = true
	}
	var seen uint64 // the fields read
	for i := 0; ; i++ {
		v, err := d.next()
		if err != nil {
			return err
		}
		if v.Kind == JSONEnd {
			break
		}
		key := d.key(v)
		fi := fieldIndex(names, i, key)
		if fi < 0 {
			// encoding/json: the first field whose name folds to the key's fold.
			d.fold = appendFoldedName(d.fold[:0], key)
			for j := range fields {
				if fields[j].folded == string(d.fold) {
					fi = j
					break
				}
			}
			d.inexact = true // a key Marshal does not write
		}
		if fi < 0 {
			if err := d.skip(v); err != nil {
				return err
			}
			continue
		}
		if seen&(1<<fi) != 0 {
			return errJSONPlan // a field met twice: encoding/json reads into what the first left
		}
		seen |= 1 << fi
		f := &fields[fi]
		fp := unsafe.Add(ptr, f.off)
		if err := f.plan.dec(d, v, fp); err != nil {
			return err
		}
		if f.omitEmpty && !d.inexact && f.plan.empty(fp) {
			d.inexact = true // Marshal leaves it out
		}
	}
	if seen&always != always {
		d.inexact = true // a field Marshal writes is missing
	}
	return nil
}

func (d *jsDec) sliceValue(t *JSONToken, ptr unsafe.Pointer, typ reflect.Type, ep *jsPlan) error {
	switch t.Kind {
	case JSONNull:
		*(*sliceHeader)(ptr) = sliceHeader{}
		return nil
	case JSONArray:
	default:
		return errJSONPlan
	}
	size := typ.Elem().Size()
	var s reflect.Value // the backing array, grown as items are read
	n, c := 0, 0
	for {
		v, err := d.next()
		if err != nil {
			return err
		}
		if v.Kind == JSONEnd {
			break
		}
		if n == c {
			c = max(4, 2*c)
			ns := reflect.MakeSlice(typ, c, c)
			if n > 0 {
				reflect.Copy(ns, s)
			}
			s = ns
		}
		if err := ep.dec(d, v, unsafe.Add(s.UnsafePointer(), uintptr(n)*size)); err != nil {
			return err
		}
		n++
	}
	if n == 0 {
		s = reflect.MakeSlice(typ, 0, 0) // [] is an empty slice, not nil
	}
	reflect.NewAt(typ, ptr).Elem().Set(s.Slice(0, n))
	return nil
}

func (d *jsDec) mapValue(t *JSONToken, ptr unsafe.Pointer, typ reflect.Type, ep *jsPlan) error {
	m := reflect.NewAt(typ, ptr).Elem()
	switch t.Kind {
	case JSONNull:
		m.SetZero()
		return nil
	case JSONObject:
	default:
		return errJSONPlan
	}
	if m.IsNil() {
		m.Set(reflect.MakeMap(typ))
	}
	k := reflect.New(typ.Key()).Elem()
	n := 0
	for {
		v, err := d.next()
		if err != nil {
			return err
		}
		if v.Kind == JSONEnd {
			break
		}
		k.SetString(string(d.key(v)))
		e := reflect.New(typ.Elem())
		if err := ep.dec(d, v, e.UnsafePointer()); err != nil {
			return err
		}
		m.SetMapIndex(k, e.Elem())
		n++
	}
	if m.Len() != n {
		d.inexact = true // a key met twice: the map keeps the last
	}
	return nil
}

// foldName and appendFoldedName fold a key as encoding/json does to match it to a
// field case-insensitively (encoding/json/fold.go).
func foldName(in []byte) []byte {
	var arr [32]byte
	return appendFoldedName(arr[:0], in)
}

func appendFoldedName(out, in []byte) []byte {
	for i := 0; i < len(in); {
		if c := in[i]; c < utf8.RuneSelf {
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			out = append(out, c)
			i++
			continue
		}
		r, n := utf8.DecodeRune(in[i:])
		out = utf8.AppendRune(out, foldRune(r))
		i += n
	}
	return out
}

// foldRune returns the smallest rune among those that fold to r.
func foldRune(r rune) rune {
	for {
		r2 := unicode.SimpleFold(r)
		if r2 <= r {
			return r2
		}
		r = r2
	}
}

// unmarshalPlanned decodes data into v through v's plan, if its type has one and v points
// to a zero value; done is false when it did not (v is then still zero).
func (s *jsonSerializer) unmarshalPlanned(data []byte, v any) (exact, done bool) {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return false, false
	}
	p := jsonPlanOf(rv.Type().Elem())
	if p == nil || !rv.Elem().IsZero() {
		return false, false
	}
	ptr := rv.UnsafePointer()
	d := jsDecs.Get().(*jsDec)
	err := d.decode(data, s.maxDepth, p, ptr)
	exact = !d.inexact
	jsDecs.Put(d)
	if err != nil {
		typedZero(p.typ, ptr)
		return false, false
	}
	return exact, true
}
