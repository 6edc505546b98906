package framed

import (
	"bufio"
	"bytes"
	"testing"

	"github.com/jesus-go/jesus/channel"
)

// FuzzEarlyRefusal: whatever a server sends behind its preface, reading a refusal
// neither panics nor reads past what is buffered, and yields a RefusedError only for an
// error frame with id 0.
func FuzzEarlyRefusal(f *testing.F) {
	refusal, _ := appendFrame(&channel.Envelope{Type: channel.TypeError, ErrCode: channel.CodeUnauthenticated, ErrMessage: errTLSRequired}, 1<<10, "tcp frame")
	f.Add(bytes.Clone(*refusal), byte(0))
	f.Add(bytes.Clone(*refusal), byte(flagOneWay))
	f.Add([]byte{0, 0, 0, 1, 0xff}, byte(0))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff}, byte(0))
	f.Fuzz(func(t *testing.T, b []byte, flags byte) {
		br := bufio.NewReaderSize(bytes.NewReader(b), 4096)
		br.Peek(min(len(b), 4096)) // what arrived with the preface
		before := br.Buffered()
		err := earlyRefusal(br, flags, "127.0.0.1:1")
		used := before - br.Buffered()
		if err == nil {
			return
		}
		re, ok := err.(*RefusedError)
		if !ok || flags&flagOneWay != 0 {
			t.Fatalf("earlyRefusal = %v with flags %x", err, flags)
		}
		var e channel.Envelope
		if used < frameHeaderLen || channel.ParseEnvelope(b[frameHeaderLen:used], &e) != nil || e.Type != channel.TypeError || e.ID != 0 || e.ErrCode != re.Code {
			t.Fatalf("refusal %+v from bytes that are not an error frame", re)
		}
	})
}
