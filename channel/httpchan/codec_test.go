package httpchan_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/channel/httpchan"
	"github.com/jesus-go/jesus/codec"
)

// TestCodecHeadersRoundTrip: for every codec name the headers the transport writes
// (codec's media types) are read back to the same codec, and the other spellings
// package codec accepts map to the expected codec.
func TestCodecHeadersRoundTrip(t *testing.T) {
	reg := codec.NewRegistry(codec.Limits{})
	for _, ser := range codec.SerializerNames() {
		for _, comp := range append([]string{""}, codec.CompressorNames()...) {
			name := ser
			if comp != "" {
				name += "+" + comp
			}
			r, err := httpchan.NewRequest(context.Background(), "http://h/m", &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeResponse, Method: "m", Codec: name})
			if err != nil {
				t.Fatal(err)
			}
			want, err := reg.Pipeline(name)
			if err != nil {
				t.Fatal(err)
			}
			if r.Header.Get("Content-Type") != want.ContentType() || (comp != "none" && r.Header.Get("Content-Encoding") != want.ContentEncoding()) {
				t.Fatalf("%s: headers %q %q, codec says %q %q", name, r.Header.Get("Content-Type"), r.Header.Get("Content-Encoding"), want.ContentType(), want.ContentEncoding())
			}
			e, err := httpchan.ParseRequest(r, 100)
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := reg.Pipeline(e.Codec); got == nil || got.Name() != want.Name() {
				t.Fatalf("%s: read back as %q", name, e.Codec)
			}
		}
	}
	for _, c := range []struct{ ctype, cenc, want string }{
		{"application/json; charset=utf-8", "", "json"}, {"application/x-msgpack", "x-gzip", "msgpack+gzip"},
		{"application/vnd.msgpack", "zstd", "msgpack+zstd"}, {"APPLICATION/JSON", "S2", "json+s2"},
	} {
		r, _ := httpNewPost(c.ctype, c.cenc)
		e, err := httpchan.ParseRequest(r, 100)
		if err != nil || strings.TrimSuffix(e.Codec, "+none") != c.want {
			t.Fatalf("%q %q: transport reads %v %v, want %s", c.ctype, c.cenc, e, err, c.want)
		}
	}
}

func httpNewPost(ctype, cenc string) (*http.Request, error) {
	r, err := http.NewRequest("POST", "http://h/m", nil)
	if err != nil {
		return nil, err
	}
	r.Header.Set("Content-Type", ctype)
	if cenc != "" {
		r.Header.Set("Content-Encoding", cenc)
	}
	return r, nil
}
