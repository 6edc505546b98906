package async

import (
	"testing"
)

// FuzzParseHook feeds the hook reader any meta a caller might send.
func FuzzParseHook(f *testing.F) {
	f.Add("jesus:caller.answers", "6f1c", "double", "1767225600000")
	f.Add("http://127.0.0.1:9/answers", "x", "", "")
	f.Add("ftp://x/y", "x", "", "-5")
	f.Add("jesus:.", "", "", "soon")
	f.Fuzz(func(t *testing.T, target, id, tag, deadline string) {
		h, err := ParseHook(map[string]string{"Hook": target, "hook-id": id, "HOOK-TAG": tag, ExtraHookDeadline: deadline})
		if err != nil || h.Target == "" {
			return
		}
		if len(h.Target) > maxTarget || h.ID == "" || len(h.ID) > maxID || len(h.Tag) > maxTag {
			t.Fatalf("accepted %+v", h)
		}
		if h.Method() == "" && len(h.Target) < len("http://x") {
			t.Fatalf("accepted target %q", h.Target)
		}
	})
}

// FuzzParseAnswer feeds the decoder of an http hook's body.
func FuzzParseAnswer(f *testing.F) {
	f.Add([]byte(`{"id":"6f1c","tag":"double","result":{"n":42}}`))
	f.Add([]byte(`{"id":"6f1c","error":{"code":"not_found","message":"gone","failures":[{"pointer":"/n","message":"m"}]}}`))
	f.Add([]byte(`{"id":"","result":1}`))
	f.Add([]byte(`[1,2,3]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := parseAnswer(data)
		if err != nil {
			return
		}
		if a.ID == "" || len(a.ID) > maxID || len(a.Tag) > maxTag {
			t.Fatalf("accepted %+v", a)
		}
		if a.Error != nil && a.Err() == nil {
			t.Fatal("an error answer without an error")
		}
	})
}
