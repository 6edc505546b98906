package schema

import (
	"unicode/utf16"
	"unicode/utf8"
)

// Bounds of codec's JSON decoder that precheck does not share.
const maxJSONNumberLen = 256

// readJSONOld reads one JSON document into t. It mirrors codec's JSON value decoder
// (encoding/json with UseNumber, whitespace only after the value, numbers of at most
// maxJSONNumberLen characters) together with precheck (depth, exponents of at most
// maxExponentDigits digits). Strings decode as encoding/json decodes them: escapes
// resolved, invalid UTF-8 and lone surrogates replaced by U+FFFD. It reports false for
// any document the decoder or precheck would refuse.
func (t *tape) readJSONOld(maxDepth int) bool {
	if len(t.data) > maxTapeInput {
		return false
	}
	r := jsReader{t: t, data: t.data, maxDepth: maxDepth}
	r.ws()
	if !r.value(0) {
		return false
	}
	r.ws()
	return r.pos == len(r.data)
}

type jsReader struct {
	t        *tape
	data     []byte
	pos      int
	maxDepth int
}

func (r *jsReader) ws() {
	for r.pos < len(r.data) {
		switch r.data[r.pos] {
		case ' ', '\t', '\n', '\r':
			r.pos++
		default:
			return
		}
	}
}

func (r *jsReader) lit(s string, k tkind) bool {
	if len(r.data)-r.pos < len(s) || string(r.data[r.pos:r.pos+len(s)]) != s {
		return false
	}
	r.pos += len(s)
	r.t.push(k, 0)
	return true
}

func (r *jsReader) value(depth int) bool {
	if r.pos >= len(r.data) {
		return false
	}
	switch c := r.data[r.pos]; c {
	case '"':
		return r.str()
	case '{':
		return r.container(depth, tkObj)
	case '[':
		return r.container(depth, tkArr)
	case 't':
		return r.lit("true", tkTrue)
	case 'f':
		return r.lit("false", tkFalse)
	case 'n':
		return r.lit("null", tkNull)
	default:
		if c == '-' || c >= '0' && c <= '9' {
			return r.number()
		}
	}
	return false
}

// container reads an object (kind tkObj) or an array (tkArr) whose opening bracket is at
// r.pos.
func (r *jsReader) container(depth int, kind tkind) bool {
	if depth >= r.maxDepth {
		return false
	}
	closing := byte(']')
	if kind == tkObj {
		closing = '}'
	}
	r.pos++
	i := r.t.push(kind, 0)
	r.ws()
	n := 0
	if r.pos < len(r.data) && r.data[r.pos] == closing {
		r.pos++
	} else {
		for {
			r.ws()
			var off, ln int
			var scratch bool
			if kind == tkObj && !r.memberKey(&off, &ln, &scratch) {
				return false
			}
			j := len(r.t.toks)
			if !r.value(depth + 1) {
				return false
			}
			if kind == tkObj {
				r.t.setKey(j, off, ln, scratch)
			}
			n++
			r.ws()
			if r.pos >= len(r.data) {
				return false
			}
			c := r.data[r.pos]
			r.pos++
			if c == closing {
				break
			}
			if c != ',' {
				return false
			}
		}
	}
	if kind == tkObj {
		r.t.closeObj(i, n)
	} else {
		r.t.toks[i].a, r.t.toks[i].b = uint32(n), uint32(len(r.t.toks))
	}
	return true
}

// memberKey reads the key of an object member and its colon.
func (r *jsReader) memberKey(off, ln *int, scratch *bool) bool {
	if r.pos >= len(r.data) || r.data[r.pos] != '"' {
		return false
	}
	var ok bool
	if *off, *ln, *scratch, ok = r.strSpan(); !ok {
		return false
	}
	r.ws()
	if r.pos >= len(r.data) || r.data[r.pos] != ':' {
		return false
	}
	r.pos++
	r.ws()
	return true
}

// number reads a number by the JSON grammar, within codec's length bound and
// precheck's exponent bound.
func (r *jsReader) number() bool {
	d, start := r.data, r.pos
	i := start
	digits := func() int {
		j := i
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
		return i - j
	}
	if d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case i < len(d) && d[i] >= '1' && d[i] <= '9':
		digits()
	default:
		return false
	}
	if i < len(d) && d[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if n := digits(); n == 0 || n > maxExponentDigits {
			return false
		}
	}
	if i-start > maxJSONNumberLen {
		return false
	}
	r.pos = i
	r.t.pushSpan(tkNumText, start, i-start)
	return true
}

// str reads a string value.
func (r *jsReader) str() bool {
	off, ln, scratch, ok := r.strSpan()
	if !ok {
		return false
	}
	r.t.toks = append(r.t.toks, tok{kind: tkStr, scratch: scratch, a: uint32(off), b: uint32(ln)})
	return true
}

// strSpan reads a string and returns where its decoded bytes are: in the message unless
// decoding changes them, else in scratch.
func (r *jsReader) strSpan() (off, ln int, scratch, ok bool) {
	d := r.data
	from := r.pos + 1
	plain := true
	i := from
	for {
		if i >= len(d) {
			return
		}
		c := d[i]
		if c == '"' {
			break
		}
		if c < 0x20 {
			return
		}
		if c == '\\' {
			plain = false
			i++
			if i >= len(d) {
				return
			}
			switch d[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
			case 'u':
				if getu4(d[i-1:]) < 0 {
					return
				}
				i += 5
			default:
				return
			}
			continue
		}
		if c >= utf8.RuneSelf {
			rr, size := utf8.DecodeRune(d[i:])
			if rr == utf8.RuneError && size == 1 {
				plain = false
			}
			i += size
			continue
		}
		i++
	}
	r.pos = i + 1
	if plain {
		return from, i - from, false, true
	}
	s := len(r.t.scratch)
	r.t.scratch = unquote(r.t.scratch, d[from:i])
	return s, len(r.t.scratch) - s, true, true
}

// unquote appends the decoded form of the inside of a string (already checked for
// syntax) to dst, as encoding/json's unquoteBytes decodes it.
func unquote(dst, s []byte) []byte {
	for r := 0; r < len(s); {
		c := s[r]
		switch {
		case c == '\\':
			r++
			switch s[r] {
			case 'b':
				dst = append(dst, '\b')
			case 'f':
				dst = append(dst, '\f')
			case 'n':
				dst = append(dst, '\n')
			case 'r':
				dst = append(dst, '\r')
			case 't':
				dst = append(dst, '\t')
			case 'u':
				rr := getu4(s[r-1:])
				r += 5
				if utf16.IsSurrogate(rr) {
					rr1 := getu4(s[r:])
					if dec := utf16.DecodeRune(rr, rr1); dec != utf8.RuneError {
						r += 6
						dst = utf8.AppendRune(dst, dec)
						continue
					}
					rr = utf8.RuneError
				}
				dst = utf8.AppendRune(dst, rr)
				continue
			default: // '"', '\\', '/'
				dst = append(dst, s[r])
			}
			r++
		case c < utf8.RuneSelf:
			dst = append(dst, c)
			r++
		default:
			rr, size := utf8.DecodeRune(s[r:])
			r += size
			dst = utf8.AppendRune(dst, rr)
		}
	}
	return dst
}

// getu4 decodes \uXXXX at the start of s, or returns -1.
func getu4(s []byte) rune {
	if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
		return -1
	}
	var r rune
	for _, c := range s[2:6] {
		switch {
		case '0' <= c && c <= '9':
			c = c - '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}
