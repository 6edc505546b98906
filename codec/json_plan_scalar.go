package codec

import (
	"errors"
	"math"
	"strconv"
	"unsafe"
)

// The json plans' readers of scalar values: a null leaves a value as it is (encoding/json's
// rule) and counts as inexact; a number is read only when it reads as encoding/json reads it.

// errJSONPlan: the document does not read through the plan as encoding/json reads it;
// encoding/json reads it again and says why, or reads it its own way.
var errJSONPlan = errors.New("codec: json: document does not fit the compiled plan")

func jsDecBool(d *jsDec, t *JSONToken, p unsafe.Pointer) error {
	switch t.Kind {
	case JSONTrue:
		*(*bool)(p) = true
	case JSONFalse:
		*(*bool)(p) = false
	case JSONNull:
		d.inexact = true // left as it is; Marshal writes false
	default:
		return errJSONPlan
	}
	return nil
}

// scalar reports whether t is a token of kind k to read into a scalar. A null leaves the
// value as it is (encoding/json's rule), which is not what Marshal writes for it: inexact;
// any other kind does not fit the plan.
func (d *jsDec) scalar(t *JSONToken, k JSONKind) (bool, error) {
	switch t.Kind {
	case k:
		return true, nil
	case JSONNull:
		d.inexact = true
		return false, nil
	}
	return false, errJSONPlan
}

// float reads the number t as a float of bits bits.
func (d *jsDec) float(t *JSONToken, bits int) (float64, []byte, error) {
	b := d.data[t.Off : t.Off+t.Len]
	f, err := strconv.ParseFloat(unsafe.String(unsafe.SliceData(b), len(b)), bits)
	if err != nil || bits == 32 && math.Abs(f) > math.MaxFloat32 {
		return 0, b, errJSONPlan
	}
	return f, b, nil
}

func jsDecString(d *jsDec, t *JSONToken, p unsafe.Pointer) error {
	if ok, err := d.scalar(t, JSONString); !ok {
		return err
	}
	*(*string)(p) = d.str(t)
	return nil
}

func jsDecFloat64(d *jsDec, t *JSONToken, p unsafe.Pointer) error {
	if ok, err := d.scalar(t, JSONNumber); !ok {
		return err
	}
	f, b, err := d.float(t, 64)
	if err != nil {
		return err
	}
	*(*float64)(p) = f
	if !d.inexact && !floatReadsExactly(b, f) {
		d.inexact = true
	}
	return nil
}

func jsDecFloat32(d *jsDec, t *JSONToken, p unsafe.Pointer) error {
	if ok, err := d.scalar(t, JSONNumber); !ok {
		return err
	}
	f, _, err := d.float(t, 32)
	if err != nil {
		return err
	}
	*(*float32)(p) = float32(f)
	d.inexact = true // float32 digits are not followed
	return nil
}

// floatReadsExactly reports whether the number literal b, read as f, has the value of
// what Marshal writes for f: b has at most 15 significant digits (any decimal of 15
// digits survives a round trip through a float64, and Marshal writes the shortest
// decimal that reads back as f) and f is zero or a normal float64 away from the ends of
// the range.
func floatReadsExactly(b []byte, f float64) bool {
	if a := math.Abs(f); a != 0 && (a < 1e-300 || a > 1e300) {
		return false
	}
	first, last, n := -1, -1, 0 // the first and last non-zero digits of the mantissa
	for _, c := range b {
		if c == 'e' || c == 'E' {
			break
		}
		if c >= '0' && c <= '9' {
			if c != '0' {
				if first < 0 {
					first = n
				}
				last = n
			}
			n++
		}
	}
	if first < 0 {
		return f == 0
	}
	return last-first < 15
}

// integer returns the digits of t, a number token to read into an integer (see scalar);
// a number with a fraction or an exponent does not fit the plan.
func (d *jsDec) integer(t *JSONToken) ([]byte, bool, error) {
	if ok, err := d.scalar(t, JSONNumber); !ok {
		return nil, false, err
	}
	if t.Flags&(JSONFraction|JSONExponent) != 0 {
		return nil, false, errJSONPlan
	}
	return d.data[t.Off : t.Off+t.Len], true, nil
}

// jsIntPlan fills p for a signed integer kind of size bytes.
func jsIntPlan(p *jsPlan, size uintptr) {
	get, set := intAccess(size)
	lo, hi := int64(math.MinInt64)>>(64-8*size), int64(math.MaxInt64)>>(64-8*size)
	p.empty = func(ptr unsafe.Pointer) bool { return get(ptr) == 0 }
	p.dec = func(d *jsDec, t *JSONToken, ptr unsafe.Pointer) error {
		b, ok, err := d.integer(t)
		if !ok {
			return err
		}
		i, err := strconv.ParseInt(unsafe.String(unsafe.SliceData(b), len(b)), 10, 64)
		if err != nil || i < lo || i > hi {
			return errJSONPlan
		}
		set(ptr, i)
		return nil
	}
}

// jsUintPlan fills p for an unsigned integer kind of size bytes.
func jsUintPlan(p *jsPlan, size uintptr) {
	get, set := intAccess(size)
	hi := uint64(math.MaxUint64) >> (64 - 8*size)
	p.empty = func(ptr unsafe.Pointer) bool { return get(ptr) == 0 }
	p.dec = func(d *jsDec, t *JSONToken, ptr unsafe.Pointer) error {
		b, ok, err := d.integer(t)
		if !ok {
			return err
		}
		u, err := strconv.ParseUint(unsafe.String(unsafe.SliceData(b), len(b)), 10, 64)
		if err != nil || u > hi {
			return errJSONPlan
		}
		set(ptr, int64(u))
		return nil
	}
}
