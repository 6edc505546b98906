package httpchan

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/jesus-go/jesus/channel"
)

// frameHeader is the size of the length prefix of a stream frame.
const frameHeader = 4

// appendFrame appends length:u32be and the binary form of e to dst.
func appendFrame(dst []byte, e *channel.Envelope) []byte {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	dst = channel.AppendEnvelope(dst, e)
	binary.BigEndian.PutUint32(dst[start:], uint32(len(dst)-start-frameHeader))
	return dst
}

// frameReader reads the frames of a stream reply body. The envelope it returns aliases
// its buffer until the next call.
type frameReader struct {
	r     io.Reader
	limit int
	hdr   [frameHeader]byte
	buf   []byte
}

// next reads one frame into e. It returns io.EOF at a clean end of the body before any
// byte of a frame, and a clear error for a short, oversized or malformed frame or an
// envelope type a stream cannot carry.
func (fr *frameReader) next(e *channel.Envelope) error {
	if _, err := io.ReadFull(fr.r, fr.hdr[:]); err != nil {
		if err == io.EOF {
			return io.EOF
		}
		if err == io.ErrUnexpectedEOF {
			return errors.New("httpchan: stream body ends inside a frame header")
		}
		return err
	}
	n := binary.BigEndian.Uint32(fr.hdr[:])
	if n == 0 {
		return fmt.Errorf("%w: httpchan: empty stream frame", channel.ErrMalformed)
	}
	if uint64(n) > uint64(fr.limit) {
		return &channel.TooLargeError{Size: int(n), Limit: fr.limit, Where: "http stream frame"}
	}
	if cap(fr.buf) < int(n) {
		// Grow by at most what has arrived so far: a frame that claims a large length but
		// never delivers it must not make us allocate the claimed size up front.
		fr.buf = make([]byte, 0, min(int(n), max(4096, 2*cap(fr.buf))))
	}
	fr.buf = fr.buf[:0]
	for len(fr.buf) < int(n) {
		if len(fr.buf) == cap(fr.buf) {
			fr.buf = append(fr.buf, 0)[:len(fr.buf)]
		}
		k, err := fr.r.Read(fr.buf[len(fr.buf):min(cap(fr.buf), int(n))])
		fr.buf = fr.buf[:len(fr.buf)+k]
		if err != nil && len(fr.buf) < int(n) {
			if err == io.EOF {
				return fmt.Errorf("httpchan: stream body ends inside a frame (%d of %d bytes)", len(fr.buf), n)
			}
			return err
		}
	}
	if err := channel.ParseEnvelope(fr.buf, e); err != nil {
		return err
	}
	switch e.Type {
	case channel.TypeItem, channel.TypeEnd, channel.TypeError:
		return nil
	}
	return fmt.Errorf("%w: httpchan: %s envelope in a stream body (want item, end or error)", channel.ErrMalformed, e.Type)
}
