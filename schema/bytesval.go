package schema

import (
	"fmt"
	"math"
	"slices"
	"unicode/utf8"

	"github.com/jesus-go/jesus/codec"
)

// Validating encoded messages: instead of decoding a message into map[string]any and
// []any and then walking that, ValidateMsgpack and ValidateJSON read it into a pooled tape
// (tape.go) and walk the compiled fast tree over the tape. Keys are matched as byte slices,
// required properties tracked in a bitset, numbers compared unboxed. A subschema that
// falls back to jsonschema/v5, or a keyword that needs the value itself (const or enum of
// an object or array, uniqueItems, format), gets that part built as a value.
//
// Any message the walk does not accept, it hands to the slow path: decode the whole
// message with codec and call Validate. So a refusal always says exactly what Validate
// says, and the walk only has to be right when it accepts.

// The slow path decodes with codec's default limits; the walk refuses messages nested
// deeper than those too.
var (
	msgpackValues = codec.NewMsgpack(codec.DefaultLimits())
	jsonValues    = codec.NewJSON(codec.DefaultLimits())
)

// ValidateMsgpack checks one msgpack-encoded message, with the verdict of decoding it with
// codec's msgpack serializer (default limits) and calling Validate on the value. A message
// that does not decode gets an error wrapping codec's error; one that decodes but does not
// match gets what Validate returns (a *ValidationError). A valid message costs no value
// tree and next to no allocations. Safe for concurrent use; data is not retained.
func (v *Validator) ValidateMsgpack(data []byte) error {
	if v.fast.stream && v.fast.validStream(data, v.decodeDepth()) {
		return nil
	}
	return v.validateTape(data, (*tape).readMsgpack, msgpackValues)
}

// ValidateJSON is ValidateMsgpack for JSON-encoded messages (codec's JSON serializer:
// numbers are json.Numbers).
func (v *Validator) ValidateJSON(data []byte) error {
	return v.validateTape(data, (*tape).readJSON, jsonValues)
}

// validateTape reads data into a tape with read and walks it; what the walk does not
// accept is decoded with s and validated as a value, for the verdict and its reasons.
func (v *Validator) validateTape(data []byte, read func(*tape, int) bool, s codec.Serializer) error {
	t := getTape(data)
	ok := read(t, v.decodeDepth()) && v.fast.validT(t, 0, 0)
	putTape(t)
	if ok {
		return nil
	}
	return v.validateDecoded(s, data)
}

func (v *Validator) validateDecoded(s codec.Serializer, data []byte) error {
	x, err := s.UnmarshalValue(data)
	if err != nil {
		return fmt.Errorf("schema: %s %s %s: decode %s: %w", v.Service, v.Name, v.Part, s.Name(), err)
	}
	return v.Validate(x)
}

func (v *Validator) decodeDepth() int {
	return min(v.maxDepth, codec.DefaultMaxDepth)
}

// setWalkFlags sets the flags that let validT skip what a node does not check.
func (n *node) setWalkFlags() {
	n.refOnly = isRefOnly(n)
	n.valueChecks = n.consts != nil || n.enum != nil || n.format != nil
	n.applicators = n.ref != nil || n.not != nil || len(n.allOf) > 0 || len(n.anyOf) > 0 || len(n.oneOf) > 0 || n.ifN != nil
}

// isRefOnly reports whether n checks nothing but its $ref (in-place $ref cycles were
// refused at load, so following refOnly links ends).
func isRefOnly(n *node) bool {
	return n.ref != nil && !n.fallback && n.always == 0 && n.types == 0 && n.consts == nil && n.enum == nil &&
		n.format == nil && n.minProps < 0 && n.maxProps < 0 && len(n.required) == 0 && len(n.props) == 0 &&
		len(n.patternProps) == 0 && n.addl == 0 && len(n.depRequired) == 0 && n.minItems < 0 && n.maxItems < 0 &&
		!n.unique && len(n.prefix) == 0 && n.items == nil && n.minLen < 0 && n.maxLen < 0 && n.pattern == nil &&
		!n.hasNum && n.not == nil && len(n.allOf) == 0 && len(n.anyOf) == 0 && len(n.oneOf) == 0 &&
		n.ifN == nil && n.thenN == nil && n.elseN == nil
}

