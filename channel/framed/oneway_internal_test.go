package framed

import (
	"bytes"
	"testing"

	"github.com/jesus-go/jesus/channel"
)

// The credit frames of the example in PROTOCOL.md §2.5, byte for byte.
func TestCreditFrameBytes(t *testing.T) {
	for _, c := range []struct {
		units, done, dropped uint64
		want                 []byte
	}{
		{1024, 0, 0, []byte{0, 0, 0, 9, 1, 10, 1, 0, 14, 2, 0x80, 0x08, 0}},
		{600, 600, 2, []byte{0, 0, 0, 12, 1, 10, 1, 0, 14, 2, 0xD8, 0x04, 0, 0xD8, 0x04, 2}},
	} {
		b := creditFrame(c.units, c.done, c.dropped)
		if !bytes.Equal(*b, c.want) {
			t.Errorf("creditFrame(%d, %d, %d) = % X, want % X", c.units, c.done, c.dropped, *b, c.want)
		}
		var e channel.Envelope
		if err := channel.ParseEnvelope((*b)[4:], &e); err != nil {
			t.Fatal(err)
		}
		done, dropped, err := parseCredit(&e)
		if err != nil || done != c.done || dropped != c.dropped || uint64(e.Credits) != c.units {
			t.Errorf("parsed back: credits %d done %d dropped %d err %v", e.Credits, done, dropped, err)
		}
		putBuf(b)
	}
	for _, bad := range [][]byte{{0x80}, {1}, {1, 2}, {1, 0, 0}} {
		if _, _, err := parseCredit(&channel.Envelope{Data: bad}); err == nil {
			t.Errorf("parseCredit(% X) accepted", bad)
		}
	}
}

func TestOneWayCost(t *testing.T) {
	for _, c := range []struct{ n, w, want int }{{10, 1024, 1}, {4095, 1024, 1}, {4096, 1024, 2}, {4 << 20, 1024, 1024}, {100, 1, 1}} {
		if got := oneWayCost(c.n, c.w); got != c.want {
			t.Errorf("oneWayCost(%d, %d) = %d, want %d", c.n, c.w, got, c.want)
		}
	}
}
