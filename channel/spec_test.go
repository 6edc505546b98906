package channel_test

import (
	"strings"
	"testing"

	"github.com/jesus-go/jesus/channel"
)

func TestParseSpec(t *testing.T) {
	cases := []struct {
		in   string
		want channel.Spec
		str  string
	}{
		{"tcp", channel.Spec{Transport: "tcp", Codec: "json"}, "tcp+json"},
		{"tcp+msgpack", channel.Spec{Transport: "tcp", Codec: "msgpack"}, "tcp+msgpack"},
		{"tcp+msgpack+zstd", channel.Spec{Transport: "tcp", Codec: "msgpack+zstd"}, "tcp+msgpack+zstd"},
		{"http+json+gzip://127.0.0.1:8080", channel.Spec{Transport: "http", Codec: "json+gzip", Addr: "127.0.0.1:8080"}, "http+json+gzip://127.0.0.1:8080"},
		{"unix+json:///run/orders.sock", channel.Spec{Transport: "unix", Codec: "json", Addr: "/run/orders.sock"}, "unix+json:///run/orders.sock"},
		{"udp+msgpack+s2://[::1]:9000", channel.Spec{Transport: "udp", Codec: "msgpack+s2", Addr: "[::1]:9000"}, "udp+msgpack+s2://[::1]:9000"},
		// Codec names are checked by package codec, not here.
		{"tcp+yaml+brotli", channel.Spec{Transport: "tcp", Codec: "yaml+brotli"}, "tcp+yaml+brotli"},
	}
	for _, c := range cases {
		got, err := channel.ParseSpec(c.in)
		if err != nil {
			t.Errorf("ParseSpec(%q): %v", c.in, err)
			continue
		}
		if got != c.want {
			t.Errorf("ParseSpec(%q) = %+v, want %+v", c.in, got, c.want)
		}
		if got.String() != c.str {
			t.Errorf("ParseSpec(%q).String() = %q, want %q", c.in, got.String(), c.str)
		}
		again, err := channel.ParseSpec(got.String())
		if err != nil || again != got {
			t.Errorf("re-parsing %q: %+v, %v", got.String(), again, err)
		}
	}
}

func TestParseSpecErrors(t *testing.T) {
	cases := map[string]string{
		"":                  "unknown transport",
		"quic+json":         `unknown transport "quic"`,
		"TCP+json":          `unknown transport "TCP"`,
		"tcp+":              "empty codec part",
		"tcp++zstd":         "empty codec part",
		"tcp+json+gzip+aes": "want transport+serializer[+compressor]",
		"tcp+json://":       "empty address",
	}
	for in, want := range cases {
		_, err := channel.ParseSpec(in)
		if err == nil {
			t.Errorf("ParseSpec(%q) succeeded", in)
			continue
		}
		if !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), "channel: ") {
			t.Errorf("ParseSpec(%q) = %q, want it to mention %q", in, err, want)
		}
	}
}

func TestSpecName(t *testing.T) {
	if n := (channel.Spec{Transport: "udp"}).Name(); n != "udp" {
		t.Errorf("Name without codec = %q", n)
	}
}

func TestSetGet(t *testing.T) {
	s := channel.Set{}
	_, err := s.Get("tcp")
	if err == nil || !strings.Contains(err.Error(), `no transport "tcp"`) {
		t.Fatalf("Get on an empty set: %v", err)
	}
}

func FuzzParseSpec(f *testing.F) {
	for _, s := range []string{"tcp", "tcp+msgpack+zstd", "unix+json:///tmp/x.sock", "http+json+gzip://h:1", "udp+", "://", "tcp+a+b+c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sp, err := channel.ParseSpec(s)
		if err != nil {
			return
		}
		again, err := channel.ParseSpec(sp.String())
		if err != nil {
			t.Fatalf("ParseSpec(%q) = %+v, but its String %q does not parse: %v", s, sp, sp.String(), err)
		}
		if again != sp {
			t.Fatalf("ParseSpec(%q) = %+v, re-parsed %+v", s, sp, again)
		}
	})
}

func TestParseSpecTLS(t *testing.T) {
	for in, want := range map[string]string{
		"tcp+tls+msgpack+zstd://127.0.0.1:1": "tcp+tls+msgpack+zstd://127.0.0.1:1",
		"http+tls":                           "http+tls+json",
		"unix+tls+json:///s.sock":            "unix+tls+json:///s.sock",
	} {
		sp, err := channel.ParseSpec(in)
		if err != nil || !sp.TLS || sp.String() != want {
			t.Errorf("ParseSpec(%q) = %+v, %v; want TLS and %q", in, sp, err, want)
		}
	}
	if _, err := channel.ParseSpec("udp+tls+json"); err == nil {
		t.Error("udp+tls accepted")
	}
	if sp, _ := channel.ParseSpec("tcp+msgpack"); sp.TLS {
		t.Error("tcp+msgpack says TLS")
	}
}

func TestParseSpecSeal(t *testing.T) {
	for in, want := range map[string]string{
		"tcp+msgpack+zstd+seal://127.0.0.1:1": "tcp+msgpack+zstd+seal://127.0.0.1:1",
		"tcp+tls+msgpack+seal":                "tcp+tls+msgpack+seal",
		"http+seal":                           "http+json+seal",
	} {
		sp, err := channel.ParseSpec(in)
		if err != nil || !sp.Seal || sp.String() != want || strings.Contains(sp.Codec, "seal") {
			t.Errorf("ParseSpec(%q) = %+v, %v; want Seal and %q", in, sp, err, want)
		}
	}
}