// validT is valid for the value at token i of a tape that readMsgpack or readJSON accepted:
// the bounds precheck enforces hold for the whole message already.
func (n *node) validT(t *tape, i, depth int) bool {
	for n.refOnly {
		n = n.ref
	}
	if n.fallback {
		return n.valid(t.value(i), depth)
	}
	if n.always != 0 {
		return n.always > 0
	}
	k := &t.toks[i]
	if k.dup {
		// The decoded map keeps the last of equal keys: validate what decoding gives.
		return n.valid(t.value(i), depth)
	}
	if n.types != 0 && !n.typeOKT(t, i) {
		return false
	}
	if n.valueChecks && !n.validValueT(t, i) {
		return false
	}
	switch k.kind {
	case tkObj:
		if !n.validObjectT(t, i, depth) {
			return false
		}
	case tkArr:
		if !n.validArrayT(t, i, depth) {
			return false
		}
	case tkStr:
		if !n.validString(t.bytes(i)) {
			return false
		}
	case tkNull, tkFalse, tkTrue:
	default:
		if n.hasNum {
			v := t.num(i)
			if !n.validNum(&v) {
				return false
			}
		}
	}
	return !n.applicators || n.inPlaceT(t, i, depth)
}

// inPlaceT checks the in-place applicators of n ($ref, not, allOf, anyOf, oneOf,
// if/then/else) on the value at token i.
func (n *node) inPlaceT(t *tape, i, depth int) bool {
	if n.ref != nil && !n.ref.validT(t, i, depth) {
		return false
	}
	if n.not != nil && n.not.validT(t, i, depth) {
		return false
	}
	for _, c := range n.allOf {
		if !c.validT(t, i, depth) {
			return false
		}
	}
	if n.anyOf != nil && !slices.ContainsFunc(n.anyOf, func(c *node) bool { return c.validT(t, i, depth) }) {
		return false
	}
	if n.oneOf != nil {
		matched := 0
		for _, c := range n.oneOf {
			if c.validT(t, i, depth) {
				matched++
				if matched > 1 {
					return false
				}
			}
		}
		if matched != 1 {
			return false
		}
	}
	if n.ifN == nil {
		return true
	}
	if n.ifN.validT(t, i, depth) {
		return n.thenN == nil || n.thenN.validT(t, i, depth)
	}
	return n.elseN == nil || n.elseN.validT(t, i, depth)
}

// validString checks minLength, maxLength and pattern.
func (n *node) validString(s []byte) bool {
	if n.minLen >= 0 && len(s) < n.minLen {
		return false // fewer bytes than minLength, so fewer code points
	}
	// A string has at most len(s) and at least len(s)/4 code points: count only when the
	// byte length does not settle it.
	if n.maxLen >= 0 && len(s) > n.maxLen || n.minLen > 0 && len(s) < 4*n.minLen {
		c := utf8.RuneCount(s)
		if n.minLen >= 0 && c < n.minLen || n.maxLen >= 0 && c > n.maxLen {
			return false
		}
	}
	if n.simple != nil {
		return n.simple.match(s)
	}
	return n.pattern == nil || n.pattern.Match(s)
}

// validValueT checks the keywords that compare the value itself: const, enum, format.
func (n *node) validValueT(t *tape, i int) bool {
	k := &t.toks[i]
	if n.consts != nil && !n.consts[0].equalT(t, i) {
		return false
	}
	if n.enum != nil && !anyLit(n.enum, func(l *lit) bool { return l.equalT(t, i) }) {
		return false
	}
	if n.format != nil && !(k.kind == tkStr && n.fastFormat != nil && n.fastFormat(t.bytes(i))) {
		var x any
		if k.kind == tkStr {
			x = string(t.bytes(i))
		} else {
			x = t.value(i)
		}
		if !n.format(x) {
			return false
		}
	}
	return true
}

func (n *node) typeOKT(t *tape, i int) bool {
	var k uint8
	switch t.toks[i].kind {
	case tkNull:
		k = tNull
	case tkFalse, tkTrue:
		k = tBool
	case tkStr:
		k = tString
	case tkArr:
		k = tArray
	case tkObj:
		k = tObject
	default:
		k = tNumber
	}
	if n.types&k != 0 {
		return true
	}
	return k == tNumber && n.types&tInteger != 0 && isIntegerT(t, i)
}

