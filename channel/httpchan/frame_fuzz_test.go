package httpchan

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/jesus-go/jesus/channel"
)

// FuzzStreamFrames feeds arbitrary stream bodies to the client's frame reader: it never
// panics, never allocates past what arrived or the limit, and stops with io.EOF or an error.
func FuzzStreamFrames(f *testing.F) {
	item := appendFrame(nil, &channel.Envelope{Type: channel.TypeItem, Mode: channel.ModeStream, Codec: "json", Data: []byte(`{"n":1}`)})
	end := appendFrame(nil, &channel.Envelope{Type: channel.TypeEnd, Mode: channel.ModeStream})
	f.Add(append(append([]byte{}, item...), end...))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 1, 4})
	f.Add([]byte{0, 0, 0, 0})
	f.Add(item[:len(item)-1])
	f.Add(appendFrame(nil, &channel.Envelope{Type: channel.TypeRequest}))
	f.Fuzz(func(t *testing.T, body []byte) {
		const limit = 1 << 12
		fr := &frameReader{r: bytes.NewReader(body), limit: limit}
		var e channel.Envelope
		for i := 0; ; i++ {
			err := fr.next(&e)
			if cap(fr.buf) > limit {
				t.Fatalf("buffer grew to %d bytes, limit %d", cap(fr.buf), limit)
			}
			if err == io.EOF {
				return
			}
			if err != nil {
				var tl *channel.TooLargeError
				if !errors.Is(err, channel.ErrMalformed) && !errors.As(err, &tl) && !bytes.HasPrefix([]byte(err.Error()), []byte("httpchan: ")) {
					t.Fatalf("unclear error: %v", err)
				}
				return
			}
			if e.Type != channel.TypeItem && e.Type != channel.TypeEnd && e.Type != channel.TypeError {
				t.Fatalf("accepted a %s frame", e.Type)
			}
			if i > len(body) {
				t.Fatal("more frames than bytes")
			}
		}
	})
}
