package schema_test

import (
	"testing"
	"testing/fstest"

	"github.com/jesus-go/jesus/schema"
)

func TestDescriptorTLSAndAllow(t *testing.T) {
	fs := fstest.MapFS{"ledger.json": {Data: []byte(`{
  "service": "ledger", "version": "1.0.0",
  "channels": {"rpc": "tcp+tls+msgpack", "web": {"transport": "http", "tls": true}, "sealed": "tcp+msgpack+zstd+seal"},
  "methods": {"post": {"mode": "response", "channel": "rpc", "request": {"type": "integer"}, "response": {"type": "integer"}, "allow": ["orders", "audit"]}}
}`)}}
	set, err := schema.LoadFS(fs)
	if err != nil {
		t.Fatal(err)
	}
	d := set.Service("ledger")
	if got := d.Channels["rpc"].Spec(); got != "tcp+tls+msgpack" {
		t.Errorf("rpc spec %q", got)
	}
	if got := d.Channels["web"].Spec(); got != "http+tls+json" {
		t.Errorf("web spec %q", got)
	}
	if got := d.Channels["sealed"]; got.Spec() != "tcp+msgpack+zstd+seal" || !got.Seal || got.Codec() != "msgpack+zstd" {
		t.Errorf("sealed spec %+v", got)
	}
	if a := d.Methods["post"].Allow; len(a) != 2 || a[0] != "orders" {
		t.Errorf("allow %v", a)
	}
	bad := fstest.MapFS{"x.json": {Data: []byte(`{"service": "x", "version": "1.0.0", "channels": {"c": "tcp"},
  "methods": {"m": {"mode": "ack", "channel": "c", "request": true, "allow": ["Not A Service"]}}}`)}}
	if _, err := schema.LoadFS(bad); err == nil {
		t.Error("an allow entry that is no service name was accepted")
	}
}
