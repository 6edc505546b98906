package framed

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/jesus-go/jesus/channel"
)

// Preface: 4 magic bytes, the protocol version, a reserved flags byte (0).
const (
	prefaceLen     = 6
	framedVersion  = 1
	frameHeaderLen = 4
	// growStep bounds the first allocation for a frame: a peer that declares a large frame
	// and then sends less than this costs no more than it; one that sends more holds the
	// declared size, charged to the listener's budget, for at most FrameTimeout.
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
	id   uint64
	msg  string
	code string // "" is channel.CodeInvalidArgument
}

func (e *protoError) Error() string { return "framed: " + e.msg }

// readFrame reads one frame from r into a pooled buffer and returns it with the bytes
// charged for it to lk's budget (which the caller releases with the buffer). The declared
// length is checked against max before anything is allocated; a frame larger than
// growStep is read into growStep bytes first, and only once more arrives into a buffer of
// its declared size, charged before it is allocated: over the budget the frame is refused
// (a protoError with CodeResourceExhausted). A frame not yet
// buffered whole must arrive within FrameTimeout. lk may be nil (no budget, no timeout).
func readFrame(r *bufio.Reader, max int, lk *link) (*[]byte, int64, error) {
	// Peek, not io.ReadFull into an array: the array would escape through io.Reader,
	// one allocation per frame.
	hdr, err := r.Peek(frameHeaderLen)
	if err != nil {
		if len(hdr) > 0 && err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, 0, err
	}
	n := binary.BigEndian.Uint32(hdr)
	r.Discard(frameHeaderLen)
	if n == 0 || uint64(n) > uint64(max) {
		return nil, 0, &protoError{msg: fmt.Sprintf("frame length %d is outside 1..%d (MaxMessage)", n, max)}
	}
	size := int(n)
	var budget *channel.Budget
	if lk != nil {
		budget = lk.budget
		if lk.cfg.FrameTimeout > 0 && r.Buffered() < size {
			lk.nc.SetReadDeadline(time.Now().Add(lk.cfg.FrameTimeout))
			defer lk.endFrameDeadline()
		}
	}
	first := min(size, growStep)
	bp := getBuf(first)
	charged := int64(cap(*bp))
	if !budget.Acquire(charged) {
		putBuf(bp)
		return nil, 0, overBudget(size, budget)
	}
	b := (*bp)[:0]
	for len(b) < size {
		if len(b) == cap(b) {
			// The first step is full: past it the frame gets its declared size at once
			// (growing by doubling would leave as much again in garbage, which the
			// budget cannot see), charged before the copy, when old and new are both held.
			if !budget.Acquire(int64(size)) {
				*bp = b
				putBuf(bp)
				budget.Release(charged)
				return nil, 0, overBudget(size, budget)
			}
			nb := make([]byte, len(b), size)
			copy(nb, b)
			*bp = b
			putBuf(bp)
			budget.Release(charged)
			b, charged = nb, int64(size)
			bp = &nb
		}
		want := min(size, cap(b))
		m, err := io.ReadFull(r, b[len(b):want])
		b = b[:len(b)+m]
		if err != nil {
			*bp = b
			putBuf(bp)
			budget.Release(charged)
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				err = fmt.Errorf("framed: a %d-byte frame did not arrive within FrameTimeout (%d bytes came): %w", size, len(b), err)
			}
			return nil, 0, err
		}
	}
	*bp = b
	return bp, charged, nil
}

func overBudget(size int, b *channel.Budget) error {
	return &protoError{code: channel.CodeResourceExhausted, msg: fmt.Sprintf(
		"a %d-byte frame would exceed the listener's memory budget of %d bytes (%d in use); retry later", size, b.Limit(), b.Used())}
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
