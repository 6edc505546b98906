package schema

import (
	"github.com/jesus-go/jesus/codec"
)

// readJSON reads one JSON document into t with codec.JSONReader, the reader behind codec's
// JSON decoder, with its depth bound set to precheck's. Strings hold what encoding/json
// decodes (escapes resolved, invalid UTF-8 and lone surrogates replaced by U+FFFD),
// numbers their text. It reports false for any document the decoder or precheck would
// refuse (precheck also refuses exponents written with more than maxExponentDigits
// digits, leading zeros included), and for documents over maxTapeInput bytes.
func (t *tape) readJSON(maxDepth int) bool {
	if len(t.data) > maxTapeInput {
		return false
	}
	r := &t.js
	r.Reset(t.data, maxDepth)
	open := t.open[:0] // the containers not closed yet, innermost last
	ok := true
	for ok && !r.Done() {
		n, err := r.Read(t.jsToks[:])
		ok = err == nil && t.jsTokens(t.jsToks[:n], &open)
	}
	t.open = open
	return ok && r.End() == nil
}

// jsTokens adds toks to the tape.
func (t *tape) jsTokens(toks []codec.JSONToken, open *[]int) bool {
	for i := range toks {
		k := &toks[i]
		j := len(t.toks)
		switch k.Kind {
		case codec.JSONString:
			if k.Flags&codec.JSONEscaped == 0 {
				t.pushSpan(tkStr, k.Off, k.Len)
			} else {
				s := len(t.scratch)
				t.scratch = codec.AppendJSONString(t.scratch, t.data[k.Off:k.Off+k.Len])
				t.pushScratch(s)
			}
		case codec.JSONNumber:
			if k.Flags&codec.JSONLongExponent != 0 {
				return false // precheck refuses it
			}
			t.pushSpan(tkNumText, k.Off, k.Len)
		case codec.JSONObject:
			t.add().kind = tkObj
			*open = append(*open, j)
		case codec.JSONArray:
			t.add().kind = tkArr
			*open = append(*open, j)
		case codec.JSONEnd:
			o := *open
			c := o[len(o)-1]
			*open = o[:len(o)-1]
			if t.toks[c].kind == tkObj {
				t.closeObj(c, k.Len)
			} else {
				t.toks[c].a, t.toks[c].b = uint32(k.Len), uint32(len(t.toks))
			}
			continue
		case codec.JSONTrue:
			t.push(tkTrue, 0)
		case codec.JSONFalse:
			t.push(tkFalse, 0)
		default:
			t.push(tkNull, 0)
		}
		if k.Flags&codec.JSONKeyed != 0 {
			if k.Flags&codec.JSONKeyEscaped == 0 {
				t.setKey(j, k.KeyOff, k.KeyLen, false)
			} else {
				s := len(t.scratch)
				t.scratch = codec.AppendJSONString(t.scratch, t.data[k.KeyOff:k.KeyOff+k.KeyLen])
				t.setKey(j, s, len(t.scratch)-s, true)
			}
		}
	}
	return true
}
