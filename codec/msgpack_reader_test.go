package codec_test

import (
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/jesus-go/jesus/codec"
)

// readAll reads a message with a buffer of n tokens and returns every token, with the
// fields that do not apply to it cleared, and the error that ended it (Read's or End's).
func readAll(data []byte, maxDepth, n int) ([]string, error) {
	var r codec.MsgpackReader
	r.Reset(data, maxDepth)
	buf := make([]codec.MsgpackToken, n)
	var all []string
	for r.More() {
		k, err := r.Read(buf)
		for _, t := range buf[:k] {
			all = append(all, show(&t))
		}
		if err != nil {
			return all, err
		}
		if k < n && r.More() {
			return all, errors.New("Read returned fewer tokens than asked with values left")
		}
	}
	return all, r.End()
}

// show renders what a token says, and nothing of the fields that do not apply to it.
func show(t *codec.MsgpackToken) string {
	s := fmt.Sprintf("%s ends %d", t.Kind, t.Ends)
	switch t.Kind {
	case codec.MsgpackBool:
		s += fmt.Sprint(" ", t.Bool())
	case codec.MsgpackInt:
		s += fmt.Sprint(" ", t.Int())
	case codec.MsgpackUint:
		s += fmt.Sprint(" ", t.Uint())
	case codec.MsgpackFloat:
		s += fmt.Sprint(" ", t.Float())
	case codec.MsgpackTime:
		s += " " + t.Time().String()
	case codec.MsgpackStr, codec.MsgpackBin:
		s += fmt.Sprint(" ", t.Off, t.Len)
	case codec.MsgpackArray, codec.MsgpackMap:
		s += fmt.Sprint(" ", t.Len)
	}
	switch t.Key {
	case codec.MsgpackStr:
		s += fmt.Sprint(" key ", t.KeyOff, t.KeyLen)
	case codec.MsgpackInt:
		s += fmt.Sprint(" key ", t.KeyInt())
	case codec.MsgpackUint:
		s += fmt.Sprint(" key ", t.KeyUint())
	}
	return s
}

// FuzzMsgpackReader checks that MsgpackReader reads the same tokens and reaches the same
// verdict whatever the size of the caller's buffer, that it agrees with UnmarshalValue,
// and that the containers it opens are the containers it ends.
func FuzzMsgpackReader(f *testing.F) {
	r := fuzzRegistry(f)
	f.Add([]byte{0x82, 0xa1, 'a', 0x91, 0x80, 0x01, 0xd6, 0xff, 0, 0, 0, 1})
	f.Add([]byte{0x93, 0x90, 0x80, 0x91, 0x91, 0xc0})
	p, _ := r.Pipeline("msgpack")
	f.Fuzz(func(t *testing.T, data []byte) {
		want, wantErr := readAll(data, fuzzLimits.MaxDepth, 64)
		for _, n := range []int{1, 2, 7} {
			got, err := readAll(data, fuzzLimits.MaxDepth, n)
			if !reflect.DeepEqual(got, want) || (err == nil) != (wantErr == nil) || err != nil && err.Error() != wantErr.Error() {
				t.Fatalf("buffer of %d: %d tokens, %v; buffer of 64: %d tokens, %v", n, len(got), err, len(want), wantErr)
			}
		}
		if _, err := p.UnmarshalValue(data); (err == nil) != (wantErr == nil) {
			t.Fatalf("reader says %v, UnmarshalValue %v", wantErr, err)
		}
		if wantErr != nil {
			return
		}
		open := 0
		var r codec.MsgpackReader
		r.Reset(data, fuzzLimits.MaxDepth)
		toks := make([]codec.MsgpackToken, len(want)+1)
		n, _ := r.Read(toks)
		for i, k := range toks[:n] {
			if k.Kind == codec.MsgpackArray || k.Kind == codec.MsgpackMap {
				open++
			}
			open -= int(k.Ends)
			if open < 0 || open == 0 && i < n-1 {
				t.Fatalf("token %d: %d containers open after it", i, open)
			}
		}
		if open != 0 {
			t.Fatalf("%d containers left open", open)
		}
	})
}
