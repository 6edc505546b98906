package framed

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"strings"
	"time"

	"github.com/jesus-go/jesus/channel"
)

// clientTLS returns the client config for addr (channel.ClientTLS): the server name is
// the host of a tcp address, or "localhost" for a unix socket, when cfg leaves it empty.
func clientTLS(network, addr string, cfg *tls.Config) *tls.Config {
	name := "localhost"
	if network == "tcp" {
		if h, _, err := net.SplitHostPort(addr); err == nil {
			name = strings.Trim(h, "[]")
		}
	}
	return channel.ClientTLS(cfg, name)
}

// handshake runs the client side of TLS over nc, within ctx and nc's deadline.
func handshake(ctx context.Context, nc net.Conn, cfg *tls.Config) (net.Conn, error) {
	tc := tls.Client(nc, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		nc.Close()
		return nil, err
	}
	return tc, nil
}

// errTLSRequired is what a TLS listener answers a plaintext jesus client.
const errTLSRequired = "framed: this channel requires TLS; dial it with channel.Config.TLS set"

// refusePlaintext answers a plaintext jesus preface that reached a TLS listener with
// the server's preface and a connection error frame (id 0, unauthenticated), so that
// the client learns why instead of seeing the connection close. Anything else (a TLS
// handshake that failed) gets nothing more.
func refusePlaintext(err error) {
	var rh tls.RecordHeaderError
	if !errors.As(err, &rh) || rh.Conn == nil || !bytes.Equal(rh.RecordHeader[:4], magic[:]) {
		return
	}
	b := preface(0)
	f, ferr := appendFrame(&channel.Envelope{Type: channel.TypeError, ErrCode: channel.CodeUnauthenticated, ErrMessage: errTLSRequired}, 1<<10, "tcp frame")
	if ferr == nil {
		b = append(b, *f...)
		putBuf(f)
	}
	rh.Conn.SetWriteDeadline(time.Now().Add(time.Second))
	rh.Conn.Write(b)
}

// RefusedError is a server's refusal of a connection before any request, e.g. a TLS
// listener reached over plaintext. Code is the code of the refusal.
type RefusedError struct {
	Addr, Code, Message string
}

func (e *RefusedError) Error() string {
	return "framed: " + e.Addr + " refused the connection (" + e.Code + "): " + e.Message
}

// earlyRefusal reads the error frame that a server sends right behind a preface
// without the one-way flag when it refuses the connection. A server that accepts sends
// nothing unasked after such a preface, so bytes already there can only be that frame.
func earlyRefusal(br interface {
	Buffered() int
	Peek(int) ([]byte, error)
	Discard(int) (int, error)
}, flags byte, addr string) error {
	if flags&flagOneWay != 0 || br.Buffered() < frameHeaderLen {
		return nil
	}
	hdr, _ := br.Peek(frameHeaderLen)
	n := int(hdr[0])<<24 | int(hdr[1])<<16 | int(hdr[2])<<8 | int(hdr[3])
	if n > 1<<10 || br.Buffered() < frameHeaderLen+n {
		return nil
	}
	b, _ := br.Peek(frameHeaderLen + n)
	var e channel.Envelope
	if channel.ParseEnvelope(b[frameHeaderLen:], &e) != nil || e.Type != channel.TypeError || e.ID != 0 {
		return nil
	}
	br.Discard(frameHeaderLen + n)
	return &RefusedError{Addr: addr, Code: e.ErrCode, Message: e.ErrMessage}
}
