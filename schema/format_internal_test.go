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
		"2026-11-22T10:50:24Z", "2026-11-22t10:50:24.123456789z", "2026-11-22T10:50:24+05:30", "2026-11-22T10:50:24-23:59",
		"2024-02-29T00:00:00Z", "2023-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2000-02-29T00:00:00Z", "2026-04-31T00:00:00Z",
		"2026-13-01T00:00:00Z", "2026-00-01T00:00:00Z", "2026-01-00T00:00:00Z", "2026-01-01T24:00:00Z", "2026-01-01T23:60:00Z",
		"2016-12-31T23:59:60Z", "2026-01-01T00:00:00.Z", "2026-01-01T00:00:00+24:00", "2026-01-01T00:00:00+0530",
		"2026-01-01 00:00:00Z", "+026-01-01T00:00:00Z", "2026-1-01T00:00:00Z", "0000-01-01T00:00:00Z", "2026-01-01T00:00:00ZZ",
		"123e4567-e89b-12d3-a456-426614174000", "123E4567-E89B-12D3-A456-426614174000", "123e4567e89b12d3a456426614174000",
		"123e4567-e89b-12d3-a456-42661417400g", "{123e4567-e89b-12d3-a456-426614174000}", "123e4567-e89b-12d3-a456_426614174000",
	} {
		checkFastFormat(t, s)
	}
	for name, s := range map[string]string{
		"email": "ada@example.com", "date-time": "2026-11-22T10:50:24.5+01:00", "uuid": "123e4567-e89b-12d3-a456-426614174000",
	} {
		if !fastFormats[name]([]byte(s)) {
			t.Fatalf("format %s: fast path refuses %q", name, s)
		}
	}
	for _, s := range []string{"2023-02-29T00:00:00Z", "2026-04-31T00:00:00Z", "2026-01-01T23:60:00Z", "2026-01-01T00:00:00+24:00"} {
		if fastFormats["date-time"]([]byte(s)) {
			t.Fatalf("date-time: fast path accepts %q", s)
		}
	}
}

func FuzzFastFormats(f *testing.F) {
	for _, s := range []string{"ada@example.com", "a.b@c-d.e", "a@b", "x@[::1]", "2026-11-22T10:50:24.5+01:00", "2024-02-29t00:00:00z", "123e4567-e89b-12d3-a456-426614174000"} {
		f.Add(s)
	}
	f.Fuzz(checkFastFormat)
}
