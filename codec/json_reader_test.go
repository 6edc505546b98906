package codec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

var jsonReaderSeeds = []string{
	`null`, ` true `, `false`, `0`, `-0.5e-3`, `1E+999`, `1e1000`, `1e0005`, `"a\u00e9\ud800\udc00\ud800x"`,
	"\"\xff\xfe\"", `{"a":[1,2.5,"x",null,true,{}],"b":-0.5e-3}`, `[[[[]]]]`, `{"k" : [ ] , "k":{}}`,
	`[1,]`, `{"a":1,}`, `01`, `1.`, `.5`, `-`, `"\x"`, "\"\x01\"", `tru`, `nulls`, `[1 2]`, `{"a" 1}`, `{1:2}`,
	`[` + strings.Repeat("1", 300) + `]`, `"` + strings.Repeat("[", 80) + `"`, strings.Repeat("[", 70) + strings.Repeat("]", 70),
	"\t\r\n[]\n", "[]\v", "\u00a0[]",
}

// jsonTokens reads data with a JSONReader and writes its tokens as encoding/json's
// Decoder.Token returns them: keys and strings decoded, numbers as their text, delimiters.
func jsonTokens(data []byte, maxDepth, batch int) ([]any, error) {
	var r JSONReader
	r.Reset(data, maxDepth)
	var out []any
	var objs []bool
	counts := []int{0} // the values read in each open container (and at the top)
	toks := make([]JSONToken, batch)
	for !r.Done() {
		n, err := r.Read(toks)
		for _, t := range toks[:n] {
			if t.Kind != JSONEnd {
				counts[len(counts)-1]++
			}
			if t.Flags&JSONKeyed != 0 {
				k := data[t.KeyOff : t.KeyOff+t.KeyLen]
				if t.Flags&JSONKeyEscaped != 0 {
					k = AppendJSONString(nil, k)
				} else if !bytes.Equal(AppendJSONString(nil, k), k) {
					return nil, fmt.Errorf("key %q decodes to something else but is not marked", k)
				}
				out = append(out, string(k))
			}
			switch t.Kind {
			case JSONNull:
				out = append(out, nil)
			case JSONTrue:
				out = append(out, true)
			case JSONFalse:
				out = append(out, false)
			case JSONNumber:
				out = append(out, json.Number(data[t.Off:t.Off+t.Len]))
			case JSONString:
				s := data[t.Off : t.Off+t.Len]
				if t.Flags&JSONEscaped != 0 {
					s = AppendJSONString(nil, s)
				} else if !bytes.Equal(AppendJSONString(nil, s), s) {
					return nil, fmt.Errorf("string %q decodes to something else but is not marked", s)
				}
				out = append(out, string(s))
			case JSONArray:
				out = append(out, json.Delim('['))
				objs = append(objs, false)
				counts = append(counts, 0)
			case JSONObject:
				out = append(out, json.Delim('{'))
				objs = append(objs, true)
				counts = append(counts, 0)
			case JSONEnd:
				if c := counts[len(counts)-1]; t.Len != c {
					return nil, fmt.Errorf("a container of %d values ends with Len %d", c, t.Len)
				}
				counts = counts[:len(counts)-1]
				if objs[len(objs)-1] {
					out = append(out, json.Delim('}'))
				} else {
					out = append(out, json.Delim(']'))
				}
				objs = objs[:len(objs)-1]
			}
		}
		if err != nil {
			return out, err
		}
	}
	return out, r.End()
}

// libraryTokens is what encoding/json's Decoder.Token reads from a valid document.
func libraryTokens(t *testing.T, data []byte) []any {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var out []any
	for {
		tok, err := d.Token()
		if err != nil {
			return out
		}
		out = append(out, tok)
	}
}

