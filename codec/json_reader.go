package codec

import (
	"errors"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// JSONReader reads one JSON document token by token, without allocating but for nesting
// deeper than 64, and holds the rules by which the package reads JSON: the grammar of
// encoding/json (RFC 8259: white space is space, tab, CR and LF; literals true, false and
// null; strings without raw control characters and with valid escapes, invalid UTF-8
// allowed), arrays and objects nested at most maxDepth deep (and at most 10000, where
// encoding/json stops), number literals of at most 256 characters whose exponent has at
// most 3 significant digits, and nothing but white space after the value: what
// encoding/json accepts after checkJSON. The JSON serializer's value decoder and its
// compiled plans read with it, and schema's encoded-message validator too, so all accept
// the same documents.
//
// A reader is used by one goroutine at a time. Reset prepares it for a document; then
// Read returns its tokens in document order, as many per call as the caller has room for:
// a scalar, the start of an array or object, or the end of one (JSONEnd). The value of an
// object member carries its key. End reports whether the document ended where its value
// did. Once Read has failed, the reader is done with that document.
type JSONReader struct {
	data     []byte
	pos      int
	maxDepth int
	state    uint8
	depth    int // arrays and objects open
	// obj: the innermost open container is an object; count: the values it holds so far.
	obj   bool
	count int
	// The containers around the innermost one (depth-1 of them), outermost first: the
	// first 64 in stack, the others in deep.
	stack [64]jsonLevel
	deep  []jsonLevel
}

type jsonLevel struct {
	obj   bool
	count int
}

// States of a JSONReader.
const (
	jsonStart  uint8 = iota // nothing read: the document's value comes next
	jsonOpen                // an array or object was opened: its end or first value comes next
	jsonAfter               // a value was read inside a container: ',' or its end comes next
	jsonDone                // the document's value was read
	jsonFailed              // Read failed
)

// jsonMaxNesting is encoding/json's own bound on nesting.
const jsonMaxNesting = 10000

// JSONKind is the kind of a JSONToken.
type JSONKind uint8

// The kinds of tokens.
const (
	JSONNull   JSONKind = iota
	JSONFalse           // false
	JSONTrue            // true
	JSONNumber          // the literal is data[Off:Off+Len]
	JSONString          // the bytes between the quotes are data[Off:Off+Len] (see JSONEscaped)
	JSONArray           // the start of an array: its items follow, then a JSONEnd
	JSONObject          // the start of an object: its members' values follow, each with its key, then a JSONEnd
	JSONEnd             // the end of the innermost open array or object; Len is its number of items or members
)

// JSONFlags describe a JSONToken's bytes.
type JSONFlags uint8

// Flags of a token.
const (
	// JSONKeyed: the token is the value of an object member, whose key is
	// data[KeyOff:KeyOff+KeyLen] between its quotes.
	JSONKeyed JSONFlags = 1 << iota
	// JSONEscaped: the string's bytes decode to something else (an escape, or invalid
	// UTF-8 that decodes to U+FFFD): AppendJSONString decodes them.
	JSONEscaped
	// JSONKeyEscaped: JSONEscaped for the key.
	JSONKeyEscaped
	// JSONFraction: the number has a fraction part.
	JSONFraction
	// JSONExponent: the number has an exponent.
	JSONExponent
	// JSONLongExponent: the number's exponent is written with more than 3 digits, leading
	// zeros included (1e0005). The reader accepts it; stricter readers may not.
	JSONLongExponent
)

// JSONToken is one token of a document, as JSONReader.Read returns it.
type JSONToken struct {
	Kind  JSONKind
	Flags JSONFlags
	// Off and Len: for JSONNumber and JSONString, where the bytes are in the document;
	// for JSONEnd, Len is the number of items or members of the container that ends.
	Off, Len int
	// KeyOff and KeyLen: where the key of a member's value is (see JSONKeyed).
	KeyOff, KeyLen int
}

// Reset prepares r to read data, with arrays and objects nested at most maxDepth deep.
func (r *JSONReader) Reset(data []byte, maxDepth int) {
	r.data, r.pos, r.maxDepth, r.state, r.depth = data, 0, maxDepth, jsonStart, 0
	r.obj, r.count = false, 0
	r.deep = r.deep[:0]
	if cap(r.deep) > 1<<12 {
		r.deep = nil // after a hostile document: do not keep its room
	}
}

// Done reports whether the document's value has been read whole.
func (r *JSONReader) Done() bool { return r.state == jsonDone }

// End returns nil if the whole document has been read: its value, then nothing but white
// space.
func (r *JSONReader) End() error {
	if r.state == jsonFailed {
		return fmt.Errorf("%w: json: the document was not read", ErrCorrupt)
	}
	if r.state != jsonDone {
		return fmt.Errorf("%w: json: unexpected end of input at offset %d", ErrCorrupt, r.pos)
	}
	pos := skipJSONSpace(r.data, r.pos)
	if pos != len(r.data) {
		return fmt.Errorf("%w: json: invalid character %q after the value at offset %d", ErrCorrupt, r.data[pos], pos)
	}
	return nil
}

// Read reads the next tokens into toks, as many as fit or as the document has left, and
// returns how many it read. It reads fewer than len(toks) only at the end of the document
// or on an error, which it returns with the tokens read before it. After an error, the
// reader is done with the document. The reader's state stays in locals from one token to
// the next.
func (r *JSONReader) Read(toks []JSONToken) (int, error) {
	data, pos := r.data, r.pos
	state, depth, obj, count := r.state, r.depth, r.obj, r.count
	i := 0
	for ; i < len(toks); i++ {
		if pos < len(data) && data[pos] <= ' ' {
			pos = skipJSONSpace(data, pos)
		}
		t := &toks[i]
		t.Flags = 0
		if state != jsonStart {
			if state >= jsonDone {
				break
			}
			if pos >= len(data) {
				return r.fail(i, pos, r.eof())
			}
			c := data[pos]
			if c == ']' && !obj || c == '}' && obj {
				pos++
				t.Kind, t.Off, t.Len = JSONEnd, 0, count
				depth, obj, count, state = r.close(depth)
				continue
			}
			if state == jsonAfter {
				if c != ',' {
					return r.fail(i, pos, r.invalid(pos, "after a value"))
				}
				pos = skipJSONSpace(data, pos+1)
			}
			if obj {
				var err error
				if pos, err = r.key(data, pos, t); err != nil {
					return r.fail(i, pos, err)
				}
			}
			count++
			state = jsonAfter
		} else {
			state = jsonDone
		}
		// A value.
		if pos >= len(data) {
			return r.fail(i, pos, r.eof())
		}
		if c := data[pos]; c == '[' || c == '{' {
			if depth >= r.maxDepth || depth >= jsonMaxNesting {
				return r.fail(i, pos, r.tooDeep(depth, pos))
			}
			if depth > 0 {
				r.push(depth-1, jsonLevel{obj, count})
			}
			depth++
			obj, count, state = c == '{', 0, jsonOpen
			t.Kind, t.Off, t.Len = JSONArray, 0, 0
			if obj {
				t.Kind = JSONObject
			}
			pos++
			continue
		}
		var err error
		if pos, err = scanJSONScalar(data, pos, t); err != nil {
			return r.fail(i, pos, r.scalarError(pos, err))
		}
	}
	r.pos, r.state, r.depth, r.obj, r.count = pos, state, depth, obj, count
	return i, nil
}

// scanJSONScalar reads the string, literal or number at data[pos] into t and returns
// where it ends (pos, on an error: errLiteral for a word that is none of the three).
func scanJSONScalar(data []byte, pos int, t *JSONToken) (int, error) {
	switch c := data[pos]; c {
	case '"':
		end, esc, err := jsonStringEnd(data, pos)
		if err != nil {
			return pos, err
		}
		if esc {
			t.Flags |= JSONEscaped
		}
		t.Kind, t.Off, t.Len = JSONString, pos+1, end-pos-1
		return end + 1, nil
	case 't', 'f', 'n':
		kind, word := jsonLiteral(c)
		if len(data)-pos < len(word) || string(data[pos:pos+len(word)]) != word {
			return pos, errLiteral
		}
		t.Kind, t.Off, t.Len = kind, 0, 0
		return pos + len(word), nil
	}
	end, flags, err := scanJSONNumber(data, pos)
	if err != nil {
		return pos, err
	}
	t.Kind, t.Off, t.Len = JSONNumber, pos, end-pos
	t.Flags |= flags
	return end, nil
}

// errLiteral stands for the error of a misspelt true, false or null until the reader
// words it (JSONReader.literal).
var errLiteral = errors.New("json: not a literal")

// scalarError words err, the error of scanJSONScalar at pos.
func (r *JSONReader) scalarError(pos int, err error) error {
	if err == errLiteral {
		return r.literal(pos)
	}
	return err
}

// key reads the key of an object member at data[pos] into t, and the colon after it; it
// returns where the member's value starts (where it stopped, on an error).
func (r *JSONReader) key(data []byte, pos int, t *JSONToken) (int, error) {
	if pos >= len(data) {
		return pos, r.eof()
	}
	if data[pos] != '"' {
		return pos, r.invalid(pos, "where an object key is expected")
	}
	end, esc, err := jsonStringEnd(data, pos)
	if err != nil {
		return pos, err
	}
	t.Flags = JSONKeyed
	if esc {
		t.Flags = JSONKeyed | JSONKeyEscaped
	}
	t.KeyOff, t.KeyLen = pos+1, end-pos-1
	pos = end + 1
	if pos < len(data) && data[pos] <= ' ' {
		pos = skipJSONSpace(data, pos)
	}
	if pos >= len(data) {
		return pos, r.eof()
	}
	if data[pos] != ':' {
		return pos, r.invalid(pos, "after an object key")
	}
	pos++
	if pos < len(data) && data[pos] <= ' ' {
		pos = skipJSONSpace(data, pos)
	}
	return pos, nil
}

// tooDeep is the error of a container opened at pos inside depth others, past a limit.
func (r *JSONReader) tooDeep(depth, pos int) error {
	if depth >= r.maxDepth {
		return fmt.Errorf("%w: json: nesting at offset %d is deeper than the limit of %d", ErrTooDeep, pos, r.maxDepth)
	}
	return fmt.Errorf("%w: json: nesting at offset %d is deeper than %d", ErrCorrupt, pos, jsonMaxNesting)
}

// close ends the container at depth: it returns the state of the one around it.
func (r *JSONReader) close(depth int) (int, bool, int, uint8) {
	depth--
	if depth > 0 {
		l := r.pop(depth - 1)
		return depth, l.obj, l.count, jsonAfter
	}
	return 0, false, 0, jsonDone
}

// jsonStringEnd returns the index of the quote that ends the string opening at data[pos],
// and whether the string needs decoding (escapes, bytes to replace).
func jsonStringEnd(data []byte, pos int) (end int, esc bool, err error) {
	j := pos + 1
	for j < len(data) && jsonPlain[data[j]] {
		j++
	}
	if j < len(data) && data[j] == '"' {
		return j, false, nil
	}
	return scanJSONString(data, j, pos)
}

// jsonLiteral is the literal that starts with c ('t', 'f' or 'n') and its kind.
func jsonLiteral(c byte) (JSONKind, string) {
	switch c {
	case 't':
		return JSONTrue, "true"
	case 'f':
		return JSONFalse, "false"
	}
	return JSONNull, "null"
}

// push keeps l, the level at index i of the outer levels, while a container inside it is read.
func (r *JSONReader) push(i int, l jsonLevel) {
	if i < len(r.stack) {
		r.stack[i] = l
		return
	}
	r.deep = append(r.deep, l)
}

// pop returns the level at index i, the last pushed.
func (r *JSONReader) pop(i int) jsonLevel {
	if i < len(r.stack) {
		return r.stack[i]
	}
	l := r.deep[len(r.deep)-1]
	r.deep = r.deep[:len(r.deep)-1]
	return l
}

// fail ends the reading of the document at pos with err, after n tokens.
func (r *JSONReader) fail(n, pos int, err error) (int, error) {
	r.pos, r.state = pos, jsonFailed
	return n, err
}

func (r *JSONReader) eof() error {
	if len(r.data) == 0 {
		return fmt.Errorf("%w: json: empty input", ErrCorrupt)
	}
	return fmt.Errorf("%w: json: unexpected end of input at offset %d", ErrCorrupt, len(r.data))
}

func (r *JSONReader) invalid(pos int, where string) error {
	return fmt.Errorf("%w: json: invalid character %q %s at offset %d", ErrCorrupt, r.data[pos], where, pos)
}

func (r *JSONReader) literal(pos int) error {
	return fmt.Errorf("%w: json: invalid literal at offset %d", ErrCorrupt, pos)
}

func skipJSONSpace(data []byte, pos int) int {
	for pos < len(data) {
		switch data[pos] {
		case ' ', '\t', '\n', '\r':
			pos++
		default:
			return pos
		}
	}
	return pos
}

// jsonPlain marks the bytes that a string holds as they are: ASCII but for the quote,
// the backslash and control characters.
var jsonPlain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// scanJSONString checks the rest of the string whose opening quote is at quote, from i
// on (the bytes before i hold as they are), and returns the offset of its closing quote;
// esc reports whether decoding changes its bytes.
func scanJSONString(d []byte, i, quote int) (end int, esc bool, err error) {
	for {
		for i < len(d) && jsonPlain[d[i]] {
			i++
		}
		if i >= len(d) {
			return i, esc, fmt.Errorf("%w: json: unterminated string at offset %d", ErrCorrupt, quote)
		}
		switch c := d[i]; {
		case c == '"':
			return i, esc, nil
		case c == '\\':
			esc = true
			if i+1 >= len(d) {
				return i, esc, fmt.Errorf("%w: json: unterminated string at offset %d", ErrCorrupt, quote)
			}
			switch d[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if getu4(d[i:]) < 0 {
					return i, esc, fmt.Errorf("%w: json: invalid \\u escape at offset %d", ErrCorrupt, i)
				}
				i += 6
			default:
				return i, esc, fmt.Errorf("%w: json: invalid escape at offset %d", ErrCorrupt, i)
			}
		case c < 0x20:
			return i, esc, fmt.Errorf("%w: json: control character %#02x in string at offset %d", ErrCorrupt, c, i)
		default:
			r, size := utf8.DecodeRune(d[i:])
			if r == utf8.RuneError && size == 1 {
				esc = true
			}
			i += size
		}
	}
}

// scanJSONNumber checks the number literal at start and returns where it ends.
func scanJSONNumber(d []byte, start int) (end int, flags JSONFlags, err error) {
	i := start
	if d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case i < len(d) && d[i] >= '1' && d[i] <= '9':
		i++
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
	default:
		if i < len(d) {
			return i, 0, fmt.Errorf("%w: json: invalid character %q looking for a value at offset %d", ErrCorrupt, d[i], i)
		}
		return i, 0, fmt.Errorf("%w: json: unexpected end of input at offset %d", ErrCorrupt, i)
	}
	if i < len(d) && d[i] == '.' {
		i++
		j := i
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
		if i == j {
			return i, 0, fmt.Errorf("%w: json: number at offset %d has no digits after its point", ErrCorrupt, start)
		}
		flags |= JSONFraction
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		j := i
		for i < len(d) && d[i] == '0' {
			i++
		}
		z := i
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
		if i == j {
			return i, 0, fmt.Errorf("%w: json: number at offset %d has no digits in its exponent", ErrCorrupt, start)
		}
		flags |= JSONExponent
		if i-j > maxJSONExponentDigs {
			flags |= JSONLongExponent
		}
		if i-start <= maxJSONNumberLen && i-z > maxJSONExponentDigs {
			return i, 0, fmt.Errorf("%w: json: number at offset %d has an exponent beyond ±999", ErrTooLarge, start)
		}
	}
	if i-start > maxJSONNumberLen {
		return i, 0, fmt.Errorf("%w: json: number at offset %d is %d characters long, over the limit of %d", ErrTooLarge, start, i-start, maxJSONNumberLen)
	}
	return i, flags, nil
}

// AppendJSONString appends the decoded form of s, the bytes between the quotes of a string
// JSONReader has read, to dst, as encoding/json decodes them: escapes resolved, invalid
// UTF-8 and lone surrogates replaced by U+FFFD.
func AppendJSONString(dst, s []byte) []byte {
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
