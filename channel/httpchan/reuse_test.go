package httpchan_test

import (
	"context"
	"fmt"
	"io"
	"sync"
	"testing"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/channel/channeltest"
)

// pattern is n bytes that depend on seed and their position, so that bytes of another
// request show.
func pattern(seed byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i*7)
	}
	return b
}

func isPattern(b []byte) bool {
	for i := range b {
		if b[i] != b[0]+byte(i*7) {
			return false
		}
	}
	return true
}

// TestServerReuseKeepsRequestsApart: the server reuses envelopes, body buffers and reply
// writers of handlers that returned; concurrent calls of every mode and of sizes around
// the pooled buffer's bound each see their own bytes and get their own reply, and an ack
// handler still has its request intact after its ServeHTTP returned.
func TestServerReuseKeepsRequestsApart(t *testing.T) {
	channeltest.CheckLeaks(t)
	bad := make(chan string, 100)
	report := func(format string, args ...any) {
		select {
		case bad <- fmt.Sprintf(format, args...):
		default:
		}
	}
	var acks sync.WaitGroup
	ln := serve(t, channel.Config{MaxMessage: 64 << 10}, channel.HandlerFunc(func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
		if !isPattern(req.Data) {
			report("%s handler got mixed bytes (%d)", req.Mode, len(req.Data))
		}
		switch req.Mode {
		case channel.ModeAck:
			w.Send(ctx, &channel.Envelope{Type: channel.TypeAck})
			if !isPattern(req.Data) {
				report("ack handler's request changed after the ack (%d)", len(req.Data))
			}
			acks.Done()
		case channel.ModeStream:
			w.Send(ctx, &channel.Envelope{Type: channel.TypeItem, Data: req.Data})
			w.Send(ctx, &channel.Envelope{Type: channel.TypeEnd})
		case channel.ModeNoResponse:
		default:
			w.Send(ctx, &channel.Envelope{Type: channel.TypeResponse, Data: req.Data})
		}
	}))
	c := dial(t, ln.Addr(), channel.Config{MaxMessage: 64 << 10})
	sizes := []int{0, 1, 100, 4 << 10, 16<<10 - 1, 16 << 10, 16<<10 + 1, 40 << 10}
	modes := []channel.Mode{channel.ModeResponse, channel.ModeStream, channel.ModeAck, channel.ModeNoResponse}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := testCtx(t)
			for i := 0; i < 40; i++ {
				mode := modes[(g+i)%len(modes)]
				data := pattern(byte(g*40+i), sizes[(g*3+i)%len(sizes)])
				if mode == channel.ModeAck {
					acks.Add(1)
				}
				x, err := c.Open(ctx, &channel.Envelope{Type: channel.TypeRequest, Mode: mode, Method: "m", Data: data})
				if err != nil {
					t.Error(err)
					return
				}
				if x == nil {
					continue
				}
				for {
					r, err := x.Recv(ctx)
					if err == io.EOF {
						break
					}
					if err != nil {
						t.Error(err)
						break
					}
					if r.Type == channel.TypeItem || r.Type == channel.TypeResponse {
						if string(r.Data) != string(data) {
							report("%s call got %d bytes back, sent %d", mode, len(r.Data), len(data))
						}
					}
				}
				x.Close()
			}
		}()
	}
	wg.Wait()
	acks.Wait()
	close(bad)
	for msg := range bad {
		t.Error(msg)
	}
}
