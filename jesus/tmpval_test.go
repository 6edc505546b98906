package jesus_test

import (
	"testing"

	"github.com/jesus-go/jesus/codec"
)

func BenchmarkTmpValidate(b *testing.B) {
	set := compareSchemas(b)
	v, err := set.Validator("shop", "1.0.0", 1, "create")
	if err != nil {
		b.Fatal(err)
	}
	pl, _ := codec.NewRegistry(codec.DefaultLimits()).Pipeline("msgpack")
	for _, size := range []string{"small", "large"} {
		data, err := pl.Marshal(nil, orderOfSize(size))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(size, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if err := v.ValidateMsgpack(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkTmpValidateReplies(b *testing.B) {
	set := compareSchemas(b)
	pl, _ := codec.NewRegistry(codec.DefaultLimits()).Pipeline("msgpack")
	for _, c := range []struct {
		name, method string
		v            any
	}{{"receipt", "create", receiptFor(smallOrder)}, {"line", "lines", streamLine(3)}} {
		v, err := set.Validator("shop", "1.0.0", 2, c.method)
		if err != nil {
			b.Fatal(err)
		}
		data, _ := pl.Marshal(nil, c.v)
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if err := v.ValidateMsgpack(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
