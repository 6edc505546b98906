package channel_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jesus-go/jesus/channel"
)

func full() *channel.Envelope {
	return &channel.Envelope{
		Type: channel.TypeError, Mode: channel.ModeStream, ID: 1<<64 - 1,
		Method: "orders.create", Timeout: 2500 * time.Millisecond, Codec: "msgpack+zstd",
		Meta: channel.Meta{
			CorrID: "c-1", UserID: "u-7", From: "billing@1.2.3",
			ReqIn: 1700000000123456789, ReqOut: -5, Channel: "tcp+msgpack+zstd",
			Trace: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
			Extra: map[string]string{"event-id": "e-1", "": "empty key", "k": ""},
		},
		ErrCode: "invalid_argument", ErrMessage: "bad /id", ErrDetails: []byte(`{"errors":[{"pointer":"/id"}]}`),
		Credits: 1<<32 - 1,
		Data:    []byte("payload \x00\x01\xff"),
	}
}

func roundTrip(t *testing.T, in *channel.Envelope) *channel.Envelope {
	t.Helper()
	b := channel.AppendEnvelope(nil, in)
	if n := channel.EnvelopeSize(in); n != len(b) {
		t.Fatalf("EnvelopeSize = %d, encoded %d bytes", n, len(b))
	}
	var out channel.Envelope
	if err := channel.ParseEnvelope(b, &out); err != nil {
		t.Fatalf("ParseEnvelope: %v", err)
	}
	return &out
}

func TestEnvelopeRoundTrip(t *testing.T) {
	cases := map[string]*channel.Envelope{
		"every field": full(),
		"zero":        {Type: channel.TypeRequest},
		"ping":        {Type: channel.TypePing, ID: 7},
		"credit":      {Type: channel.TypeCredit, ID: 3, Credits: 64},
		"data only":   {Type: channel.TypeResponse, Mode: channel.ModeResponse, ID: 128, Data: []byte{0}},
		"negative ts": {Type: channel.TypeRequest, Meta: channel.Meta{ReqIn: -1 << 63, ReqOut: 1<<63 - 1}},
		"64 extras": {Type: channel.TypeRequest, Meta: channel.Meta{Extra: func() map[string]string {
			m := map[string]string{}
			for i := 0; i < channel.MaxExtra; i++ {
				m[strings.Repeat("k", i+1)] = strings.Repeat("v", i)
			}
			return m
		}()}},
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			out := roundTrip(t, in)
			if !reflect.DeepEqual(in, out) {
				t.Fatalf("round trip differs:\n in  %+v\n out %+v", in, out)
			}
		})
	}
}

func TestEnvelopeTimeoutPrecision(t *testing.T) {
	for _, c := range []struct{ in, want time.Duration }{
		{time.Nanosecond, time.Microsecond}, // a positive timeout never becomes "none"
		{1500 * time.Nanosecond, time.Microsecond},
		{-time.Second, 0},
		{time.Hour, time.Hour},
	} {
		out := roundTrip(t, &channel.Envelope{Type: channel.TypeRequest, Timeout: c.in})
		if out.Timeout != c.want {
			t.Errorf("timeout %v came back as %v, want %v", c.in, out.Timeout, c.want)
		}
	}
}

func TestEnvelopeDataAliasesInput(t *testing.T) {
	b := channel.AppendEnvelope(nil, &channel.Envelope{Type: channel.TypeResponse, Method: "m", Data: []byte("abc")})
	var e channel.Envelope
	if err := channel.ParseEnvelope(b, &e); err != nil {
		t.Fatal(err)
	}
	b[len(b)-1] = 'X'
	if string(e.Data) != "abX" {
		t.Fatalf("Data = %q: want it to alias the input", e.Data)
	}
	if cap(e.Data) != len(e.Data) {
		t.Fatalf("Data has spare capacity %d: appending to it would overwrite the caller's buffer", cap(e.Data)-len(e.Data))
	}
	b[4] = 'Z' // inside the method string
	if e.Method != "m" {
		t.Fatalf("Method changed with the input: strings must be copied")
	}
}

func TestParseEnvelopeResetsTarget(t *testing.T) {
	e := *full()
	b := channel.AppendEnvelope(nil, &channel.Envelope{Type: channel.TypePong, ID: 2})
	if err := channel.ParseEnvelope(b, &e); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(e, channel.Envelope{Type: channel.TypePong, ID: 2}) {
		t.Fatalf("stale fields survived: %+v", e)
	}
}

func TestParseEnvelopeUnknownFieldSkipped(t *testing.T) {
	b := []byte{channel.WireVersion, byte(channel.TypeRequest), byte(channel.ModeAck), 5}
	b = append(b, 99, 3, 'x', 'y', 'z') // tag 99, 3 bytes
	b = append(b, 1, 1, 'm')            // method "m"
	b = append(b, 0, 'D')
	var e channel.Envelope
	if err := channel.ParseEnvelope(b, &e); err != nil {
		t.Fatal(err)
	}
	if e.Method != "m" || e.ID != 5 || string(e.Data) != "D" {
		t.Fatalf("got %+v", e)
	}
}

