package codec_test

import (
	"testing"

	"github.com/jesus-go/jesus/codec"
)

// benchPayloads are order-like messages: small (about 250 bytes of JSON) and large
// (about 4 KB of JSON, 60 items).
func benchPayloads() []struct {
	name string
	v    order
} {
	small := sampleOrder(2)
	small.Tags = nil
	large := sampleOrder(60)
	return []struct {
		name string
		v    order
	}{{"small", small}, {"large", large}}
}

func BenchmarkPipeline(b *testing.B) {
	r := codec.NewRegistry(codec.Limits{})
	for _, s := range serializers() {
		for _, c := range compressors() {
			name := s + "+" + c
			p, err := r.Pipeline(name)
			if err != nil {
				b.Fatal(err)
			}
			for _, pl := range benchPayloads() {
				enc, err := p.Marshal(nil, pl.v)
				if err != nil {
					b.Fatal(err)
				}
				b.Run(name+"/"+pl.name+"/marshal", func(b *testing.B) {
					b.ReportAllocs()
					buf := make([]byte, 0, 64<<10) // room for any of these payloads: measure the codec, not dst growth
					for b.Loop() {
						if _, err := p.Marshal(buf[:0], pl.v); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(len(enc)), "wire-B")
				})
				b.Run(name+"/"+pl.name+"/unmarshal", func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						var o order
						if err := p.Unmarshal(enc, &o); err != nil {
							b.Fatal(err)
						}
					}
				})
				b.Run(name+"/"+pl.name+"/value", func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						if _, err := p.UnmarshalValue(enc); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		}
	}
}

func BenchmarkPipelineLookup(b *testing.B) {
	r := codec.NewRegistry(codec.Limits{})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Pipeline("msgpack+zstd"); err != nil {
			b.Fatal(err)
		}
	}
}
