package codec_test

import (
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jesus-go/jesus/codec"
)

// checkGoroutines fails the test if it ends with more goroutines than it started with,
// after a bounded wait for those that are finishing.
func checkGoroutines(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for {
			n := runtime.NumGoroutine()
			if n <= before {
				return
			}
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				buf = buf[:runtime.Stack(buf, true)]
				t.Errorf("%d goroutines leaked:\n%s", n-before, buf)
				return
			}
			time.Sleep(5 * time.Millisecond) // polling: goroutine exits cannot be waited on
		}
	})
}

// Many goroutines share one registry from its first use: lazily created encoders,
// pools and the pipeline cache must hold up under -race and leave no goroutine behind.
func TestConcurrentUse(t *testing.T) {
	checkGoroutines(t)
	r := codec.NewRegistry(codec.Limits{})
	want := sampleOrder(20)
	want.Created = want.Created.UTC()
	var names []string
	for _, s := range serializers() {
		for _, c := range compressors() {
			names = append(names, s+"+"+c)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte
			for i := range 40 {
				p, err := r.Pipeline(names[(g+i)%len(names)])
				if err != nil {
					errs <- err.Error()
					return
				}
				buf, err = p.Marshal(buf[:0], want)
				if err != nil {
					errs <- err.Error()
					return
				}
				var got order
				if err := p.Unmarshal(buf, &got); err != nil {
					errs <- p.Name() + ": " + err.Error()
					return
				}
				got.Created = got.Created.UTC()
				if !reflect.DeepEqual(got, want) {
					errs <- p.Name() + ": round trip differs"
					return
				}
				if _, err := p.UnmarshalValue(buf); err != nil {
					errs <- p.Name() + ": " + err.Error()
					return
				}
				if _, err := p.Decompress(nil, []byte("junk")); err == nil && p.Compressor().Name() != "none" {
					errs <- p.Name() + ": junk accepted"
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	var all []string
	for e := range errs {
		all = append(all, e)
	}
	if len(all) > 0 {
		t.Fatal(strings.Join(all, "\n"))
	}
}
