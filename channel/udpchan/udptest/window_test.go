package udptest_test

import (
	"sync"
	"testing"
	"time"

	"github.com/jesus-go/jesus/channel/udpchan/udptest"
)

func TestWindowBoundsInFlight(t *testing.T) {
	w := udptest.NewWindow(8, time.Minute)
	msgs := make(chan int, 100)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range msgs {
			w.Give()
		}
	}()
	for i := range 1000 {
		w.Take()
		if len(msgs) > 8 {
			t.Fatalf("message %d: %d queued with a window of 8", i, len(msgs))
		}
		msgs <- i
	}
	close(msgs)
	w.Drain()
	wg.Wait()
	if w.Lost() != 0 {
		t.Fatalf("lost %d", w.Lost())
	}
}

func TestWindowWritesOffLost(t *testing.T) {
	w := udptest.NewWindow(4, 10*time.Millisecond)
	for range 4 {
		w.Take() // never given back: all four are lost
	}
	w.Take() // waits one stall, writes the four off
	w.Give()
	w.Drain()
	if w.Lost() != 4 {
		t.Fatalf("lost %d, want 4", w.Lost())
	}
}
