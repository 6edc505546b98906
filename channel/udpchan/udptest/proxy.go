// Package udptest has test helpers for udp channels: a lossy in-process UDP proxy that
// drops a chosen share of datagrams with a seeded random generator, so that loss and
// retransmission can be tested on loopback without network emulation, and a credit
// Window for benchmarks of one-way traffic.
package udptest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
)

// maxSessions bounds the client addresses one proxy tracks; datagrams from further
// clients are dropped (and counted).
const maxSessions = 1024

// Proxy forwards datagrams between clients and one target, both ways, dropping each
// with probability Drop. Every client address gets its own upstream socket, so the
// target sees one peer per client, as it would without the proxy. Methods are safe for
// concurrent use.
type Proxy struct {
	front  *net.UDPConn // where clients send
	target *net.UDPAddr

	mu       sync.Mutex
	rng      *rand.Rand
	drop     float64
	sessions map[netip.AddrPort]*net.UDPConn
	closed   bool

	wg                 sync.WaitGroup
	forwarded, dropped atomic.Uint64
}

// NewLossyProxy starts a proxy on 127.0.0.1:0 in front of target (host:port) that drops
// the share drop (0..1) of the datagrams going either way; seed makes the sequence of
// drop decisions repeatable. It stops when the test ends.
func NewLossyProxy(t testing.TB, target string, drop float64, seed int64) *Proxy {
	t.Helper()
	p, err := Start(target, drop, seed)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// Start is NewLossyProxy outside a test: the caller stops the proxy with Close.
func Start(target string, drop float64, seed int64) (*Proxy, error) {
	if drop < 0 || drop > 1 {
		return nil, fmt.Errorf("udptest: drop share %v is outside 0..1", drop)
	}
	ta, err := net.ResolveUDPAddr("udp", target)
	if err != nil {
		return nil, fmt.Errorf("udptest: resolve target %q: %w", target, err)
	}
	front, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, fmt.Errorf("udptest: listen: %w", err)
	}
	p := &Proxy{
		front:    front,
		target:   ta,
		rng:      rand.New(rand.NewPCG(uint64(seed), uint64(seed)^0x9e3779b97f4a7c15)),
		drop:     drop,
		sessions: make(map[netip.AddrPort]*net.UDPConn),
	}
	p.wg.Add(1)
	go p.frontLoop()
	return p, nil
}

// Addr is the address clients send to instead of the target.
func (p *Proxy) Addr() string { return p.front.LocalAddr().String() }

// Forwarded is the number of datagrams passed on, both ways.
func (p *Proxy) Forwarded() uint64 { return p.forwarded.Load() }

// Dropped is the number of datagrams dropped, both ways.
func (p *Proxy) Dropped() uint64 { return p.dropped.Load() }

// SetDrop changes the share of datagrams dropped from now on; it is clamped to 0..1.
func (p *Proxy) SetDrop(drop float64) {
	p.mu.Lock()
	p.drop = min(max(drop, 0), 1)
	p.mu.Unlock()
}

// Close stops the proxy and waits for its goroutines. Safe to call more than once.
func (p *Proxy) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	p.front.Close()
	for _, up := range p.sessions {
		up.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// lose decides the fate of one datagram.
func (p *Proxy) lose() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drop > 0 && p.rng.Float64() < p.drop {
		p.dropped.Add(1)
		return true
	}
	return false
}

func (p *Proxy) frontLoop() {
	defer p.wg.Done()
	buf := make([]byte, 64<<10)
	for {
		n, from, err := p.front.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		up := p.session(from)
		if up == nil || p.lose() {
			continue
		}
		// Counted before the write, so that whoever receives the datagram sees the count.
		p.forwarded.Add(1)
		if _, err := up.Write(buf[:n]); err != nil {
			p.forwarded.Add(^uint64(0)) // minus one
		}
	}
}

// session returns the upstream socket of client from, creating it on first use.
func (p *Proxy) session(from netip.AddrPort) *net.UDPConn {
	p.mu.Lock()
	defer p.mu.Unlock()
	if up, ok := p.sessions[from]; ok || p.closed {
		return up
	}
	if len(p.sessions) >= maxSessions {
		p.dropped.Add(1)
		return nil
	}
	up, err := net.DialUDP("udp", nil, p.target)
	if err != nil { // out of sockets: the datagram is lost, like any other
		p.dropped.Add(1)
		return nil
	}
	p.sessions[from] = up
	p.wg.Add(1)
	go p.backLoop(up, from)
	return up
}

// backLoop carries the target's datagrams for one client back to it.
func (p *Proxy) backLoop(up *net.UDPConn, client netip.AddrPort) {
	defer p.wg.Done()
	buf := make([]byte, 64<<10)
	for {
		n, err := up.Read(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // ECONNREFUSED: the target is not up (yet)
		}
		if p.lose() {
			continue
		}
		p.forwarded.Add(1)
		if _, err := p.front.WriteToUDPAddrPort(buf[:n], client); err != nil {
			p.forwarded.Add(^uint64(0)) // minus one
		}
	}
}
