package channeltest

import (
	"fmt"
	"reflect"
	"strings"
	"sync"

	"github.com/jesus-go/jesus/codec"
)

// sample is the value every codec of the matrix carries: repetitive enough that the
// compressors have something to do, varied enough to catch a byte out of place.
type sample struct {
	ID    int64             `json:"id" msgpack:"id"`
	Name  string            `json:"name" msgpack:"name"`
	Tags  []string          `json:"tags" msgpack:"tags"`
	Attrs map[string]string `json:"attrs" msgpack:"attrs"`
	Blob  string            `json:"blob" msgpack:"blob"`
}

func newSample() sample {
	return sample{
		ID: 42, Name: "order-ünïcode-✓", Tags: []string{"a", "b", "c"},
		Attrs: map[string]string{"region": "eu-west", "tier": "gold"},
		Blob:  strings.Repeat("jesus channel payload ", 64),
	}
}

var (
	regOnce sync.Once
	reg     *codec.Registry
)

func pipeline(name string) (*codec.Pipeline, error) {
	regOnce.Do(func() { reg = codec.NewRegistry(codec.DefaultLimits()) })
	return reg.Pipeline(name)
}

// encodePayload serializes and compresses the sample value with the pipeline name.
func encodePayload(name string) ([]byte, error) {
	p, err := pipeline(name)
	if err != nil {
		return nil, err
	}
	return p.Marshal(nil, newSample())
}

// checkPayload decodes a payload that came back under codec name and compares it.
func checkPayload(name string, b []byte) error {
	p, err := pipeline(name)
	if err != nil {
		return err
	}
	var got sample
	if err := p.Unmarshal(b, &got); err != nil {
		return fmt.Errorf("decoding the reply: %w", err)
	}
	if want := newSample(); !reflect.DeepEqual(got, want) {
		return fmt.Errorf("reply decodes to %+v, want %+v", got, want)
	}
	return nil
}
