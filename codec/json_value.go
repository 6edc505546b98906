package codec

import (
	"encoding/json"
)

// jsonValue decodes data into a JSON-ready value with JSONReader, as encoding/json with
// UseNumber decodes it into an interface: objects map[string]any (a repeated key keeps
// its last value), arrays []any, numbers json.Number, strings decoded. ok is false when
// the reader refuses data: the caller then decodes it the old way, for the error.
func jsonValue(data []byte, maxDepth int) (v any, ok bool) {
	d := jsDecs.Get().(*jsDec)
	t, err := d.begin(data, maxDepth)
	if err == nil {
		v, err = d.value(t)
	}
	err = d.finish(err)
	jsDecs.Put(d)
	return v, err == nil
}

// value reads the value whose token t has been read.
func (d *jsDec) value(t *JSONToken) (any, error) {
	switch t.Kind {
	case JSONNull:
		return nil, nil
	case JSONTrue:
		return true, nil
	case JSONFalse:
		return false, nil
	case JSONNumber:
		return json.Number(d.data[t.Off : t.Off+t.Len]), nil
	case JSONString:
		b := d.data[t.Off : t.Off+t.Len]
		if t.Flags&JSONEscaped != 0 {
			d.scratch = AppendJSONString(d.scratch[:0], b)
			b = d.scratch
		}
		return string(b), nil
	case JSONArray:
		a := make([]any, 0)
		for {
			c, err := d.next()
			if err != nil {
				return nil, err
			}
			if c.Kind == JSONEnd {
				return a, nil
			}
			x, err := d.value(c)
			if err != nil {
				return nil, err
			}
			a = append(a, x)
		}
	case JSONObject:
		m := make(map[string]any)
		for {
			c, err := d.next()
			if err != nil {
				return nil, err
			}
			if c.Kind == JSONEnd {
				return m, nil
			}
			k := string(d.key(c))
			x, err := d.value(c)
			if err != nil {
				return nil, err
			}
			m[k] = x
		}
	}
	return nil, errJSONPlan
}
