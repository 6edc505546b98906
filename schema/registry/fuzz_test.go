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
