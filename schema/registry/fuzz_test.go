package registry_test

import (
	"errors"
	"testing"

	"github.com/jesus-go/jesus/schema/registry"
)

func FuzzParseInstance(f *testing.F) {
	f.Add([]byte(`{"id":"a","service":"orders","version":"1.0.0","endpoints":{"rpc":"tcp+msgpack://127.0.0.1:1"},"startedAt":"2026-01-02T03:04:05.123456789Z"}`))
	f.Add([]byte(`{"id":"../x","service":"orders","version":"1.0.0"}`))
	f.Add([]byte(`{"id":"a","service":"orders","version":"1.0.0"} {}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"id":"a","service":"orders","version":"1.0.0","endpoints":{"Bad":"x"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		in, err := registry.ParseInstance(data)
		if err != nil {
			if !errors.Is(err, registry.ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		if err := in.Validate(); err != nil {
			t.Fatalf("parsed instance does not validate: %v", err)
		}
	})
}

func FuzzParseVersion(f *testing.F) {
	for _, s := range []string{"1.2.0", "0.0.0-alpha.1+build.5", "1.0.0-0A.is.legal", "01.0.0", "1.0", "1.0.0-", "1.0.0+", "99999999999999999999.0.0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := registry.ParseVersion(s)
		if err != nil {
			if !errors.Is(err, registry.ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		if got := v.String(); got != s {
			t.Fatalf("round trip: %q -> %q", s, got)
		}
		if v.Compare(v) != 0 {
			t.Fatalf("%q not equal to itself", s)
		}
		w, err := registry.ParseVersion(v.String())
		if err != nil || w.Compare(v) != 0 {
			t.Fatalf("reparse %q: %v", s, err)
		}
	})
}
