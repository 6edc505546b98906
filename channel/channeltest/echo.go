package channeltest

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sync"
)

// The raw echo is the floor that benchmarks hold a transport's round trip against: a
// message is a u32 big-endian length and that many bytes, sent back as it came, with no
// framing, dispatch or codec of any kind.

// MaxEcho is the largest message ServeEcho sends back; a longer one ends the connection.
const MaxEcho = 1 << 20

// ServeEchoes runs ServeEcho on every connection ln accepts, each in a goroutine, until
// stop, which closes ln and the connections still open and waits for the goroutines.
func ServeEchoes(ln net.Listener) (stop func()) {
	var (
		mu    sync.Mutex
		conns = map[net.Conn]struct{}{}
		wg    sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns[c] = struct{}{}
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { mu.Lock(); delete(conns, c); mu.Unlock(); c.Close() }()
				ServeEcho(c)
			}()
		}
	}()
	return func() {
		ln.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	}
}

// ServeEcho echoes length-prefixed messages on c until it fails or the peer goes away.
// It is the whole server side of one connection; c is the caller's to close.
func ServeEcho(c net.Conn) {
	var hdr [4]byte
	buf := make([]byte, 0, 4096)
	for {
		if _, err := io.ReadFull(c, hdr[:]); err != nil {
			return
		}
		n := binary.BigEndian.Uint32(hdr[:])
		if n > MaxEcho {
			return
		}
		if cap(buf) < 4+int(n) {
			buf = make([]byte, 4+int(n))
		}
		buf = buf[:4+int(n)]
		copy(buf, hdr[:])
		if _, err := io.ReadFull(c, buf[4:]); err != nil {
			return
		}
		if _, err := c.Write(buf); err != nil {
			return
		}
	}
}

// EchoConn is the caller's side of one raw echo connection; it reads its own replies.
// It is used by one goroutine at a time.
type EchoConn struct {
	C   net.Conn
	buf []byte
}

// RoundTrip sends msg (a u32 big-endian length, then that many bytes) and reads the echo.
func (e *EchoConn) RoundTrip(msg []byte) error {
	if _, err := e.C.Write(msg); err != nil {
		return err
	}
	var hdr [4]byte
	if _, err := io.ReadFull(e.C, hdr[:]); err != nil {
		return err
	}
	n := int(binary.BigEndian.Uint32(hdr[:]))
	if n != len(msg)-4 {
		return fmt.Errorf("echo: %d bytes back for %d sent", n, len(msg)-4)
	}
	if cap(e.buf) < n {
		e.buf = make([]byte, n)
	}
	_, err := io.ReadFull(e.C, e.buf[:n])
	return err
}
