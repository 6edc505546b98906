package jesus_test

import (
	"context"
	"testing"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/channel/framed"
	"github.com/jesus-go/jesus/channel/httpchan"
	"github.com/jesus-go/jesus/codec"
	"github.com/jesus-go/jesus/jesus"
)

// TestRepliesCarryCorrIDAndFrom: every reply, the ack and the error reply included, carries
// the request's corrid and names the answering service in from (PROTOCOL.md, section 3),
// over a framed and the http channel, read at the channel layer as another language would.
func TestRepliesCarryCorrIDAndFrom(t *testing.T) {
	leakCheck(t)
	for _, tc := range []struct {
		tr   string
		dial channel.Transport
	}{{"tcp", framed.TCP()}, {"http", httpchan.New()}} {
		t.Run(tc.tr, func(t *testing.T) {
			s := jesus.NewServer("ledger")
			jesus.HandleOneWay(s, "note", func(ctx context.Context, _ string) error { return nil })
			jesus.Handle(s, "fail", func(ctx context.Context, _ string) (string, error) {
				return "", jesus.Errorf(jesus.CodeNotFound, "no such entry")
			})
			defer s.Close()
			bound, err := s.Listen(ctxT(t), listenAddr(t, tc.tr, "json"))
			if err != nil {
				t.Fatal(err)
			}
			cn, err := tc.dial.Dial(ctxT(t), bound.Addr, channel.Config{})
			if err != nil {
				t.Fatal(err)
			}
			defer cn.Close()
			pl, err := codec.NewRegistry(codec.DefaultLimits()).Pipeline("json")
			if err != nil {
				t.Fatal(err)
			}
			data, err := jesus.Encode(pl, nil, nil, "x")
			if err != nil {
				t.Fatal(err)
			}
			for _, req := range []struct {
				method string
				mode   channel.Mode
				want   channel.Type
			}{{"ledger.note", channel.ModeAck, channel.TypeAck}, {"ledger.fail", channel.ModeResponse, channel.TypeError}} {
				env := channel.Envelope{Type: channel.TypeRequest, Mode: req.mode, Method: req.method, Codec: "json", Data: data}
				env.Meta.CorrID, env.Meta.From = "c-"+req.method, "tester"
				x, err := cn.Open(ctxT(t), &env)
				if err != nil {
					t.Fatal(err)
				}
				r, err := x.Recv(ctxT(t))
				if err != nil {
					x.Close()
					t.Fatal(err)
				}
				if r.Type != req.want || r.Meta.CorrID != env.Meta.CorrID || r.Meta.From != "ledger" {
					t.Errorf("%s: reply %s with corrid %q from %q, want %s with corrid %q from ledger",
						req.method, r.Type, r.Meta.CorrID, r.Meta.From, req.want, env.Meta.CorrID)
				}
				x.Close()
			}
		})
	}
}
