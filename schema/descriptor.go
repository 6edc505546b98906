package schema

import (
	"encoding/json"
	"fmt"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/schema/internal/ref"
)

// Mode is the response mode of a method or an event; it is the envelope's mode.
type Mode = channel.Mode

// ChannelSpec is a named channel of a service: transport, serializer and compressor.
// In a descriptor it is written either compactly ("tcp+msgpack+zstd") or as an object
// ({"transport": "http", "serializer": "json", "compressor": "gzip"}).
type ChannelSpec struct {
	Transport  string `json:"transport"`
	Serializer string `json:"serializer"`
	Compressor string `json:"compressor,omitempty"`
	TLS        bool   `json:"tls,omitempty"`  // the channel speaks TLS only
	Seal       bool   `json:"seal,omitempty"` // payloads are sealed end to end (codec/seal)
}

// Spec returns the compact form, e.g. "tcp+msgpack+zstd" or "unix+msgpack" when there is
// no compressor.
func (c ChannelSpec) Spec() string {
	s := c.Transport
	if c.TLS {
		s += "+tls"
	}
	s += "+" + c.Serializer
	if c.Compressor != "" && c.Compressor != "none" {
		s += "+" + c.Compressor
	}
	if c.Seal {
		s += "+seal"
	}
	return s
}

// Codec returns the codec part of the compact form ("msgpack+zstd"), as package codec parses it.
func (c ChannelSpec) Codec() string {
	s := c.Serializer
	if c.Compressor != "" && c.Compressor != "none" {
		s += "+" + c.Compressor
	}
	return s
}

// UnmarshalJSON accepts the compact string form and the object form.
func (c *ChannelSpec) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		sp, err := channel.ParseSpec(s)
		if err != nil {
			return err
		}
		if sp.Addr != "" {
			return fmt.Errorf("schema: channel %q: a descriptor names a channel kind, not an address", s)
		}
		*c = ChannelSpec{Transport: sp.Transport, TLS: sp.TLS, Seal: sp.Seal}
		c.Serializer, c.Compressor, _ = cutPlus(sp.Codec)
		return nil
	}
	type plain ChannelSpec
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return fmt.Errorf("schema: channel: %w", err)
	}
	if p.Serializer == "" {
		p.Serializer = "json"
	}
	*c = ChannelSpec(p)
	return nil
}

// MarshalJSON writes the compact form.
func (c ChannelSpec) MarshalJSON() ([]byte, error) { return json.Marshal(c.Spec()) }

func cutPlus(s string) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == '+' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// Method is a method the service serves. Response is the schema of the response, or of ONE
// item for stream mode; it is empty for modes noResponse and ack.
type Method struct {
	Mode     Mode
	Channel  string
	Request  json.RawMessage
	Response json.RawMessage
	// Allow names the services that may call the method; empty: any caller. A server
	// with verified callers (package jesus/auth) enforces it.
	Allow []string
}

// Event is an event the service emits.
type Event struct {
	Channel string
	Mode    Mode
	Payload json.RawMessage
}

// Listen is an event of another service that this service consumes.
type Listen struct {
	Payload json.RawMessage
}

// Call is a method of another service that this service calls ("billing.charge"), with the
// request schema it sends and the response schema it expects.
type Call struct {
	Request  json.RawMessage
	Response json.RawMessage
}

// Descriptor is one service descriptor file. A Descriptor obtained from a Set is shared:
// treat it as read-only.
type Descriptor struct {
	Service     string
	Version     string
	Description string
	Channels    map[string]ChannelSpec
	Methods     map[string]Method
	Events      map[string]Event
	Listens     map[string]Listen
	Calls       map[string]Call
	Defs        map[string]json.RawMessage
	// File is the name of the file in its set ("orders.json"); cross-file $refs are relative to it.
	File string
	// Raw is the file content as loaded.
	Raw []byte

	set *Set
}

// WireMethod is the name of method m on the wire: "orders.create".
func (d *Descriptor) WireMethod(m string) string { return d.Service + "." + m }

// ID is "service@version".
func (d *Descriptor) ID() string { return d.Service + "@" + d.Version }

// Part names which schema of a method, event, listen or call a validator checks.
type Part uint8

// Parts of a descriptor that carry a schema.
const (
	PartRequest       Part = iota + 1 // methods.<m>.request
	PartResponse                      // methods.<m>.response (stream: one item)
	PartEventPayload                  // events.<e>.payload
	PartListenPayload                 // listens.<e>.payload
	PartCallRequest                   // calls.<svc.m>.request
	PartCallResponse                  // calls.<svc.m>.response
)

var partNames = [...]string{"", "request", "response", "event payload", "listen payload", "call request", "call response"}

func (p Part) String() string {
	if p >= PartRequest && int(p) < len(partNames) {
		return partNames[p]
	}
	return fmt.Sprintf("part(%d)", uint8(p))
}

// pointer is the JSON pointer of the schema of part p of item name inside the descriptor.
func (p Part) pointer(name string) string {
	if int(p) >= len(partPointers) || partPointers[p][0] == "" {
		return ""
	}
	return partPointers[p][0] + escapeToken(name) + partPointers[p][1]
}

// partPointers are the JSON pointers of the parts, around the item's name.
var partPointers = [...][2]string{
	PartRequest:       {"/methods/", "/request"},
	PartResponse:      {"/methods/", "/response"},
	PartEventPayload:  {"/events/", "/payload"},
	PartListenPayload: {"/listens/", "/payload"},
	PartCallRequest:   {"/calls/", "/request"},
	PartCallResponse:  {"/calls/", "/response"},
}

// Parts lists every (part, name) of d that carries a schema, in a stable order.
func (d *Descriptor) Parts() []PartName {
	var out []PartName
	for _, n := range sortedKeys(d.Methods) {
		m := d.Methods[n]
		out = append(out, PartName{PartRequest, n})
		if len(m.Response) > 0 {
			out = append(out, PartName{PartResponse, n})
		}
	}
	for _, n := range sortedKeys(d.Events) {
		out = append(out, PartName{PartEventPayload, n})
	}
	for _, n := range sortedKeys(d.Listens) {
		out = append(out, PartName{PartListenPayload, n})
	}
	for _, n := range sortedKeys(d.Calls) {
		out = append(out, PartName{PartCallRequest, n})
		if len(d.Calls[n].Response) > 0 {
			out = append(out, PartName{PartCallResponse, n})
		}
	}
	return out
}

// PartName selects one schema of a descriptor.
type PartName struct {
	Part Part
	Name string
}

// IsDescriptor reports whether data is a service descriptor rather than a shared fragment:
// a JSON object with a top-level "service", the rule by which LoadFS and Set.Add tell the
// two apart. It does not check the descriptor; data that is not a JSON object is not one.
func IsDescriptor(data []byte) bool {
	var top map[string]json.RawMessage
	return json.Unmarshal(data, &top) == nil && ref.IsDescriptor(top)
}

// Parse loads one self-contained descriptor, such as a bundle the registry holds, into a
// set of its own under the file name name ("orders@1.3.0.json"): the one parse of a
// published descriptor that discovery, events, compatibility checks and the CLI share.
func Parse(name string, data []byte, opts ...Option) (*Descriptor, error) {
	s := NewSet(opts...)
	if err := s.Add(name, data); err != nil {
		return nil, err
	}
	for _, d := range s.Services() {
		return d, nil
	}
	return nil, fmt.Errorf("schema: %s is not a service descriptor (no top-level \"service\")", name)
}
