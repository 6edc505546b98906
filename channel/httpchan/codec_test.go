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

// TestCodecHeadersAgreeWithCodec: the headers the transport writes for every built-in
// codec name are the ones package codec reads back to the same pipeline, and the other
// spellings package codec accepts map to the same codec here.
func TestCodecHeadersAgreeWithCodec(t *testing.T) {
	reg := codec.NewRegistry(codec.Limits{})
	for _, ser := range []string{"json", "msgpack"} {
		for _, comp := range []string{"", "+none", "+gzip", "+zstd", "+s2"} {
			name := ser + comp
			r, err := httpchan.NewRequest(context.Background(), "http://h", &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeResponse, Method: "m", Codec: name})
			if err != nil {
				t.Fatal(err)
			}
			want, err := reg.Pipeline(name)
			if err != nil {
				t.Fatal(err)
			}
			p, err := reg.FromHTTP(r.Header.Get("Content-Type"), r.Header.Get("Content-Encoding"))
			if err != nil || p.Name() != want.Name() {
				t.Fatalf("%s: headers %q %q read by codec as %v, %v; want %s", name, r.Header.Get("Content-Type"), r.Header.Get("Content-Encoding"), p, err, want.Name())
			}
			if r.Header.Get("Content-Type") != want.ContentType() || (comp != "+none" && r.Header.Get("Content-Encoding") != want.ContentEncoding()) {
				t.Fatalf("%s: headers %q %q, codec says %q %q", name, r.Header.Get("Content-Type"), r.Header.Get("Content-Encoding"), want.ContentType(), want.ContentEncoding())
			}
		}
	}
	for _, c := range []struct{ ctype, cenc string }{
		{"application/json; charset=utf-8", ""}, {"application/x-msgpack", "x-gzip"}, {"application/vnd.msgpack", "zstd"}, {"APPLICATION/JSON", "S2"},
	} {
		p, err := reg.FromHTTP(c.ctype, c.cenc)
		if err != nil {
			t.Fatal(err)
		}
		r, _ := httpNewPost(c.ctype, c.cenc)
		e, err := httpchan.ParseRequest(r, 100)
		if err != nil || strings.TrimSuffix(e.Codec, "+none") != p.Name() {
			t.Fatalf("%q %q: transport reads %v %v, codec %s", c.ctype, c.cenc, e, err, p.Name())
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
