//go:build unix

package httpchan

import (
	"net"
	"syscall"
)

// peeker looks at an idle connection without blocking and without consuming anything.
type peeker struct {
	rc     syscall.RawConn
	look   func(fd uintptr) bool // p.peek, bound once
	closed bool
	b      [1]byte
}

func (p *peeker) init(nc net.Conn) {
	if sc, ok := nc.(syscall.Conn); ok {
		p.rc, _ = sc.SyscallConn()
	}
	p.look = p.peek
}

func (p *peeker) peek(fd uintptr) bool {
	n, _, err := syscall.Recvfrom(int(fd), p.b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	p.closed = n >= 0 && err == nil || err != nil && err != syscall.EAGAIN && err != syscall.EWOULDBLOCK && err != syscall.EINTR
	return true
}

// peerClosed reports whether an idle connection was closed by the server or has bytes
// waiting that no request asked for; either way it must not carry a request.
func (p *peeker) peerClosed() bool {
	if p.rc == nil {
		return false
	}
	p.closed = false
	err := p.rc.Read(p.look)
	return p.closed || err != nil
}
