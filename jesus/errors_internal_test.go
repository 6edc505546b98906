package jesus

import (
	"errors"
	"testing"

	"github.com/jesus-go/jesus/channel"
)

// FuzzRemoteError feeds hostile error replies (code, message, details JSON) to the client's
// reading of a peer's error: no panic, the code stays in the closed set, Remote is set.
func FuzzRemoteError(f *testing.F) {
	f.Add("invalid_argument", "request fails the schema of fussy@1.0.0", []byte(`{"service":"fussy@1.0.0","failures":[{"pointer":"/total/amount","keyword":"maximum","message":"too big"}]}`))
	f.Add("bogus", "", []byte(`{"failures":[{"pointer":1}]}`))
	f.Add("unavailable", "x", []byte(`[`))
	f.Fuzz(func(t *testing.T, code, msg string, details []byte) {
		env := &channel.Envelope{Type: channel.TypeError, ErrCode: code, ErrMessage: msg, ErrDetails: details}
		e := fromEnvelope(env, "billing.event:order.created")
		if !e.Code.Valid() || !e.Remote || e.Method == "" {
			t.Fatalf("remote error %#v", e)
		}
		_ = e.Error()
	})
}

// InMethod adds the method and keeps every other field, without touching a shared error.
func TestInMethodKeepsFields(t *testing.T) {
	cause := errors.New("cause")
	e := &Error{Code: CodeInvalidArgument, Message: "m", Service: "s@1.0.0", Failures: []Failure{{Pointer: "/a"}}, Remote: true, err: cause}
	got := e.InMethod("s.m")
	if got == e || e.Method != "" {
		t.Fatal("InMethod changed its receiver")
	}
	if got.Method != "s.m" || got.Code != e.Code || got.Message != "m" || got.Service != e.Service || len(got.Failures) != 1 || !got.Remote || !errors.Is(got, cause) {
		t.Fatalf("fields lost: %+v", got)
	}
	if got.InMethod("other") != got {
		t.Fatal("a named method was replaced")
	}
}
