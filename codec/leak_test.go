package codec_test

import (
	"github.com/jesus-go/jesus/channel/channeltest"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/jesus-go/jesus/codec"
)

// checkGoroutines fails the test on goroutines left running after it.
var checkGoroutines = channeltest.CheckLeaks

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