func TestParseEnvelopeMalformed(t *testing.T) {
	v, req := byte(channel.WireVersion), byte(channel.TypeRequest)
	tooMany := []byte{v, req, 0, 0}
	for i := 0; i <= channel.MaxExtra; i++ {
		tooMany = append(tooMany, 15, 3, 2, 'k', byte(i))
	}
	tooMany = append(tooMany, 0)
	cases := map[string][]byte{
		"empty":              nil,
		"short":              {v, req, 0},
		"version":            {2, req, 0, 0},
		"type 0":             {v, 0, 0, 0},
		"type 11":            {v, 11, 0, 0},
		"mode 5":             {v, req, 5, 0},
		"id overflow":        {v, req, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
		"no end tag":         {v, req, 0, 0, 1, 1, 'm'},
		"truncated id":       {v, req, 0, 0x80},
		"length past end":    {v, req, 0, 0, 1, 9, 'm'},
		"missing length":     {v, req, 0, 0, 1},
		"huge length":        {v, req, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
		"bad timeout":        {v, req, 0, 0, 2, 1, 0x80, 0},
		"timeout trailing":   {v, req, 0, 0, 2, 2, 1, 1, 0},
		"bad reqIn":          {v, req, 0, 0, 7, 0, 0},
		"bad credits":        {v, req, 0, 0, 14, 1, 0x80, 0},
		"extra key too long": {v, req, 0, 0, 15, 2, 5, 'k', 0},
		"extra no key len":   {v, req, 0, 0, 15, 0, 0},
		"too many extras":    tooMany,
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			var e channel.Envelope
			err := channel.ParseEnvelope(b, &e)
			if !errors.Is(err, channel.ErrMalformed) {
				t.Fatalf("ParseEnvelope(%x) = %v, want ErrMalformed", b, err)
			}
			if !strings.HasPrefix(err.Error(), "channel: ") {
				t.Fatalf("error %q does not name the package", err)
			}
		})
	}
}

func TestParseEnvelopeClamps(t *testing.T) {
	v, req := byte(channel.WireVersion), byte(channel.TypeRequest)
	maxU := []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}
	b := append([]byte{v, req, 0, 0, 2, byte(len(maxU))}, maxU...)
	b = append(b, 14, byte(len(maxU)))
	b = append(b, maxU...)
	b = append(b, 0)
	var e channel.Envelope
	if err := channel.ParseEnvelope(b, &e); err != nil {
		t.Fatal(err)
	}
	if e.Timeout <= 0 || e.Credits != 1<<32-1 {
		t.Fatalf("timeout %v credits %d: want clamped to the largest values", e.Timeout, e.Credits)
	}
}

func TestTypeAndModeNames(t *testing.T) {
	for ty := channel.TypeRequest; ty <= channel.TypeCredit; ty++ {
		if !ty.Valid() || strings.HasPrefix(ty.String(), "type(") {
			t.Errorf("type %d: valid %v name %q", ty, ty.Valid(), ty)
		}
	}
	if channel.Type(0).Valid() || channel.Type(11).Valid() || channel.Type(11).String() != "type(11)" {
		t.Error("types 0 and 11 must be invalid")
	}
	for _, m := range []channel.Mode{channel.ModeNoResponse, channel.ModeAck, channel.ModeResponse, channel.ModeStream} {
		got, err := channel.ParseMode(m.String())
		if err != nil || got != m {
			t.Errorf("ParseMode(%q) = %v, %v", m, got, err)
		}
	}
	if _, err := channel.ParseMode("Response"); err == nil {
		t.Error("ParseMode is case-sensitive: Response must fail")
	}
	for ty, want := range map[channel.Type]bool{channel.TypeAck: true, channel.TypeResponse: true, channel.TypeEnd: true, channel.TypeError: true, channel.TypeItem: false, channel.TypeRequest: false} {
		if ty.Terminal() != want {
			t.Errorf("%s.Terminal() = %v", ty, !want)
		}
	}
}

func BenchmarkEnvelope(b *testing.B) {
	for _, size := range []int{256, 4 << 10} {
		e := full()
		e.Meta.Extra = nil
		e.Data = make([]byte, size)
		b.Run("Append/"+byteSize(size), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(size))
			buf := make([]byte, 0, size+512)
			for b.Loop() {
				buf = channel.AppendEnvelope(buf[:0], e)
			}
		})
		b.Run("Parse/"+byteSize(size), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(size))
			buf := channel.AppendEnvelope(nil, e)
			var out channel.Envelope
			for b.Loop() {
				if err := channel.ParseEnvelope(buf, &out); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func byteSize(n int) string {
	if n >= 1<<10 {
		return strings.TrimSuffix(time.Duration(n>>10).String(), "ns") + "KB"
	}
	return strings.TrimSuffix(time.Duration(n).String(), "ns") + "B"
}
