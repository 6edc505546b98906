package schema_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/codec"
	"github.com/jesus-go/jesus/schema"
)

// TestMetaSchemaNamesAreTheChannelNames: the meta-schema spells the transport, serializer
// and compressor names for descriptor authors and editors; they must be exactly the
// closed sets of packages channel and codec, in both channel forms.
func TestMetaSchemaNamesAreTheChannelNames(t *testing.T) {
	for _, file := range []string{"descriptor.schema.json", filepath.Join("..", "schemas", "descriptor.schema.json")} {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var meta struct {
			Defs struct {
				Channel struct {
					OneOf []struct {
						Pattern    string `json:"pattern"`
						Properties map[string]struct {
							Enum []string `json:"enum"`
						} `json:"properties"`
					} `json:"oneOf"`
				} `json:"channel"`
			} `json:"$defs"`
		}
		if err := json.Unmarshal(raw, &meta); err != nil {
			t.Fatal(err)
		}
		forms := meta.Defs.Channel.OneOf
		if len(forms) != 2 {
			t.Fatalf("%s: $defs/channel has %d forms, want the string and the object", file, len(forms))
		}
		want := "^(" + strings.Join(channel.TransportNames(), "|") + ")(\\+tls)?(\\+(" + strings.Join(codec.SerializerNames(), "|") +
			")(\\+(" + strings.Join(codec.CompressorNames(), "|") + "))?)?(\\+seal)?$"
		if forms[0].Pattern != want {
			t.Errorf("%s: channel pattern %q, want %q", file, forms[0].Pattern, want)
		}
		props := forms[1].Properties
		for field, names := range map[string][]string{
			"transport": channel.TransportNames(), "serializer": codec.SerializerNames(), "compressor": codec.CompressorNames(),
		} {
			if !slices.Equal(props[field].Enum, names) {
				t.Errorf("%s: %s enum %v, want %v", file, field, props[field].Enum, names)
			}
		}
	}
}

// TestSetLatest: the latest version of each named service, sorted; all without names.
func TestSetLatest(t *testing.T) {
	set, err := schema.LoadDir(filepath.Join("..", "schemas"))
	if err != nil {
		t.Fatal(err)
	}
	all, err := set.Latest()
	if err != nil || len(all) < 3 || !slices.IsSortedFunc(all, func(a, b *schema.Descriptor) int { return strings.Compare(a.Service, b.Service) }) {
		t.Fatalf("all: %v %v", all, err)
	}
	two, err := set.Latest("orders", "billing")
	if err != nil || len(two) != 2 || two[0].Service != "billing" || two[1].Service != "orders" {
		t.Fatalf("two: %v %v", two, err)
	}
	if _, err := set.Latest("nosuch"); err == nil || !strings.Contains(err.Error(), `"nosuch"`) {
		t.Fatalf("unknown: %v", err)
	}
}
