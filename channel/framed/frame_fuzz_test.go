package framed

import (
	"bufio"
	"errors"
	"io"
	"testing"

	"github.com/jesus-go/jesus/channel"
)

// pieces is a reader that returns data in the sizes the fuzzer chose.
type pieces struct {
	data  []byte
	sizes []byte
}

func (p *pieces) Read(b []byte) (int, error) {
	if len(p.data) == 0 {
		return 0, io.EOF
	}
	n := len(p.data)
	if len(p.sizes) > 0 {
		n = int(p.sizes[0]) + 1
		p.sizes = p.sizes[1:]
	}
	n = min(n, len(b), len(p.data))
	copy(b, p.data[:n])
	p.data = p.data[n:]
	return n, nil
}

// FuzzFrameReader feeds arbitrary bytes, split at fuzzer-chosen points, through the
// frame reader and envelope parser the way a connection's reader does. It must not
// panic, allocate past the limit, or loop without consuming input.
func FuzzFrameReader(f *testing.F) {
	const limit = 1 << 10
	valid := func(e *channel.Envelope) []byte {
		b, err := appendFrame(e, limit, "tcp frame")
		if err != nil {
			f.Fatal(err)
		}
		return append([]byte(nil), *b...)
	}
	req := valid(&channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeResponse, ID: 1, Method: "m", Data: []byte("hello")})
	two := append(append([]byte(nil), req...), valid(&channel.Envelope{Type: channel.TypeCredit, ID: 1, Credits: 8})...)
	f.Add(req, []byte{0, 1, 2})
	f.Add(two, []byte{3})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 1, 1}, []byte{})
	f.Add([]byte{0, 0, 4, 0, 1, 1, 3, 1}, []byte{0, 0, 0})
	f.Add([]byte{0, 0, 0, 0}, []byte{})
	f.Add(req[:len(req)-2], []byte{1})
	f.Fuzz(func(t *testing.T, data, sizes []byte) {
		br := bufio.NewReaderSize(&pieces{data: data, sizes: sizes}, 64)
		// A budget smaller than the 4 KiB tier: some frames are refused. Whatever
		// happens, every byte charged comes back.
		lk := &link{cfg: &channel.Config{}, budget: channel.NewBudget(2 << 10)}
		defer func() {
			if used := lk.budget.Used(); used != 0 {
				t.Fatalf("%d bytes of the budget not given back", used)
			}
		}()
		consumed := 0
		for frames := 0; ; frames++ {
			if frames > len(data) {
				t.Fatalf("%d frames from %d bytes", frames, len(data))
			}
			b, charged, err := readFrame(br, limit, lk)
			if err != nil {
				var pe *protoError
				if errors.As(err, &pe) || err == io.EOF || err == io.ErrUnexpectedEOF {
					return
				}
				t.Fatalf("unexpected error %v", err)
			}
			if len(*b) == 0 || len(*b) > limit || cap(*b) > tierSizes[tierOf(limit)] {
				t.Fatalf("frame of %d bytes in a buffer of %d, limit %d", len(*b), cap(*b), limit)
			}
			consumed += 4 + len(*b)
			if consumed > len(data) {
				t.Fatalf("read %d bytes of frames from %d bytes of input", consumed, len(data))
			}
			var e channel.Envelope
			if err := channel.ParseEnvelope(*b, &e); err != nil && !errors.Is(err, channel.ErrMalformed) {
				t.Fatalf("parse error %v does not wrap ErrMalformed", err)
			}
			if charged != int64(cap(*b)) {
				t.Fatalf("a buffer of %d bytes charged %d", cap(*b), charged)
			}
			putBuf(b)
			lk.budget.Release(charged)
		}
	})
}

func TestFrameRoundTrip(t *testing.T) {
	e := &channel.Envelope{Type: channel.TypeItem, Mode: channel.ModeStream, ID: 9, Data: make([]byte, 200<<10)}
	b, err := appendFrame(e, 1<<20, "tcp frame")
	if err != nil {
		t.Fatal(err)
	}
	// Arrives in 1000-byte pieces: the buffer grows with the data.
	got, _, err := readFrame(bufio.NewReader(&pieces{data: *b, sizes: []byte{}}), 1<<20, nil)
	if err != nil {
		t.Fatal(err)
	}
	var out channel.Envelope
	if err := channel.ParseEnvelope(*got, &out); err != nil || out.ID != 9 || len(out.Data) != 200<<10 {
		t.Fatalf("%+v %v", out.ID, err)
	}
	if _, err := appendFrame(e, 100<<10, "unix frame"); !errors.Is(err, channel.ErrTooLarge) {
		t.Fatalf("appendFrame over the limit: %v", err)
	}
}
