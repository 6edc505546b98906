package schema_test

import (
	"testing"

	"github.com/jesus-go/jesus/schema"
)

func FuzzParseVersion(f *testing.F) {
	for _, s := range []string{"1.2.0", "0.0.0-alpha.1+build.5", "1.0.0-0A.is.legal", "01.0.0", "1.0", "1.0.0-", "1.0.0+", "99999999999999999999.0.0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := schema.ParseVersion(s)
		if err != nil {
			return
		}
		if got := v.String(); got != s {
			t.Fatalf("round trip: %q -> %q", s, got)
		}
		if v.Compare(v) != 0 {
			t.Fatalf("%q not equal to itself", s)
		}
		w, err := schema.ParseVersion(v.String())
		if err != nil || w.Compare(v) != 0 {
			t.Fatalf("reparse %q: %v", s, err)
		}
	})
}

// CompareVersions is a total order: antisymmetric, and 0 only for equal strings.
func FuzzCompareVersions(f *testing.F) {
	f.Add("1.2.0", "1.2.0+b")
	f.Add("1.0.0-rc.1", "1.0.0")
	f.Add("x", "1.0.0")
	f.Fuzz(func(t *testing.T, a, b string) {
		ab, ba := schema.CompareVersions(a, b), schema.CompareVersions(b, a)
		if ab != -ba || (ab == 0) != (a == b) {
			t.Fatalf("CompareVersions(%q, %q) = %d, reverse %d", a, b, ab, ba)
		}
	})
}
