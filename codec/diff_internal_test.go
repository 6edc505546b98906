package codec

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// addCorpus seeds f with the stored corpora of the named fuzz targets.
func addCorpus(f *testing.F, targets ...string) {
	for _, name := range targets {
		files, _ := filepath.Glob(filepath.Join("testdata", "fuzz", name, "*"))
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

// sentinel is the codec error a decoding error wraps.
func sentinel(err error) error {
	for _, s := range []error{ErrTooDeep, ErrTooLarge, ErrCorrupt} {
		if errors.Is(err, s) {
			return s
		}
	}
	return err
}

// FuzzMsgpackReaderOld compares checkMsgpack and msgpackValue, built on MsgpackReader, with
// the scanners they replace: the same verdicts, errors and values.
func FuzzMsgpackReaderOld(f *testing.F) {
	addCorpus(f, "FuzzMsgpackScan", "FuzzMsgpackValue", "FuzzPipelineDecode")
	for _, s := range [][]byte{
		{0xc0}, {0x93, 0x01, 0xa1, 'x', 0xc0}, {0x81, 0xa1, 'k', 0x90}, {0x9f, 0x9f, 0xc0, 0xc0},
		{0xdd, 0xff, 0xff, 0xff, 0xff}, {0xd8, 0x05, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
		{0xc7, 0x0c, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, {0x82, 0xd0, 0x80, 0xc0, 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xc4, 1, 2},
		{0x91, 0x91, 0x91, 0x91, 0x80}, {0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 1}, {0xca, 0x7f, 0x80, 0, 0},
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, depth := range []int{3, 16} {
			errNew, errOld := checkMsgpack(data, depth), old_checkMsgpack(data, depth)
			if (errNew == nil) != (errOld == nil) || errNew != nil && errNew.Error() != errOld.Error() {
				t.Fatalf("depth %d: checkMsgpack %v, before %v", depth, errNew, errOld)
			}
			vNew, errNew := msgpackValue(data, depth)
			vOld, errOld := old_msgpackValue(data, depth)
			if (errNew == nil) != (errOld == nil) {
				t.Fatalf("depth %d: msgpackValue %v, before %v", depth, errNew, errOld)
			}
			// The value decoder counts the values pending at every level now, as the pre-scan
			// did: a message that is too short for them fails there first, with ErrTooLarge.
			if errNew != nil && sentinel(errNew) != sentinel(errOld) && sentinel(errNew) != ErrTooLarge {
				t.Fatalf("depth %d: msgpackValue %v, before %v", depth, errNew, errOld)
			}
			if !reflect.DeepEqual(vNew, vOld) {
				t.Fatalf("depth %d: msgpackValue %#v, before %#v", depth, vNew, vOld)
			}
		}
	})
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
