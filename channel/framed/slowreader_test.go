package framed_test

import (
	"context"
	"runtime/debug"
	"testing"
	"time"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/channel/framed"
	"github.com/jesus-go/jesus/channel/internal/memtest"
)

// One pipelining connection that never reads holds at most about MaxPendingBytes of the
// server's memory: queued replies count at the capacity of their buffers, not their length
// (small replies sit in 512-byte pooled buffers), and the connection is dropped at the limit.
func TestSlowReaderHoldsWhatTheLimitSays(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(10)) // garbage should not hide what is held
	cfg := channel.Config{}.WithDefaults()           // MaxPendingBytes 16 MiB
	reply := make([]byte, 200)                       // about 230 bytes on the wire
	ln := serveOn(t, context.Background(), framed.TCP(), "127.0.0.1:0", cfg, channel.HandlerFunc(func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
		w.Send(ctx, &channel.Envelope{Type: channel.TypeResponse, Data: reply})
	}))
	p := greeted(t, ln.Addr())
	m := memtest.Start(2 * time.Millisecond)
	// Pipeline requests in batches until the server drops the connection; never read.
	var batch []byte
	dropped := false
	deadline := time.Now().Add(20 * time.Second)
	for id := uint64(1); time.Now().Before(deadline); {
		batch = batch[:0]
		for i := 0; i < 512; i++ {
			batch = append(batch, frame(&channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeResponse, ID: id, Method: "m"})...)
			id++
		}
		p.nc.SetWriteDeadline(time.Now().Add(2 * time.Second))
		if _, err := p.nc.Write(batch); err != nil {
			dropped = true
			break
		}
		m.Sample()
	}
	f := m.Stop()
	if !dropped {
		t.Fatal("the server kept a connection that never reads")
	}
	t.Logf("one never-reading pipelining connection, MaxPendingBytes %d MiB: %s", cfg.MaxPendingBytes>>20, f)
	// What the queue may hold, plus the socket's and a little of everything else.
	if limit := int64(cfg.MaxPendingBytes) * 3 / 2; f.HeapGrowth() > limit {
		t.Fatalf("heap grew by %d bytes, over 1.5x MaxPendingBytes (%d)", f.HeapGrowth(), cfg.MaxPendingBytes)
	}
}
