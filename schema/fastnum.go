package schema

import (
	"encoding/json"
	"fmt"
	"hash/maphash"
	"math"
	"math/big"
	"math/bits"
	"strconv"
)

// Numbers, with the semantics of jsonschema/v5: the value of a number is the rational
// big.Rat.SetString(fmt.Sprint(v)) — for a float64 that is its shortest decimal form, for a
// json.Number its text. The fast path reaches the same answer without math/big where it can:
// rounding to float64 is monotonic, so when the rounded values differ the exact ones differ
// the same way, and only ties need exact arithmetic.

const maxExact = 1 << 53 // integers up to this magnitude are exact in a float64

// bound is a numeric keyword value (minimum, maximum, ..., or a number in const/enum).
type bound struct {
	r     *big.Rat
	f     float64 // r rounded to float64
	short bool    // r is exactly the shortest decimal form of f, so a float64 equal to f equals r
	i     int64
	isI   bool // r is an integer that fits an int64
	// r as a normalized decimal ±dm·10^de, when it fits
	dm  uint64
	de  int
	dng bool
	dok bool
}

func newBound(r *big.Rat) *bound {
	if r == nil {
		return nil
	}
	b := &bound{r: r}
	b.f, _ = r.Float64()
	if !math.IsInf(b.f, 0) {
		if sr, ok := new(big.Rat).SetString(strconv.FormatFloat(b.f, 'g', -1, 64)); ok && sr.Cmp(r) == 0 {
			b.short = true
		}
	}
	if r.IsInt() && r.Num().IsInt64() {
		b.i, b.isI = r.Num().Int64(), true
	}
	if mu := newMultiple(new(big.Rat).Abs(r)); mu.ok || r.Sign() == 0 {
		b.dm, b.de, b.dng, b.dok = mu.m, mu.e, r.Sign() < 0, true
	}
	return b
}

// ratOf is exactly jsonschema/v5's conversion.
func ratOf(x any) *big.Rat {
	r, _ := new(big.Rat).SetString(fmt.Sprint(x))
	return r
}

type numKind uint8

const (
	kFloat numKind = iota
	kInt
	kUint
	kText
)

// num is a view of an instance number.
type num struct {
	kind numKind
	f    float64 // the value, rounded
	i    int64
	u    uint64
	s    string
	t    []byte // kText read from encoded bytes (then s is empty)
	x    any    // the value itself, or nil when read from encoded bytes: see value
}

// value returns the number as a JSON-ready value, for the exact (math/big) comparisons.
func (v *num) value() any {
	if v.x != nil {
		return v.x
	}
	switch v.kind {
	case kInt:
		return v.i
	case kUint:
		return v.u
	case kFloat:
		return v.f
	}
	return json.Number(v.t)
}

// text returns the digits of a kText number.
func (v *num) text() []byte {
	if v.t != nil {
		return v.t
	}
	return []byte(v.s)
}

func toNum(x any) num {
	switch t := x.(type) {
	case float64:
		return num{kind: kFloat, f: t, x: x}
	case int64:
		return num{kind: kInt, i: t, f: float64(t), x: x}
	case int:
		return num{kind: kInt, i: int64(t), f: float64(t), x: x}
	case uint64:
		if t <= math.MaxInt64 {
			return num{kind: kInt, i: int64(t), f: float64(t), x: x}
		}
		return num{kind: kUint, u: t, f: float64(t), x: x}
	case json.Number:
		if i, ok := plainInt(string(t)); ok {
			return num{kind: kInt, i: i, f: float64(i), x: x}
		}
		f, _ := strconv.ParseFloat(string(t), 64) // checked by precheck; ±Inf on overflow keeps the order
		return num{kind: kText, s: string(t), f: f, x: x}
	}
	return num{kind: kText, f: math.NaN(), x: x}
}

