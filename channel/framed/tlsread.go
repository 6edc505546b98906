package framed

import (
	"bufio"
	"crypto/tls"
	"net"
)

// A server runs a request on the connection's reader when nothing else waits to be read
// behind it (dispatch). Over TLS, what waits can hide inside tls.Conn: records it read
// from the socket but has not decrypted yet, and plaintext of a record that did not fit
// the caller's buffer. tlsListener makes both visible: its connections hand tls.Conn one
// record at a time from a buffer the server can see (recordConn), and the server reads
// tls.Conn through tlsTail, which notes when a read may have left plaintext behind.

// recordHeaderLen is the length of a TLS record header: type, version (2), length (2).
const recordHeaderLen = 5

// tlsListener is tls.NewListener over recordConns.
type tlsListener struct {
	net.Listener
	cfg *tls.Config
}

func (l *tlsListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return tls.Server(newRecordConn(c), l.cfg), nil
}

// recordConn is a net.Conn whose reads never run past the end of the TLS record they are
// in: tls.Conn then holds no record beyond the one it is decrypting, and whatever came
// from the socket and was not handed to it yet is in rb.
type recordConn struct {
	net.Conn
	rb   *bufio.Reader
	left int // bytes of the current record not yet read; 0 at a record boundary
}

func newRecordConn(c net.Conn) *recordConn {
	return &recordConn{Conn: c, rb: bufio.NewReaderSize(c, 8<<10)}
}

func (c *recordConn) Read(p []byte) (int, error) {
	if c.left == 0 {
		hdr, err := c.rb.Peek(recordHeaderLen)
		if len(hdr) < recordHeaderLen {
			return 0, err // a deadline, or the end: the bytes stay in rb
		}
		c.left = recordHeaderLen + (int(hdr[3])<<8 | int(hdr[4]))
	}
	if len(p) > c.left {
		p = p[:c.left]
	}
	n, err := c.rb.Read(p)
	c.left -= n
	return n, err
}

// idle reports whether no byte read from the socket waits for tls.Conn. Only the reader
// of the connection may call it.
func (c *recordConn) idle() bool { return c.left == 0 && c.rb.Buffered() == 0 }

// tlsTail reads a tls.Conn whose transport is a recordConn and tells whether anything
// read from the socket is still inside TLS.
type tlsTail struct {
	tc   *tls.Conn
	rc   *recordConn
	full bool // the last read filled its buffer: tls.Conn may hold more plaintext
}

// newTLSTail returns the tail of nc, or nil when nc is not a TLS connection of a
// tlsListener.
func newTLSTail(nc net.Conn) *tlsTail {
	tc, ok := nc.(*tls.Conn)
	if !ok {
		return nil
	}
	rc, ok := tc.NetConn().(*recordConn)
	if !ok {
		return nil
	}
	return &tlsTail{tc: tc, rc: rc}
}

func (t *tlsTail) Read(p []byte) (int, error) {
	n, err := t.tc.Read(p)
	// tls.Conn.Read copies min(len(p), what the record left): less than len(p) means it
	// gave all it had.
	t.full = n == len(p)
	return n, err
}

// idle reports whether nothing read from the socket waits inside TLS: no plaintext in
// tls.Conn, no record bytes behind it. Only the reader of the connection may call it.
func (t *tlsTail) idle() bool { return !t.full && t.rc.idle() }
