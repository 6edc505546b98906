package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/jesus-go/jesus/codec"
)

// addCorpus seeds f with the stored corpora of the named fuzz targets, here and in codec.
func addCorpus(f *testing.F, targets ...string) {
	for _, name := range targets {
		for _, dir := range []string{"testdata", filepath.Join("..", "codec", "testdata")} {
			files, _ := filepath.Glob(filepath.Join(dir, "fuzz", name, "*"))
			for _, file := range files {
				b, err := os.ReadFile(file)
				if err != nil {
					f.Fatal(err)
				}
				if v, ok := corpusBytes(b); ok {
					f.Add(v)
				}
			}
		}
	}
}

// corpusBytes reads a stored corpus entry of one []byte.
func corpusBytes(file []byte) ([]byte, bool) {
	lines := strings.Split(strings.TrimSpace(string(file)), "\n")
	if len(lines) != 2 || lines[0] != "go test fuzz v1" {
		return nil, false
	}
	q, ok := strings.CutPrefix(lines[1], "[]byte(")
	if !ok {
		return nil, false
	}
	s, err := strconv.Unquote(strings.TrimSuffix(q, ")"))
	return []byte(s), err == nil
}

var tapeSeeds = [][]byte{
	{0xc0}, {0x93, 0x01, 0xa1, 'x', 0xc0}, {0x81, 0xa1, 'k', 0x90}, {0x9f, 0x9f, 0xc0, 0xc0},
	{0xdd, 0xff, 0xff, 0xff, 0xff}, {0xd6, 0xff, 0, 0, 0, 1}, {0xc7, 0x0c, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
	{0x82, 0xd0, 0x80, 0xc0, 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xc4, 1, 2},
	{0x82, 0xa1, 'a', 0x01, 0xa1, 'a', 0x02}, {0x91, 0x91, 0x91, 0x91, 0x80}, {0xca, 0x3f, 0x80, 0, 0},
	[]byte(`{"a":[1,2.5,"x\u00e9\ud800",null,true,{}],"b":-0.5e-3}`), []byte(" [1 , 2] "),
}

// fuzzDepths are the depth limits the tape fuzz targets read with: one the fuzzer reaches
// often, and codec's default.
var fuzzDepths = []int{4, codec.DefaultMaxDepth}

// FuzzTapeMsgpack checks the msgpack tape reader against codec's msgpack value decoder:
// it accepts a message exactly when the decoder does, within the same depth limit, and
// the tape holds the value the decoder builds.
func FuzzTapeMsgpack(f *testing.F) {
	addCorpus(f, "FuzzValidateMsgpack", "FuzzMsgpackValue", "FuzzMsgpackScan")
	fuzzTape(f, codec.NewMsgpack, (*tape).readMsgpack, nil, nil)
}

// FuzzTapeJSON checks the JSON tape reader against codec's JSON value decoder and
// precheck: it accepts a document exactly when the decoder does, within the same depth
// limit, and precheck passes every number; the tape holds the value the decoder builds.
func FuzzTapeJSON(f *testing.F) {
	addCorpus(f, "FuzzValidateJSON", "FuzzJSONValue")
	fuzzTape(f, codec.NewJSON, (*tape).readJSON, func(want any, d int) error {
		if _, pass := precheck(want, d); !pass {
			return errors.New("precheck refuses it")
		}
		return nil
	}, hasDuplicateKeys)
}

// hasDuplicateKeys reports whether a JSON document has an object with a repeated key.
// The decoder keeps the last value of such a key, so a value that precheck would refuse
// leaves no trace when a later one replaces it; the tape reader refuses it where it reads
// it, which only sends the document to the slow path (the readers may accept fewer
// documents than the decoder, never more).
func hasDuplicateKeys(data []byte) bool {
	d := json.NewDecoder(bytes.NewReader(data))
	type frame struct {
		object, wantKey bool
		keys            map[string]bool
	}
	var stack []*frame
	valueDone := func() {
		if n := len(stack); n > 0 && stack[n-1].object {
			stack[n-1].wantKey = true
		}
	}
	for {
		tok, err := d.Token()
		if err != nil {
			return false
		}
		top := (*frame)(nil)
		if n := len(stack); n > 0 {
			top = stack[n-1]
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{':
				if top != nil && top.object {
					top.wantKey = false
				}
				stack = append(stack, &frame{object: true, wantKey: true, keys: map[string]bool{}})
			case '[':
				if top != nil && top.object {
					top.wantKey = false
				}
				stack = append(stack, &frame{})
			default:
				stack = stack[:len(stack)-1]
				valueDone()
			}
		case string:
			if top != nil && top.object && top.wantKey {
				if top.keys[v] {
					return true
				}
				top.keys[v] = true
				top.wantKey = false
				continue
			}
			valueDone()
		default:
			valueDone()
		}
	}
}

// fuzzTape seeds f with tapeSeeds and checks read against the decoder newDecoder makes,
// at each of fuzzDepths: read accepts a message exactly when the decoder does and check
// (when not nil) passes the decoded value, and the tape then holds the decoded value.
// mayRefuse (when not nil) names the documents read may refuse although the decoder and
// check accept them.
func fuzzTape(f *testing.F, newDecoder func(codec.Limits) codec.Serializer, read func(*tape, int) bool, check func(want any, depth int) error, mayRefuse func([]byte) bool) {
	for _, s := range tapeSeeds {
		f.Add(s)
	}
	var decoders []codec.Serializer
	for _, d := range fuzzDepths {
		decoders = append(decoders, newDecoder(codec.Limits{MaxDepth: d}))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for i, d := range fuzzDepths {
			tp := getTape(data)
			ok := read(tp, d)
			want, err := decoders[i].UnmarshalValue(data)
			if err == nil && check != nil {
				err = check(want, d)
			}
			if ok != (err == nil) && !(!ok && mayRefuse != nil && mayRefuse(data)) {
				t.Fatalf("depth %d: tape reader says %v, decoder %v", d, ok, err)
			}
			if ok {
				if got := tp.value(0); !reflect.DeepEqual(got, want) {
					t.Fatalf("depth %d: tape holds %#v, decoder built %#v", d, got, want)
				}
			}
			putTape(tp)
		}
	})
}

// BenchmarkReadTape reads an order of 60 lines (about 4 KB of JSON) into a tape.
func BenchmarkReadTape(b *testing.B) {
	var lines []any
	for i := range 60 {
		lines = append(lines, map[string]any{"sku": "SKU-" + strconv.Itoa(1000+i), "quantity": int64(1 + i%7),
			"unitPrice": map[string]any{"amount": 3.25 + float64(i), "currency": "EUR"}})
	}
	x := map[string]any{"id": "o-2002", "customer": map[string]any{"id": "c-42", "name": "Ada Lovelace", "email": "ada@example.com"},
		"currency": "EUR", "lines": lines, "status": "submitted"}
	for _, c := range []struct {
		ser  codec.Serializer
		read func(*tape) bool
	}{
		{codec.NewMsgpack(codec.Limits{}), func(t *tape) bool { return t.readMsgpack(codec.DefaultMaxDepth) }},
		{codec.NewJSON(codec.Limits{}), func(t *tape) bool { return t.readJSON(codec.DefaultMaxDepth) }},
	} {
		data, err := c.ser.Marshal(nil, x)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.ser.Name(), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				t := getTape(data)
				if !c.read(t) {
					b.Fatal("refused")
				}
				putTape(t)
			}
		})
	}
}
