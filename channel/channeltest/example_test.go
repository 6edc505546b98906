package channeltest_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/jesus-go/jesus/channel/channeltest"
	"github.com/jesus-go/jesus/channel/framed"
)

// A transport's tests pass the suite a Factory; Run reads the transport's Caps to decide
// which cases apply:
//
//	func TestConformance(t *testing.T) { channeltest.Run(t, factory) }
func Example() {
	factory := channeltest.Factory{
		Transport: framed.Unix(),
		Addr:      func(t testing.TB) string { return filepath.Join(t.TempDir(), "s.sock") },
	}
	caps := factory.Transport.Caps()
	fmt.Println(factory.Transport.Name(), caps.Response, caps.Stream, caps.Reliable)
	fmt.Println(len(channeltest.Codecs()), "codecs, e.g.", channeltest.Codecs()[5])
	// Output:
	// unix true true true
	// 8 codecs, e.g. msgpack+gzip
}
