package schema

import (
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v5"
)

// Every string a fast format accepts, the jsonschema/v5 format accepts.
func checkFastFormat(t *testing.T, s string) {
	t.Helper()
	for name, fast := range fastFormats {
		if fast([]byte(s)) && !jsonschema.Formats[name](s) {
			t.Fatalf("format %s: fast path accepts %q, jsonschema does not", name, s)
		}
	}
}

func TestFastFormats(t *testing.T) {
	for _, s := range []string{
		"ada@example.com", "a@b", "a.b@c.d", ".a@b.c", "a.@b.c", "a..b@c.d", "a@b.", "a@-b.c", "a@b-.c", "a@b..c",
		"a@[1.2.3.4]", `"a"@b.c`, "a b@c.d", "a@b@c.d", "@b.c", "a@", "é@b.c", "a@é.c", "!#$%&'*+/=?^_`{|}~-@x.y",
		"a@b.c-d", "a@1.2.3.4", "a@" + string(make([]byte, 300)),
	} {
		checkFastFormat(t, s)
	}
	if !fastFormats["email"]([]byte("ada@example.com")) {
		t.Fatal("plain address refused")
	}
}

func FuzzFastFormats(f *testing.F) {
	for _, s := range []string{"ada@example.com", "a.b@c-d.e", "a@b", "x@[::1]"} {
		f.Add(s)
	}
	f.Fuzz(checkFastFormat)
}
