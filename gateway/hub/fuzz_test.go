package hub

import (
	"testing"

	"github.com/jesus-go/jesus/channel"
)

// FuzzParseJob feeds a worker's job decoder anything a hub (or an impostor) might send:
// it must return an error or a request envelope within the limits, never panic.
func FuzzParseJob(f *testing.F) {
	f.Add([]byte(`{"id":"j-1","originalRequest":{"name":"ada"},"method":"greeter.hello","mode":"response","timeoutMs":900,"attempt":1,"meta":{"corrid":"c-1","extra":{"hook":"jesus:a.b"}}}`))
	f.Add([]byte(`{"id":"j-2","originalRequest":null,"method":"greeter.note","mode":"ack"}`))
	f.Add([]byte(`{"id":"j-3","originalRequest":1,"method":"x.y","mode":"stream"}`))
	f.Add([]byte(`{"id":"","originalRequest":{}}`))
	f.Add([]byte(`{"id":"j","originalRequest":{},"method":"a.b"} trailing`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var env channel.Envelope
		id, err := parseJob(data, &env)
		if err != nil {
			if len(id) > 64 {
				t.Fatalf("refused job with an id of %d bytes", len(id))
			}
			return
		}
		if id == "" || len(id) > 64 || env.Method == "" || env.Codec != "json" || len(env.Data) == 0 {
			t.Fatalf("accepted a job outside the limits: id %q, %+v", id, env)
		}
		if env.Mode == channel.ModeStream || !env.Mode.Valid() || env.Timeout < 0 || len(env.Meta.Extra) > channel.MaxExtra {
			t.Fatalf("accepted mode %v timeout %v extra %d", env.Mode, env.Timeout, len(env.Meta.Extra))
		}
	})
}

// FuzzErrorAnswer feeds the decoder of a worker's error answer.
func FuzzErrorAnswer(f *testing.F) {
	f.Add("not_found", []byte(`{"code":"not_found","message":"no such thing","details":{"failures":[{"pointer":"/a","message":"m"}]}}`))
	f.Add("weird", []byte(`plain text`))
	f.Add("internal", []byte(`{"message":""}`))
	f.Fuzz(func(t *testing.T, code string, body []byte) {
		e := parseErrorAnswer(code, body)
		if e == nil || !e.Code.Valid() || len(e.Message) > maxErrorMessage+3 {
			t.Fatalf("error answer %q %q gave %+v", code, body, e)
		}
	})
}
