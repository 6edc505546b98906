package jesus_test

import (
	"testing"

	"github.com/jesus-go/jesus/codec"
	"github.com/jesus-go/jesus/jesus"
)

// FuzzDecode feeds arbitrary bytes, as a peer could send them, through the receive
// stage (open, check against the schema, decode from the same bytes) in every
// serializer: it must never panic, and what it accepts must decode, re-encode and pass
// the schema again.
func FuzzDecode(f *testing.F) {
	set := compareSchemas(f)
	val := jesus.ReceiverSchemas(set).RequestValidator("shop.create")
	if val == nil {
		f.Fatal("no validator for shop.create")
	}
	reg := codec.NewRegistry(codec.DefaultLimits())
	names := []string{"msgpack", "json", "msgpack+zstd"}
	for i, name := range names {
		pl, err := reg.Pipeline(name)
		if err != nil {
			f.Fatal(err)
		}
		for _, o := range []*ShopOrder{smallOrder, largeOrder} {
			data, err := pl.Marshal(nil, o)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(uint8(i), data)
			f.Add(uint8(i), data[:len(data)/2])
		}
	}
	f.Add(uint8(0), []byte{0xdf, 0xff, 0xff, 0xff, 0xff})                       // a map of 4 G entries in 5 bytes
	f.Add(uint8(0), []byte{0x81, 0xa2, 'i', 'd', 0xdb, 0xff, 0xff, 0xff, 0xff}) // a 4 GB string
	f.Add(uint8(1), []byte(`{"id":"ord_1","lines":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}`))
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		pl, err := reg.Pipeline(names[int(which)%len(names)])
		if err != nil {
			t.Fatal(err)
		}
		var o ShopOrder
		if err := jesus.Decode(pl, val, data, &o); err != nil {
			return
		}
		again, err := jesus.Encode(pl, val, nil, &o)
		if err != nil {
			t.Fatalf("accepted %q as %+v, which does not encode and check again: %v", data, o, err)
		}
		var o2 ShopOrder
		if err := jesus.Decode(pl, val, again, &o2); err != nil {
			t.Fatalf("re-encoded order refused: %v", err)
		}
	})
}
