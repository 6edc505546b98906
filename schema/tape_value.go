package schema

import (
	"encoding/json"
	"math"
)

// readValue reads a JSON-ready value (what codec's decoders build: nil, bool, string,
// int64, uint64, int, float64, json.Number, []any, map[string]any) into t, so that
// values are walked by validT like encoded messages. It reports false for any value that
// precheck refuses: another Go type, NaN or an infinity, a json.Number that is not a JSON
// number or is longer than maxNumberLen, arrays and objects nested at depth maxDepth or
// deeper (x itself is at depth).
func (t *tape) readValue(x any, depth, maxDepth int) bool {
	if len(t.scratch) > maxTapeInput || len(t.toks) > maxTapeInput {
		return false // offsets must fit a tok
	}
	switch v := x.(type) {
	case nil:
		t.push(tkNull, 0)
	case bool:
		if v {
			t.push(tkTrue, 0)
		} else {
			t.push(tkFalse, 0)
		}
	case string:
		s := len(t.scratch)
		t.scratch = append(t.scratch, v...)
		t.pushScratch(s)
	case int64:
		t.push(tkInt, v)
	case int:
		t.push(tkInt, int64(v))
	case uint64:
		if v <= math.MaxInt64 {
			t.push(tkInt, int64(v))
		} else {
			t.push(tkUint, int64(v))
		}
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
		t.push(tkFloat, int64(math.Float64bits(v)))
	case json.Number:
		if len(v) > maxNumberLen || !isJSONNumber(string(v)) {
			return false
		}
		s := len(t.scratch)
		t.scratch = append(t.scratch, v...)
		t.pushScratch(s)
		t.toks[len(t.toks)-1].kind = tkNumText
	case []any:
		if depth >= maxDepth {
			return false
		}
		j := t.push(tkArr, 0)
		for _, e := range v {
			if !t.readValue(e, depth+1, maxDepth) {
				return false
			}
		}
		t.toks[j].a, t.toks[j].b = uint32(len(v)), uint32(len(t.toks))
	case map[string]any:
		if depth >= maxDepth {
			return false
		}
		j := t.push(tkObj, 0)
		for k, e := range v {
			off := len(t.scratch)
			t.scratch = append(t.scratch, k...)
			c := len(t.toks)
			if !t.readValue(e, depth+1, maxDepth) {
				return false
			}
			t.setKey(c, off, len(k), true)
		}
		t.toks[j].a, t.toks[j].b = uint32(len(v)), uint32(len(t.toks)) // a map has no equal keys
	default:
		return false
	}
	return true
}
