package codec_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/jesus-go/jesus/codec"
)

// readAll reads a message with a buffer of n tokens and returns every token and the error
// that ended it (Read's or End's).
func readAll(data []byte, maxDepth, n int) ([]codec.MsgpackToken, error) {
	var r codec.MsgpackReader
	r.Reset(data, maxDepth)
	buf := make([]codec.MsgpackToken, n)
	var all []codec.MsgpackToken
	for r.More() {
		k, err := r.Read(buf)
		all = append(all, buf[:k]...)
		if err != nil {
			return all, err
		}
		if k < n && r.More() {
			return all, errors.New("Read returned fewer tokens than asked with values left")
		}
	}
	return all, r.End()
}

// FuzzMsgpackReader checks that MsgpackReader reads the same tokens and reaches the same
// verdict whatever the size of the caller's buffer, that it agrees with UnmarshalValue,
// and that the containers it opens are the containers it ends.
func FuzzMsgpackReader(f *testing.F) {
	r := codec.NewRegistry(fuzzLimits)
	fuzzSeeds(f, r)
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
		for i, k := range want {
			if k.Kind == codec.MsgpackArray || k.Kind == codec.MsgpackMap {
				open++
			}
			open -= int(k.Ends)
			if open < 0 || open == 0 && i < len(want)-1 {
				t.Fatalf("token %d: %d containers open after it", i, open)
			}
		}
		if open != 0 {
			t.Fatalf("%d containers left open", open)
		}
	})
}