// FuzzJSONReader checks JSONReader against encoding/json and the package's old pre-scan:
// it accepts exactly the valid JSON that the pre-scan passes, reads the tokens
// encoding/json reads (strings decoded alike) whatever the size of its batches, and its
// refusals wrap the sentinels.
func FuzzJSONReader(f *testing.F) {
	for _, s := range jsonReaderSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, d := range []int{4, DefaultMaxDepth} {
			got, err := jsonTokens(data, d, 64)
			want := json.Valid(data) && checkJSON(data, d) == nil
			if (err == nil) != want {
				t.Fatalf("depth %d: reader says %v, want accepted %v", d, err, want)
			}
			if err != nil {
				if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrTooDeep) {
					t.Fatalf("error wraps no sentinel: %v", err)
				}
				if ce := checkJSON(data, d); ce == nil && json.Valid(data) {
					t.Fatalf("checkJSON passes what it refused before")
				}
				continue
			}
			if ce := checkJSON(data, d); ce != nil {
				t.Fatalf("checkJSON refuses an accepted document: %v", ce)
			}
			v, ok := jsonValue(data, d)
			var lib any
			dec := json.NewDecoder(bytes.NewReader(data))
			dec.UseNumber()
			if !ok || dec.Decode(&lib) != nil || !reflect.DeepEqual(v, lib) {
				t.Fatalf("value %#v (%v), encoding/json %#v", v, ok, lib)
			}
			if lib := libraryTokens(t, data); fmt.Sprintf("%#v", got) != fmt.Sprintf("%#v", lib) {
				t.Fatalf("tokens\n%#v\nwant\n%#v", got, lib)
			}
			one, err := jsonTokens(data, d, 1)
			if err != nil || fmt.Sprintf("%#v", one) != fmt.Sprintf("%#v", got) {
				t.Fatalf("one token at a time: %v, %#v", err, one)
			}
		}
	})
}

func TestJSONReaderSeeds(t *testing.T) {
	for _, s := range jsonReaderSeeds {
		for _, d := range []int{4, DefaultMaxDepth} {
			_, err := jsonTokens([]byte(s), d, 3)
			want := json.Valid([]byte(s)) && checkJSON([]byte(s), d) == nil
			if (err == nil) != want {
				t.Errorf("%q depth %d: %v, want accepted %v", s, d, err, want)
			}
		}
	}
}

// TestJSONReaderNesting: encoding/json's own bound on nesting holds whatever the limit.
func TestJSONReaderNesting(t *testing.T) {
	for _, n := range []int{jsonMaxNesting, jsonMaxNesting + 1} {
		data := []byte(strings.Repeat("[", n) + strings.Repeat("]", n))
		_, err := jsonTokens(data, 1<<20, 64)
		if (err == nil) != json.Valid(data) {
			t.Errorf("nesting %d: %v, encoding/json valid %v", n, err, json.Valid(data))
		}
	}
}

// TestCheckJSONErrors: a refused document gets the error it got before the reader: the
// bound it breaks, even after a syntax error, else the decoder's syntax error.
func TestCheckJSONErrors(t *testing.T) {
	s := NewJSON(Limits{MaxDepth: 4})
	for _, c := range []struct {
		in   string
		want error
	}{
		{`{"a": x, "b": 1e99999}`, ErrTooLarge},
		{`x [[[[[[]]]]]]`, ErrTooDeep},
		{`[[[[[`, ErrTooDeep},
		{`[1,]`, ErrCorrupt},
		{`{"a":1}x`, ErrCorrupt},
	} {
		var v any
		err := s.Unmarshal([]byte(c.in), &v)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.in, err, c.want)
		}
		var m map[string]int
		err = s.Unmarshal([]byte(c.in), &m)
		if !errors.Is(err, c.want) {
			t.Errorf("%s into a map: %v, want %v", c.in, err, c.want)
		}
	}
}

// TestJSONReaderDeep: containers nested beyond the reader's fixed room close into the
// right kind and count.
func TestJSONReaderDeep(t *testing.T) {
	var b strings.Builder
	for i := range 150 {
		if i%2 == 0 {
			b.WriteString(`[1,`)
		} else {
			b.WriteString(`{"a":2,"b":`)
		}
	}
	b.WriteString(`null`)
	for i := 149; i >= 0; i-- {
		if i%2 == 0 {
			b.WriteString(`,3]`)
		} else {
			b.WriteString(`,"c":4}`)
		}
	}
	data := []byte(b.String())
	got, err := jsonTokens(data, 1000, 7)
	if err != nil {
		t.Fatal(err)
	}
	if want := libraryTokens(t, data); fmt.Sprintf("%#v", got) != fmt.Sprintf("%#v", want) {
		t.Fatal("tokens differ from encoding/json's")
	}
	if _, err := jsonTokens(data, 149, 7); !errors.Is(err, ErrTooDeep) {
		t.Fatalf("depth 149: %v", err)
	}
}
