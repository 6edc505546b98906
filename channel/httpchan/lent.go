package httpchan

import (
	"errors"
	"io"
	"sync"
)

// errRevoked is what the transport reads from a request body taken back (see lentBody).
var errRevoked = errors.New("httpchan: the request was given up before its data was written")

// lentBody reads a request's data, which the caller lends only until Open returns (the
// buffer is pooled and reused). net/http may go on reading a body after RoundTrip gave
// up, from its own goroutine; so Open takes the data back (revoke) before it returns, and
// a later Read fails instead of reading a buffer that holds another message by then.
type lentBody struct {
	mu   sync.Mutex
	data []byte
	cut  bool // revoked with data left unread
}

func (b *lentBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.data) == 0 {
		if b.cut {
			return 0, errRevoked
		}
		return 0, io.EOF
	}
	n := copy(p, b.data)
	b.data = b.data[n:]
	return n, nil
}

func (b *lentBody) Close() error { return nil }

// revoke ends the loan: nothing of the data is read after it returns.
func (b *lentBody) revoke() {
	if b == nil {
		return
	}
	b.mu.Lock()
	b.cut = len(b.data) > 0
	b.data = nil
	b.mu.Unlock()
}
