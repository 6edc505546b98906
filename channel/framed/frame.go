package framed

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/jesus-go/jesus/channel"
)

// Preface: 4 magic bytes, the protocol version, a reserved flags byte (0).
const (
	prefaceLen     = 6
	framedVersion  = 1
	frameHeaderLen = 4
	// growStep bounds the first allocation for a frame: a peer that declares a large frame
	// and then sends little of it costs memory for what it sent, not what it declared.
	growStep = 64 << 10
)

var magic = [4]byte{'J', 'S', 'U', 'S'}

// preface returns the connection preface with the given flags (flagOneWay).
func preface(flags byte) []byte {
	return []byte{magic[0], magic[1], magic[2], magic[3], framedVersion, flags}
}

// errNotJesus is returned when the peer's preface does not start with the magic.
var errNotJesus = errors.New("framed: peer did not send the jesus preface")

func checkPreface(b []byte) error {
	if len(b) != prefaceLen || [4]byte(b[:4]) != magic {
		return errNotJesus
	}
	if b[4] != framedVersion {
		return fmt.Errorf("framed: peer speaks protocol version %d, want %d", b[4], framedVersion)
	}
	return nil
}

// protoError is a violation of the framing by the peer: the reader answers it with a
// TypeError (CodeInvalidArgument, id when known) and closes the connection.
type protoError struct {
	id  uint64
	msg string
}

func (e *protoError) Error() string { return "framed: " + e.msg }

// readFrame reads one frame from r into a pooled buffer and returns it. The declared
// length is checked against max before anything is allocated, and the buffer grows
// with the bytes that actually arrive.
func readFrame(r *bufio.Reader, max int) (*[]byte, error) {
	// Peek, not io.ReadFull into an array: the array would escape through io.Reader,
	// one allocation per frame.
	hdr, err := r.Peek(frameHeaderLen)
	if err != nil {
		if len(hdr) > 0 && err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	n := binary.BigEndian.Uint32(hdr)
	r.Discard(frameHeaderLen)
	if n == 0 || uint64(n) > uint64(max) {
		return nil, &protoError{msg: fmt.Sprintf("frame length %d is outside 1..%d (MaxMessage)", n, max)}
	}
	size := int(n)
	first := size
	if first > growStep {
		first = growStep
	}
	bp := getBuf(first)
	b := (*bp)[:0]
	for len(b) < size {
		want := size
		if cap(b) < want {
			// Double, but never past the declared size.
			nc := 2 * cap(b)
			if nc > size {
				nc = size
			}
			if nc > cap(b) {
				nb := make([]byte, len(b), nc)
				copy(nb, b)
				b = nb
			}
			want = cap(b)
		}
		m, err := io.ReadFull(r, b[len(b):want])
		b = b[:len(b)+m]
		if err != nil {
			*bp = b
			putBuf(bp)
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
	*bp = b
	return bp, nil
}

// appendFrame encodes e as a frame into a pooled buffer, or returns a *channel.TooLargeError
// naming where when the envelope exceeds max.
func appendFrame(e *channel.Envelope, max int, where string) (*[]byte, error) {
	bp := getBuf(frameHeaderLen + 64 + len(e.Data) + len(e.Method) + len(e.ErrMessage) + len(e.ErrDetails))
	b := append((*bp)[:0], 0, 0, 0, 0)
	b = channel.AppendEnvelope(b, e)
	n := len(b) - frameHeaderLen
	if n > max {
		*bp = b
		putBuf(bp)
		return nil, &channel.TooLargeError{Size: n, Limit: max, Where: where,
			Hint: "raise Config.MaxMessage on both ends or send the data in a stream"}
	}
	binary.BigEndian.PutUint32(b, uint32(n))
	*bp = b
	return bp, nil
}