// cmp returns the sign of v - b.
func (v *num) cmp(b *bound) int {
	switch v.kind {
	case kInt:
		if b.isI {
			switch {
			case v.i < b.i:
				return -1
			case v.i > b.i:
				return 1
			}
			return 0
		}
		if v.i >= -maxExact && v.i <= maxExact {
			if c, ok := cmpFloat(v.f, b.f); ok {
				return c
			}
		}
	case kUint:
		if b.isI {
			return 1 // above MaxInt64
		}
		if c, ok := cmpFloat(v.f, b.f); ok {
			return c
		}
	case kFloat:
		if c, ok := cmpFloat(v.f, b.f); ok {
			return c
		}
		if b.short {
			return 0
		}
	case kText:
		if c, ok := cmpFloat(v.f, b.f); ok {
			return c
		}
		if b.dok {
			if m, e, ok := parseDecimal(v.text()); ok {
				m, e = normDecimal(m, e)
				if m == 0 && b.dm == 0 || m == b.dm && e == b.de && v.neg() == b.dng {
					return 0
				}
			}
		}
	}
	return ratOf(v.value()).Cmp(b.r)
}

func (v *num) neg() bool {
	if v.t != nil {
		return len(v.t) > 0 && v.t[0] == '-'
	}
	return len(v.s) > 0 && v.s[0] == '-'
}

// cmpFloat compares two rounded values; ok is false on a tie (or NaN), which the rounded
// values cannot settle.
func cmpFloat(a, b float64) (int, bool) {
	switch {
	case a < b:
		return -1, true
	case a > b:
		return 1, true
	}
	return 0, false
}

func isInteger(x any) bool {
	switch t := x.(type) {
	case float64:
		return t == math.Trunc(t)
	case int64, int, uint64:
		return true
	case json.Number:
		return isIntDecimal(string(t))
	}
	return false
}

// isIntDecimal reports whether a JSON number (checked by isJSONNumber) is an integer, exactly
// and without math/big: after dropping trailing zeros, its last significant digit must sit
// at or above the units.
func isIntDecimal[T string | []byte](s T) bool {
	if len(s) > 0 && s[0] == '-' {
		s = s[1:]
	}
	mant, exp := s, s[:0]
	for i := 0; i < len(s); i++ {
		if s[i] == 'e' || s[i] == 'E' {
			mant, exp = s[:i], s[i+1:]
			break
		}
	}
	ip, fp := mant, mant[:0]
	for i := 0; i < len(mant); i++ {
		if mant[i] == '.' {
			ip, fp = mant[:i], mant[i+1:]
			break
		}
	}
	e := 0
	if len(exp) > 0 {
		x, err := strconv.Atoi(string(exp))
		if err != nil {
			return false
		}
		e = x
	}
	// The digits are ip followed by fp; find the last significant one.
	last := len(ip) + len(fp) - 1
	for last >= 0 {
		var d byte
		if last < len(ip) {
			d = ip[last]
		} else {
			d = fp[last-len(ip)]
		}
		if d != '0' {
			break
		}
		last--
	}
	if last < 0 {
		return true // zero
	}
	// Digit i has weight 10^(len(ip)-1-i+e).
	return len(ip)-1-last+e >= 0
}

// multiple is a multipleOf value m·10^e, m without trailing zeros.
type multiple struct {
	r  *big.Rat
	m  uint64
	e  int
	ok bool
}

func newMultiple(r *big.Rat) *multiple {
	mu := &multiple{r: r}
	if r.Sign() <= 0 {
		return mu
	}
	p := big.NewInt(1)
	ten := big.NewInt(10)
	for k := 0; k <= 19; k++ {
		t := new(big.Rat).Mul(r, new(big.Rat).SetInt(p))
		if t.IsInt() {
			if t.Num().IsUint64() {
				mu.m, mu.e, mu.ok = t.Num().Uint64(), -k, true
				for mu.m%10 == 0 {
					mu.m /= 10
					mu.e++
				}
			}
			break
		}
		p.Mul(p, ten)
	}
	return mu
}

