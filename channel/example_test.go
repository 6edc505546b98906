package channel_test

import (
	"fmt"

	"github.com/jesus-go/jesus/channel"
)

func ExampleParseSpec() {
	sp, err := channel.ParseSpec("tcp+msgpack+zstd://127.0.0.1:7000")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(sp.Transport, sp.Codec, sp.Addr)
	fmt.Println(sp.Name())

	_, err = channel.ParseSpec("quic+json")
	fmt.Println(err)
	// Output:
	// tcp msgpack+zstd 127.0.0.1:7000
	// tcp+msgpack+zstd
	// channel: spec "quic+json": unknown transport "quic" (want one of tcp, unix, http, udp, hub)
}

func ExampleAppendEnvelope() {
	req := &channel.Envelope{
		Type: channel.TypeRequest, Mode: channel.ModeResponse, ID: 1,
		Method: "orders.get", Codec: "json",
		Meta: channel.Meta{CorrID: "c-42"},
		Data: []byte(`{"id":7}`),
	}
	b := channel.AppendEnvelope(nil, req)

	var got channel.Envelope
	if err := channel.ParseEnvelope(b, &got); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(b), "bytes")
	fmt.Println(got.Type, got.Mode, got.ID, got.Method, got.Meta.CorrID, string(got.Data))
	// Output:
	// 37 bytes
	// request response 1 orders.get c-42 {"id":7}
}
