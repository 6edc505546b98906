package channel_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/jesus-go/jesus/channel"
)

// FuzzParseEnvelope: parsing never panics, every failure wraps ErrMalformed, and an
// envelope that parses re-encodes to bytes that parse to the same envelope.
func FuzzParseEnvelope(f *testing.F) {
	f.Add(channel.AppendEnvelope(nil, full()))
	f.Add(channel.AppendEnvelope(nil, &channel.Envelope{Type: channel.TypeRequest}))
	f.Add(channel.AppendEnvelope(nil, &channel.Envelope{Type: channel.TypeCredit, ID: 300, Credits: 64}))
	f.Add([]byte{1, 1, 3, 0, 15, 4, 1, 'k', 'v', 'w', 0})
	f.Add([]byte{1, 1, 0, 0, 99, 1, 0, 0})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		var e channel.Envelope
		if err := channel.ParseEnvelope(b, &e); err != nil {
			if !errors.Is(err, channel.ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		// Data aliases b; copy so the comparison is not fooled by shared memory.
		if e.Data != nil {
			e.Data = append([]byte(nil), e.Data...)
		}
		b2 := channel.AppendEnvelope(nil, &e)
		if n := channel.EnvelopeSize(&e); n != len(b2) {
			t.Fatalf("EnvelopeSize %d, encoded %d", n, len(b2))
		}
		var e2 channel.Envelope
		if err := channel.ParseEnvelope(b2, &e2); err != nil {
			t.Fatalf("re-encoded envelope does not parse: %v\n%+v", err, e)
		}
		if !reflect.DeepEqual(e, e2) {
			t.Fatalf("re-parse differs:\n first  %+v\n second %+v", e, e2)
		}
		if len(b2) > len(b) {
			// Re-encoding drops unknown fields and never grows the envelope.
			t.Fatalf("re-encoding grew %d bytes to %d", len(b), len(b2))
		}
	})
}
