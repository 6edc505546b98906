package framed_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/channel/framed"

	"github.com/jesus-go/jesus/channel/channeltest"
)

// BenchmarkLatency measures one caller's request/response round trip of a 250-byte
// message over tcp beside a raw TCP echo (a u32 length and the bytes, one goroutine per
// connection on the server, the caller reading its own reply), the floor of a round trip
// over loopback. The two alternate call by call, so that both see the same machine; it
// reports both medians and their ratio (framed ÷ raw).
func BenchmarkLatency(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a ctx that can end, as callers' do
	defer cancel()
	c := benchConn(b, framed.TCP(), benchEcho, channel.Config{PoolSize: 1})
	data := make([]byte, 250)
	call := channeltest.SizedCall(ctx, c, channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeResponse, Method: "bench.echo", Data: data})
	echo := startRawEcho(b)
	msg := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	msg = append(msg, data...)
	for range 100 { // dial and warm both outside the measurement
		if err := call(); err != nil {
			b.Fatal(err)
		}
		if err := echo.RoundTrip(msg); err != nil {
			b.Fatal(err)
		}
	}
	fl := make([]time.Duration, b.N)
	rl := make([]time.Duration, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		t0 := time.Now()
		if err := call(); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := echo.RoundTrip(msg); err != nil {
			b.Fatal(err)
		}
		fl[i], rl[i] = t1.Sub(t0), time.Since(t1)
	}
	b.StopTimer()
	slices.Sort(fl)
	slices.Sort(rl)
	fp, rp := fl[len(fl)/2], rl[len(rl)/2]
	b.ReportMetric(float64(fp.Nanoseconds())/1e3, "framed-p50-µs")
	b.ReportMetric(float64(rp.Nanoseconds())/1e3, "raw-p50-µs")
	b.ReportMetric(float64(fp)/float64(rp), "p50-ratio")
	b.ReportMetric(float64(fl[len(fl)*99/100].Nanoseconds())/1e3, "framed-p99-µs")
	b.ReportMetric(float64(rl[len(rl)*99/100].Nanoseconds())/1e3, "raw-p99-µs")
	b.ReportMetric(float64(fl[len(fl)-1].Nanoseconds())/1e3, "framed-max-µs")
}

// startRawEcho serves a raw TCP echo on loopback and returns a connection to it; both
// end with the benchmark.
func startRawEcho(b *testing.B) *channeltest.EchoConn {
	b.Helper()
	nl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	stop := channeltest.ServeEchoes(nl)
	c, err := net.Dial("tcp", nl.Addr().String())
	if err != nil {
		stop()
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close(); stop() })
	return &channeltest.EchoConn{C: c}
}

// BenchmarkStreams measures server streams of 1000 items of 60 bytes with 1 and 64
// streams at once over one Conn (the default pool of 2 connections): one op is one item.
// It reports items per second and allocations per item (both ends).
func BenchmarkStreams(b *testing.B) {
	for _, streams := range []int{1, 64} {
		b.Run(fmt.Sprintf("streams=%d", streams), func(b *testing.B) { benchStreams(b, streams) })
	}
}

const streamLen = 1000

func benchStreams(b *testing.B, streams int) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	item := make([]byte, 60)
	c := benchConn(b, framed.TCP(), channel.HandlerFunc(func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
		for range streamLen {
			if w.Send(ctx, &channel.Envelope{Type: channel.TypeItem, Data: item}) != nil {
				return
			}
		}
		w.Send(ctx, &channel.Envelope{Type: channel.TypeEnd})
	}), channel.Config{})
	stream := func() error {
		n, err := channeltest.CountStream(ctx, c, &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeStream, Method: "bench.items"})
		if err == nil && n != streamLen {
			err = fmt.Errorf("stream ended after %d items", n)
		}
		return err
	}
	for range 2 { // dial both connections outside the measurement
		if err := stream(); err != nil {
			b.Fatal(err)
		}
	}
	total := max(streams, (b.N+streamLen-1)/streamLen)
	var next atomic.Int64
	var firstErr atomic.Value
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	var wg sync.WaitGroup
	for range streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(total) {
				if err := stream(); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed, cpu := time.Since(start), cpuTime()-cpu0
	b.StopTimer()
	runtime.ReadMemStats(&ms1)
	if err, _ := firstErr.Load().(error); err != nil {
		b.Fatal(err)
	}
	items := float64(total * streamLen)
	b.ReportMetric(items/elapsed.Seconds(), "items/s")
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/items, "allocs/item")
	b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/items, "B/item")
	b.ReportMetric(float64(cpu.Nanoseconds())/items, "cpu-ns/item")
}

// cpuTime is the CPU time (user and system) of the process so far: unlike a rate, it
// barely moves when other work shares the machine.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
