package udpchan_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/channel/channeltest"
	"github.com/jesus-go/jesus/channel/udpchan"
)

// TestCloseFlushesQueue: noResponse datagrams that Open accepted are queued for the
// writer; Close sends every one of them before it closes the socket.
func TestCloseFlushesQueue(t *testing.T) {
	channeltest.CheckLeaks(t)
	sink, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	sink.SetReadBuffer(1 << 20)
	c, err := udpchan.Dial(context.Background(), sink.LocalAddr().String(), testConfig())
	if err != nil {
		t.Fatal(err)
	}
	const n = 200 // fewer than the queue holds, so no Open waits
	ctx := ctxT(t)
	for i := range n {
		req := &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeNoResponse, Method: "log.write", Data: []byte(fmt.Sprint("line ", i))}
		if _, err := c.Open(ctx, req); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if st := c.Stats(); st.Sent != n || st.Unsent != 0 {
		t.Fatalf("after Close: %+v, want %d sent, none unsent", st, n)
	}
	// In order, every one of them.
	buf := make([]byte, 2048)
	sink.SetReadDeadline(time.Now().Add(wait))
	for i := range n {
		k, _, err := sink.ReadFromUDP(buf)
		if err != nil {
			t.Fatalf("datagram %d: %v", i, err)
		}
		var env channel.Envelope
		if err := channel.ParseEnvelope(buf[:k], &env); err != nil {
			t.Fatalf("datagram %d: %v", i, err)
		}
		if want := fmt.Sprint("line ", i); string(env.Data) != want {
			t.Fatalf("datagram %d carries %q, want %q", i, env.Data, want)
		}
	}
	if _, err := c.Open(ctx, &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeNoResponse}); !errors.Is(err, channel.ErrClosed) {
		t.Fatalf("Open after Close: %v, want ErrClosed", err)
	}
}

// TestBatchedReadsKeepPeersApart: a listener reads many datagrams per system call; each
// must be answered to its own sender. Several raw sockets send bursts of ack requests
// with the same ids, so that one read batch mixes peers, and each must get exactly the
// acks of its own requests, on IPv4 and IPv6 loopback.
func TestBatchedReadsKeepPeersApart(t *testing.T) {
	for _, host := range []string{"127.0.0.1", "::1"} {
		t.Run(host, func(t *testing.T) {
			channeltest.CheckLeaks(t)
			ln, err := udpchan.Listen(context.Background(), net.JoinHostPort(host, "0"), testConfig())
			if err != nil {
				if host == "::1" {
					t.Skipf("no IPv6 loopback here: %v", err)
				}
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- ln.Serve(channel.HandlerFunc(ack)) }()
			defer func() {
				ln.Close()
				<-done
			}()
			const peers, burst = 4, 50
			var wg sync.WaitGroup
			errs := make(chan error, peers)
			for p := range peers {
				wg.Go(func() { errs <- burstOfAcks(ln.Addr(), p, burst) })
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			if st := ln.Stats(); st.Received != peers*burst || st.Duplicates != 0 {
				t.Fatalf("listener stats %+v, want %d received and no duplicates", st, peers*burst)
			}
		})
	}
}

// burstOfAcks sends ids 1..n as ack requests carrying the peer number p from one raw
// socket, then reads n acks and checks each id came back exactly once.
func burstOfAcks(addr string, p, n int) error {
	uc, err := net.Dial("udp", addr)
	if err != nil {
		return err
	}
	defer uc.Close()
	uc.(*net.UDPConn).SetReadBuffer(1 << 20)
	for id := 1; id <= n; id++ {
		b := channel.AppendEnvelope(nil, &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeAck, ID: uint64(id), Method: "svc.ack", Data: []byte(fmt.Sprint(p))})
		if _, err := uc.Write(b); err != nil {
			return err
		}
	}
	seen := map[uint64]bool{}
	buf := make([]byte, 2048)
	uc.SetReadDeadline(time.Now().Add(wait))
	for len(seen) < n {
		k, err := uc.Read(buf)
		if err != nil {
			return fmt.Errorf("peer %d: %d of %d acks: %w", p, len(seen), n, err)
		}
		var env channel.Envelope
		if err := channel.ParseEnvelope(buf[:k], &env); err != nil || env.Type != channel.TypeAck {
			return fmt.Errorf("peer %d: reply %v (%v), want an ack", p, env.Type, err)
		}
		if env.ID < 1 || env.ID > uint64(n) || seen[env.ID] {
			return fmt.Errorf("peer %d: ack for id %d: not sent or twice", p, env.ID)
		}
		seen[env.ID] = true
	}
	return nil
}
