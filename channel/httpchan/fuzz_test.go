package httpchan_test

import (
	"bufio"
	"context"
	"errors"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/channel/httpchan"
)

// FuzzRequestMapping feeds arbitrary request lines, header values and bodies to
// ParseRequest: it never panics, refuses with a clear error, and what it accepts maps
// back through NewRequest to the same envelope.
func FuzzRequestMapping(f *testing.F) {
	f.Add("/orders.create", "response", "1500", "c-1", "Event-Id", "e-9", "application/json", "", []byte(`{"n":1}`))
	f.Add("/a%2Fb", "stream", "", "", "", "", "application/msgpack", "zstd", []byte{0x81, 0xa1, 0x61, 1})
	f.Add("/", "ack", "0", "x", "k", "v", "", "", []byte(nil))
	f.Add("/m", "later", "-1", "", "", "", "text/plain", "br", []byte("x"))
	f.Add("/%zz", "noResponse", "99999999999999", "a b", "a b", "\x01", "application/json; charset=utf-8", "identity", []byte("{}"))
	f.Fuzz(func(t *testing.T, path, mode, timeout, corrid, metaKey, metaVal, ctype, cenc string, body []byte) {
		var b strings.Builder
		b.WriteString("POST " + path + " HTTP/1.1\r\nHost: h\r\n")
		for _, h := range [][2]string{
			{"Jesus-Mode", mode}, {"Jesus-Timeout", timeout}, {"Jesus-Corrid", corrid},
			{"Jesus-Meta-" + metaKey, metaVal}, {"Content-Type", ctype}, {"Content-Encoding", cenc},
		} {
			if h[1] != "" {
				b.WriteString(h[0] + ": " + h[1] + "\r\n")
			}
		}
		b.WriteString("Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n")
		b.Write(body)
		r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(b.String())))
		if err != nil {
			return // not HTTP; net/http refuses it before the mapping sees it
		}
		const limit = 1 << 16
		e, err := httpchan.ParseRequest(r, limit)
		if err != nil {
			var re *httpchan.RequestError
			if !errors.As(err, &re) || re.Status < 400 || re.Code == "" || !strings.HasPrefix(re.Message, "httpchan: ") {
				t.Fatalf("unclear refusal: %#v", err)
			}
			return
		}
		if e.Type != channel.TypeRequest || !e.Mode.Valid() || e.Method == "" || len(e.Data) > limit || len(e.Meta.Extra) > channel.MaxExtra {
			t.Fatalf("accepted a bad envelope: %+v", e)
		}
		r2, err := httpchan.NewRequest(context.Background(), "http://h", e)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "httpchan: ") {
				t.Fatalf("unclear error: %v", err)
			}
			return // a value net/http parsed leniently that a sender may not put on the wire
		}
		e2, err := httpchan.ParseRequest(r2, limit)
		if err != nil {
			t.Fatalf("NewRequest made a request ParseRequest refuses: %v (from %+v)", err, e)
		}
		if len(e.Data) == 0 {
			e.Data = nil
		}
		if !reflect.DeepEqual(e, e2) {
			t.Fatalf("round trip changed the envelope:\n%+v\n%+v", e, e2)
		}
	})
}
