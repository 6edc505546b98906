package registry_test

import (
	"io"
	"net"
	"strings"
	"sync"
	"testing"
)

// partition is a TCP forwarder on loopback between a client and etcd that can cut
// the network (close every connection and refuse new ones) and heal it again.
type partition struct {
	l      net.Listener
	target string

	mu    sync.Mutex
	cut   bool
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

func newPartition(t testing.TB, endpoint string) *partition {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &partition{l: l, target: strings.TrimPrefix(endpoint, "http://"), conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *partition) endpoint() string { return "http://" + p.l.Addr().String() }

func (p *partition) accept() {
	defer p.wg.Done()
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.cut {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns[c] = struct{}{}
		p.wg.Add(1)
		p.mu.Unlock()
		go p.forward(c)
	}
}

func (p *partition) forward(c net.Conn) {
	defer p.wg.Done()
	u, err := net.Dial("tcp", p.target)
	if err == nil {
		p.mu.Lock()
		p.conns[u] = struct{}{}
		p.mu.Unlock()
		done := make(chan struct{})
		go func() {
			io.Copy(u, c)
			u.Close()
			close(done)
		}()
		io.Copy(c, u)
		c.Close()
		u.Close()
		<-done
	}
	c.Close()
	p.mu.Lock()
	delete(p.conns, c)
	if u != nil {
		delete(p.conns, u)
	}
	p.mu.Unlock()
}

// setCut cuts (true) or heals (false) the network.
func (p *partition) setCut(cut bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = cut
	if cut {
		for c := range p.conns {
			c.Close()
		}
	}
}

func (p *partition) close() {
	p.l.Close()
	p.setCut(true)
	p.wg.Wait()
}
