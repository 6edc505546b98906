package codec

import (
	"bytes"
	"errors"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

// FuzzMsgpackScan checks the pre-scan against the library and the value decoder: what the
// scan accepts, the library walks to the last byte; what the value decoder accepts (a
// stricter model), the scan accepts.
func FuzzMsgpackScan(f *testing.F) {
	for _, s := range [][]byte{
		{0xc0}, {0x93, 0x01, 0xa1, 'x', 0xc0}, {0x81, 0xa1, 'k', 0x90},
		{0xdd, 0xff, 0xff, 0xff, 0xff}, {0xd8, 0x05, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
		{0xc7, 0x0c, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
		{0x91, 0x91, 0x91, 0x91, 0x80}, {0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 1},
	} {
		f.Add(s)
	}
	const maxDepth = 16
	f.Fuzz(func(t *testing.T, data []byte) {
		_, scanErr := checkMsgpack(new(MsgpackReader), data, maxDepth)
		_, valErr := msgpackValue(data, maxDepth)
		if valErr == nil && scanErr != nil {
			t.Fatalf("value decoder accepted what the scan refused: %v", scanErr)
		}
		if scanErr != nil && !errors.Is(scanErr, ErrCorrupt) && !errors.Is(scanErr, ErrTooLarge) && !errors.Is(scanErr, ErrTooDeep) {
			t.Fatalf("scan error wraps no sentinel: %v", scanErr)
		}
		if scanErr != nil {
			return
		}
		r := bytes.NewReader(data)
		dec := msgpack.NewDecoder(r)
		if err := dec.Skip(); err != nil {
			t.Fatalf("scan accepted what the library cannot walk: %v", err)
		}
		if r.Len() != 0 {
			t.Fatalf("scan and library disagree on the end of the value: %d bytes left", r.Len())
		}
	})
}
