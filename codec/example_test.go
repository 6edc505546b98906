package codec_test

import (
	"errors"
	"fmt"

	"github.com/jesus-go/jesus/codec"
)

func Example() {
	type Order struct {
		ID    string   `json:"id"`
		Qty   int      `json:"qty"`
		Items []string `json:"items,omitempty"`
	}
	reg := codec.NewRegistry(codec.DefaultLimits())

	// The codec name travels with each message; the lookup is cached.
	p, err := reg.Pipeline("msgpack+zstd")
	if err != nil {
		fmt.Println(err)
		return
	}
	wire, err := p.Marshal(nil, Order{ID: "ord-1", Qty: 3, Items: []string{"apple", "pear"}})
	if err != nil {
		fmt.Println(err)
		return
	}

	var got Order
	if err := p.Unmarshal(wire, &got); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s: %+v\n", p.Name(), got)

	// The same bytes as a JSON-ready value, e.g. for JSON Schema validation.
	v, err := p.UnmarshalValue(wire)
	if err != nil {
		fmt.Println(err)
		return
	}
	m := v.(map[string]any)
	fmt.Printf("id=%v (%T) qty=%v (%T) items=%v\n", m["id"], m["id"], m["qty"], m["qty"], m["items"])
	fmt.Println(p.ContentType(), p.ContentEncoding())
	// Output:
	// msgpack+zstd: {ID:ord-1 Qty:3 Items:[apple pear]}
	// id=ord-1 (string) qty=3 (int64) items=[apple pear]
	// application/msgpack zstd
}

func ExampleRegistry_Pipeline() {
	reg := codec.NewRegistry(codec.Limits{})
	for _, name := range []string{"json", "msgpack+none", "json+gzip", "json+brotli"} {
		p, err := reg.Pipeline(name)
		if err != nil {
			fmt.Println(errors.Is(err, codec.ErrUnknown), err)
			continue
		}
		fmt.Println(p.Name())
	}
	// Output:
	// json
	// msgpack
	// json+gzip
	// true codec: unknown name: compressor "brotli" in "json+brotli" (have gzip, none, s2, zstd)
}

func ExampleSerializerOf() {
	ser, _ := codec.SerializerOf("application/x-msgpack")
	fmt.Println(ser, codec.MediaType("json"), codec.CompressorNames())
	// Output: msgpack application/json [none gzip zstd s2]
}

func ExamplePipeline_Unmarshal_limits() {
	reg := codec.NewRegistry(codec.Limits{MaxDepth: 3})
	p, _ := reg.Pipeline("json")
	var v any
	err := p.Unmarshal([]byte(`[[[["too deep"]]]]`), &v)
	fmt.Println(errors.Is(err, codec.ErrTooDeep), err)
	// Output:
	// true codec: nesting too deep: json: nesting at offset 3 is deeper than the limit of 3
}