var pow10 = [...]uint64{1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19}

// decimal returns |v| as m·10^e, or ok=false when the digits do not fit a uint64.
func (v *num) decimal() (m uint64, e int, ok bool) {
	switch v.kind {
	case kInt:
		if v.i < 0 {
			return uint64(-(v.i + 1)) + 1, 0, true
		}
		return uint64(v.i), 0, true
	case kUint:
		return v.u, 0, true
	case kFloat:
		var buf [32]byte
		s := strconv.AppendFloat(buf[:0], math.Abs(v.f), 'e', -1, 64)
		return parseDecimal(s)
	case kText:
		return parseDecimal(v.text())
	}
	return 0, 0, false
}

// parseDecimal parses a JSON number (or Go's 'e' format) into m·10^e, ignoring the sign.
func parseDecimal(s []byte) (m uint64, e int, ok bool) {
	i, digits := 0, 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	frac := false
	for ; i < len(s); i++ {
		c := s[i]
		if c == '.' {
			frac = true
			continue
		}
		if c < '0' || c > '9' {
			break
		}
		if m == 0 && c == '0' {
			if frac {
				e--
			}
			continue
		}
		if digits == 19 {
			return 0, 0, false
		}
		m = m*10 + uint64(c-'0')
		digits++
		if frac {
			e--
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		x, err := strconv.Atoi(string(s[i+1:]))
		if err != nil || x > 100000 || x < -100000 {
			return 0, 0, false
		}
		e += x
	}
	return m, e, true
}

// divides reports whether v is a multiple of mu.
func (mu *multiple) divides(v *num) bool {
	if mu.ok && v.kind == kFloat && mu.e <= 0 && -mu.e < len(pow10f) {
		if d, ok := mu.dividesFloat(v.f); ok {
			return d
		}
	}
	if mu.ok {
		if m, e, ok := v.decimal(); ok {
			if m == 0 {
				return true
			}
			k := e - mu.e
			if k >= 0 {
				// mu.m divides m·10^k?
				return mulmod(m%mu.m, powmod(10, k, mu.m), mu.m) == 0
			}
			if -k >= len(pow10) {
				return false // the divisor exceeds any uint64 m > 0
			}
			hi, d := bits.Mul64(mu.m, pow10[-k])
			if hi != 0 {
				return false
			}
			return m%d == 0
		}
	}
	r := ratOf(v.value())
	return r != nil && new(big.Rat).Quo(r, mu.r).IsInt()
}

var pow10f = [...]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// dividesFloat settles f without formatting it when f is the float64 of a decimal k·10^e
// (mu = m·10^e, e <= 0) with |k| < 10^15: such a decimal has at most 15 significant digits,
// so it is the shortest form of f (distinct decimals of 15 digits round to distinct
// float64s), the value jsonschema takes. k/10^-e in float64 is that rounding exactly, as
// both operands are exact. ok is false when the shortcut does not apply.
func (mu *multiple) dividesFloat(f float64) (divides, ok bool) {
	p := pow10f[-mu.e]
	x := f * p
	if !(x > -1e15 && x < 1e15) {
		return false, false
	}
	k := math.Round(x)
	for _, c := range [...]float64{k, k - 1, k + 1} {
		if c > -1e15 && c < 1e15 && c/p == f {
			return uint64(math.Abs(c))%mu.m == 0, true
		}
	}
	return false, false
}

// plainInt parses a json.Number made of an optional minus and at most 18 digits.
func plainInt[T string | []byte](s T) (int64, bool) {
	neg := len(s) > 0 && s[0] == '-'
	d := s
	if neg {
		d = s[1:]
	}
	if len(d) == 0 || len(d) > 18 {
		return 0, false
	}
	var i int64
	for j := 0; j < len(d); j++ {
		c := d[j]
		if c < '0' || c > '9' {
			return 0, false
		}
		i = i*10 + int64(c-'0')
	}
	if neg {
		i = -i
	}
	return i, true
}

func normDecimal(m uint64, e int) (uint64, int) {
	if m == 0 {
		return 0, 0
	}
	for m%10 == 0 {
		m /= 10
		e++
	}
	return m, e
}

func mulmod(a, b, m uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return bits.Rem64(hi, lo, m)
}

func powmod(b uint64, k int, m uint64) uint64 {
	r := uint64(1) % m
	b %= m
	for k > 0 {
		if k&1 == 1 {
			r = mulmod(r, b, m)
		}
		b = mulmod(b, b, m)
		k >>= 1
	}
	return r
}

func newLit(v any) lit {
	l := lit{v: v}
	if n, ok := v.(json.Number); ok {
		if r := ratOf(n); r != nil {
			l.num = newBound(r)
		}
	}
	return l
}

// equal mirrors jsonschema/v5's equality of JSON values.
func (l *lit) equal(x any) bool {
	if l.num != nil {
		switch x.(type) {
		case nil, bool, string, []any, map[string]any:
			return false
		}
		v := toNum(x)
		return v.cmp(l.num) == 0
	}
	return equal(x, l.v)
}

func isNumber(x any) bool {
	switch x.(type) {
	case nil, bool, string, []any, map[string]any:
		return false
	}
	return true
}

func equal(a, b any) bool {
	switch ta := a.(type) {
	case nil:
		return b == nil
	case bool:
		tb, ok := b.(bool)
		return ok && ta == tb
	case string:
		tb, ok := b.(string)
		return ok && ta == tb
	case []any:
		tb, ok := b.([]any)
		if !ok || len(ta) != len(tb) {
			return false
		}
		for i := range ta {
			if !equal(ta[i], tb[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		tb, ok := b.(map[string]any)
		if !ok || len(ta) != len(tb) {
			return false
		}
		for k, va := range ta {
			vb, ok := tb[k]
			if !ok || !equal(va, vb) {
				return false
			}
		}
		return true
	}
	if !isNumber(b) {
		return false
	}
	na, nb := toNum(a), toNum(b)
	if na.kind == kInt && nb.kind == kInt {
		return na.i == nb.i
	}
	if na.kind == kFloat && nb.kind == kFloat {
		return na.f == nb.f
	}
	if na.f != nb.f {
		return false // rounding keeps equal values equal
	}
	ra, rb := ratOf(a), ratOf(b)
	return ra != nil && rb != nil && ra.Cmp(rb) == 0
}

var hashSeed = maphash.MakeSeed()

// allUnique mirrors jsonschema/v5's uniqueItems.
func allUnique(a []any) bool {
	if len(a) <= 20 {
		for i := 1; i < len(a); i++ {
			for j := 0; j < i; j++ {
				if equal(a[i], a[j]) {
					return false
				}
			}
		}
		return true
	}
	seen := make(map[uint64][]int, len(a))
	for i, e := range a {
		h := hashValue(e)
		for _, j := range seen[h] {
			if equal(a[j], e) {
				return false
			}
		}
		seen[h] = append(seen[h], i)
	}
	return true
}

// hashValue hashes so that equal values (by equal) hash alike: numbers by their float64
// rounding, objects independent of key order.
func hashValue(x any) uint64 {
	switch t := x.(type) {
	case nil:
		return 1
	case bool:
		if t {
			return 2
		}
		return 3
	case string:
		return maphash.String(hashSeed, t) ^ 4
	case []any:
		h := uint64(5)
		for _, e := range t {
			h = h*1099511628211 ^ hashValue(e)
		}
		return h
	case map[string]any:
		h := uint64(6)
		for k, v := range t {
			h += maphash.String(hashSeed, k)*31 ^ hashValue(v)
		}
		return h
	}
	f := toNum(x).f
	if f == 0 {
		f = 0 // -0 and 0 are equal
	}
	return math.Float64bits(f)*0x9E3779B97F4A7C15 ^ 7
}
