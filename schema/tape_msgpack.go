package schema

import (
	"encoding/base64"
	"math"
	"strconv"
	"time"

	"github.com/jesus-go/jesus/codec"
)

// readMsgpack reads one msgpack message into t with codec.MsgpackReader, the reader behind
// codec's msgpack value decoder, and with its depth bound set to precheck's. The tape holds
// what that decoder builds: ints int64, or uint64 above MaxInt64; floats float64; bin the
// standard base64 of its bytes; a timestamp its RFC 3339 form with nanoseconds in UTC;
// integer map keys their decimal form. It reports false for any message the decoder or
// precheck would refuse, and for messages over maxTapeInput bytes.
func (t *tape) readMsgpack(maxDepth int) bool {
	if len(t.data) == 0 || len(t.data) > maxTapeInput {
		return false
	}
	r := &t.mp
	r.Reset(t.data, maxDepth)
	open := t.open[:0] // the containers not closed yet, innermost last
	ok := true
	for ok && r.More() {
		n, err := r.Read(t.mpToks[:])
		ok = err == nil && t.mpTokens(t.mpToks[:n], &open)
	}
	t.open = open
	return ok && r.End() == nil
}

// mpTokens adds toks to the tape.
func (t *tape) mpTokens(toks []codec.MsgpackToken, open *[]int) bool {
	for i := range toks {
		k := &toks[i]
		j := len(t.toks)
		switch k.Kind {
		case codec.MsgpackStr:
			t.pushSpan(tkStr, k.Off, k.Len)
		case codec.MsgpackInt:
			t.push(tkInt, k.Int())
		case codec.MsgpackMap:
			p := t.add()
			p.kind, p.a = tkObj, uint32(k.Len) // b: the end, when it closes
			*open = append(*open, j)
		case codec.MsgpackArray:
			p := t.add()
			p.kind, p.a = tkArr, uint32(k.Len)
			*open = append(*open, j)
		case codec.MsgpackFloat:
			t.push(tkFloat, int64(math.Float64bits(k.Float())))
		case codec.MsgpackNil:
			t.push(tkNull, 0)
		case codec.MsgpackBool:
			if k.Bool() {
				t.push(tkTrue, 0)
			} else {
				t.push(tkFalse, 0)
			}
		case codec.MsgpackUint:
			t.push(tkUint, int64(k.Uint()))
		case codec.MsgpackBin:
			s := len(t.scratch)
			t.scratch = base64.StdEncoding.AppendEncode(t.scratch, t.data[k.Off:k.Off+k.Len])
			t.pushScratch(s)
		case codec.MsgpackTime:
			s := len(t.scratch)
			t.scratch = k.Time().AppendFormat(t.scratch, time.RFC3339Nano)
			t.pushScratch(s)
		default:
			return false
		}
		switch k.Key {
		case codec.MsgpackNil:
		case codec.MsgpackStr:
			t.setKey(j, k.KeyOff, k.KeyLen, false)
		default:
			// An integer key reads as its decimal form.
			s := len(t.scratch)
			if k.Key == codec.MsgpackUint {
				t.scratch = strconv.AppendUint(t.scratch, k.KeyUint(), 10)
			} else {
				t.scratch = strconv.AppendInt(t.scratch, k.KeyInt(), 10)
			}
			t.setKey(j, s, len(t.scratch)-s, true)
		}
		for e := k.Ends; e > 0; e-- {
			o := *open
			c := o[len(o)-1]
			*open = o[:len(o)-1]
			if t.toks[c].kind == tkObj {
				t.closeObj(c, int(t.toks[c].a))
			} else {
				t.toks[c].b = uint32(len(t.toks))
			}
		}
	}
	return true
}
