package schema

import (
	"bytes"
	"testing"
)

// FuzzTapeJSONReaders: on any input, the tape read with codec.JSONReader is the tape the
// schema's own JSON reader reads: the same verdict, the same tokens, strings and keys.
func FuzzTapeJSONReaders(f *testing.F) {
	addCorpus(f, "FuzzValidateJSON", "FuzzJSONValue", "FuzzTapeJSON")
	for _, s := range tapeSeeds {
		f.Add(s)
	}
	for _, s := range []string{`1e0005`, `[1e-0999]`, `{"a\u00e9":"\ud800\udc00","a\u00e9":1}`, "\"\xff\"", `[[[[[]]]]]`, `{"a" : [ 1 , {} ] }`, `-0.0E+1`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, d := range fuzzDepths {
			old, cur := getTape(data), getTape(data)
			okOld, okNew := old.readJSONOld(d), cur.readJSON(d)
			if okOld != okNew {
				t.Fatalf("depth %d: old reader says %v, new %v", d, okOld, okNew)
			}
			if okOld {
				compareTapes(t, old, cur)
			}
			putTape(old)
			putTape(cur)
		}
	})
}

func compareTapes(t *testing.T, a, b *tape) {
	t.Helper()
	if len(a.toks) != len(b.toks) {
		t.Fatalf("%d tokens, want %d", len(b.toks), len(a.toks))
	}
	for i := range a.toks {
		x, y := &a.toks[i], &b.toks[i]
		if x.kind != y.kind || x.dup != y.dup {
			t.Fatalf("token %d: kind %d dup %v, want %d %v", i, y.kind, y.dup, x.kind, x.dup)
		}
		switch x.kind {
		case tkArr, tkObj:
			if x.a != y.a || x.b != y.b {
				t.Fatalf("token %d: container %d,%d, want %d,%d", i, y.a, y.b, x.a, x.b)
			}
		case tkStr, tkNumText:
			if !bytes.Equal(a.bytes(i), b.bytes(i)) {
				t.Fatalf("token %d: %q, want %q", i, b.bytes(i), a.bytes(i))
			}
		}
		if x.kln != y.kln || !bytes.Equal(a.key(i), b.key(i)) {
			t.Fatalf("token %d: key %q, want %q", i, b.key(i), a.key(i))
		}
	}
}