func isIntegerT(t *tape, i int) bool {
	k := &t.toks[i]
	switch k.kind {
	case tkInt, tkUint:
		return true
	case tkFloat:
		f := math.Float64frombits(uint64(k.bits()))
		return f == math.Trunc(f)
	}
	return isIntDecimal(t.bytes(i))
}

// equalT is equal for the value at token i.
func (l *lit) equalT(t *tape, i int) bool {
	k := t.toks[i].kind
	if l.num != nil {
		if !isNumTok(k) {
			return false
		}
		v := t.num(i)
		return v.cmp(l.num) == 0
	}
	switch k {
	case tkNull:
		return l.v == nil
	case tkFalse, tkTrue:
		b, ok := l.v.(bool)
		return ok && b == (k == tkTrue)
	case tkStr:
		s, ok := l.v.(string)
		return ok && string(t.bytes(i)) == s
	}
	return equal(t.value(i), l.v)
}

// present reports whether the object at i has a member named name; found holds the
// declared properties seen.
func (n *node) present(t *tape, i int, found []uint64, name string) bool {
	if p, ok := n.propIdx[name]; ok {
		return found[p/64]&(1<<(p%64)) != 0
	}
	end := int(t.toks[i].b)
	for j := i + 1; j < end; j = t.next(j) {
		if string(t.key(j)) == name {
			return true
		}
	}
	return false
}

// propIndex finds a declared property by name: a few by comparing, more through the map.
func (n *node) propIndex(key []byte) (int, bool) {
	if len(n.props) <= 8 {
		for i := range n.props {
			if n.props[i].name == string(key) {
				return i, true
			}
		}
		return 0, false
	}
	p, ok := n.propIdx[string(key)]
	return p, ok
}

func (n *node) validObjectT(t *tape, i, depth int) bool {
	k := &t.toks[i]
	if cnt := int(k.a); n.minProps >= 0 && cnt < n.minProps || n.maxProps >= 0 && cnt > n.maxProps {
		return false
	}
	var small [1]uint64
	found := small[:] // the declared properties seen
	if len(n.props) > 64 {
		found = make([]uint64, (len(n.props)+63)/64)
	}
	for j := i + 1; j < int(k.b); j = t.next(j) {
		key := t.key(j)
		p, isProp := n.propIndex(key)
		if isProp {
			found[p/64] |= 1 << (p % 64)
			if !n.props[p].n.validT(t, j, depth+1) {
				return false
			}
		}
		matched := false
		for _, pp := range n.patternProps {
			if pp.simple != nil && pp.simple.match(key) || pp.simple == nil && pp.re.Match(key) {
				matched = true
				if !pp.n.validT(t, j, depth+1) {
					return false
				}
			}
		}
		if isProp || matched {
			continue
		}
		switch n.addl {
		case 1:
			return false
		case 2:
			if !n.addlNode.validT(t, j, depth+1) {
				return false
			}
		}
	}
	for ri, r := range n.required {
		if p := n.reqIdx[ri]; p >= 0 {
			if found[p/64]&(1<<(p%64)) == 0 {
				return false
			}
		} else if !n.present(t, i, found, r) {
			return false
		}
	}
	if len(n.depRequired) == 0 {
		return true
	}
	for name, deps := range n.depRequired {
		if n.present(t, i, found, name) {
			for _, d := range deps {
				if !n.present(t, i, found, d) {
					return false
				}
			}
		}
	}
	return true
}

func (n *node) validArrayT(t *tape, i, depth int) bool {
	k := &t.toks[i]
	if cnt := int(k.a); n.minItems >= 0 && cnt < n.minItems || n.maxItems >= 0 && cnt > n.maxItems {
		return false
	}
	if n.unique && !allUnique(t.value(i).([]any)) {
		return false
	}
	idx := 0
	for j := i + 1; j < int(k.b); j = t.next(j) {
		switch {
		case idx < len(n.prefix):
			if !n.prefix[idx].validT(t, j, depth+1) {
				return false
			}
		case n.items != nil:
			if !n.items.validT(t, j, depth+1) {
				return false
			}
		default:
			return true
		}
		idx++
	}
	return true
}
