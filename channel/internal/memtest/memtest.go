// Package memtest measures the memory a test makes a server hold: the peak of the Go heap
// in use and of the process's resident set while a load runs, sampled. Tests of limits use
// it to check that what a peer can make a server hold is what the limits say.
package memtest

import (
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Figures are heap in use and resident set sizes in bytes.
type Figures struct {
	HeapBefore, HeapPeak uint64
	RSSBefore, RSSPeak   uint64
}

// HeapGrowth is the peak heap in use above where it started.
func (f Figures) HeapGrowth() int64 { return int64(f.HeapPeak) - int64(f.HeapBefore) }

// RSSGrowth is the peak resident set above where it started.
func (f Figures) RSSGrowth() int64 { return int64(f.RSSPeak) - int64(f.RSSBefore) }

// String formats the figures in MiB.
func (f Figures) String() string {
	mib := func(n int64) string { return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) }
	return "heap " + mib(int64(f.HeapBefore)) + " -> peak " + mib(int64(f.HeapPeak)) + " MiB (+" + mib(f.HeapGrowth()) +
		"), RSS " + mib(int64(f.RSSBefore)) + " -> peak " + mib(int64(f.RSSPeak)) + " MiB (+" + mib(f.RSSGrowth()) + ")"
}

// Sampler samples the heap and RSS every interval until Stop.
type Sampler struct {
	f    Figures
	mu   sync.Mutex
	stop chan struct{}
	done chan struct{}
}

// Start collects garbage (twice: pooled buffers survive one collection), returns what it
// can to the OS, records the starting figures and begins sampling.
func Start(interval time.Duration) *Sampler {
	debug.FreeOSMemory()
	debug.FreeOSMemory()
	s := &Sampler{stop: make(chan struct{}), done: make(chan struct{})}
	s.f.HeapBefore, s.f.RSSBefore = heapInuse(), RSS()
	s.f.HeapPeak, s.f.RSSPeak = s.f.HeapBefore, s.f.RSSBefore
	go func() {
		defer close(s.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			s.sample()
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// Sample records the current figures now (e.g. at a moment the test knows is the worst).
func (s *Sampler) Sample() { s.sample() }

func (s *Sampler) sample() {
	h, r := heapInuse(), RSS()
	s.mu.Lock()
	s.f.HeapPeak, s.f.RSSPeak = max(s.f.HeapPeak, h), max(s.f.RSSPeak, r)
	s.mu.Unlock()
}

// Settle samples until the heap stops growing (no new MiB for half a second) or wait
// passes: the load has taken what it is going to take.
func (s *Sampler) Settle(wait time.Duration) {
	deadline := time.Now().Add(wait)
	var last uint64
	for stable := 0; stable < 10 && time.Now().Before(deadline); {
		s.sample()
		if f := s.Peek(); f.HeapPeak > last+1<<20 {
			last, stable = f.HeapPeak, 0
		} else {
			stable++
		}
		time.Sleep(50 * time.Millisecond) // polling the heap: there is nothing to wait on
	}
}

// Peek returns the figures so far.
func (s *Sampler) Peek() Figures {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.f
}

// Stop ends sampling and returns the figures.
func (s *Sampler) Stop() Figures {
	close(s.stop)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.f
}

func heapInuse() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// RSS is the resident set of this process in bytes, 0 where /proc is not there.
func RSS() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseUint(f[1], 10, 64)
	return pages * uint64(os.Getpagesize())
}
