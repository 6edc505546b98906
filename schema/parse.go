package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v5"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/schema/internal/ref"
)

type rawDescriptor struct {
	Service     string                     `json:"service"`
	Version     string                     `json:"version"`
	Description string                     `json:"description"`
	Channels    map[string]ChannelSpec     `json:"channels"`
	Defs        map[string]json.RawMessage `json:"$defs"`
	Methods     map[string]struct {
		Mode     string          `json:"mode"`
		Channel  string          `json:"channel"`
		Request  json.RawMessage `json:"request"`
		Response json.RawMessage `json:"response"`
		Allow    []string        `json:"allow"`
	} `json:"methods"`
	Events map[string]struct {
		Mode    string          `json:"mode"`
		Channel string          `json:"channel"`
		Payload json.RawMessage `json:"payload"`
	} `json:"events"`
	Listens map[string]struct {
		Payload json.RawMessage `json:"payload"`
	} `json:"listens"`
	Calls map[string]struct {
		Request  json.RawMessage `json:"request"`
		Response json.RawMessage `json:"response"`
	} `json:"calls"`
}

// parseFile checks one file. It returns the descriptor, or nil for a fragment.
func (s *Set) parseFile(name string, data []byte) (*Descriptor, error) {
	v, err := decodeJSON(name, data)
	if err != nil {
		return nil, err
	}
	if _, ok := v.(bool); ok {
		return nil, nil // a fragment that is the boolean schema true or false
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("schema: %s: top level is %s, want an object (a descriptor or a schema) or a boolean schema", name, jsonTypeName(v))
	}
	if ptr := findID(obj, ""); ptr != "" {
		return nil, fmt.Errorf("schema: %s: %s: $id is not supported: schemas of a set are named by file, refer to other files by relative name", name, ptr)
	}
	if err := checkDraft(name, v); err != nil {
		return nil, err
	}
	if !ref.IsDescriptor(obj) {
		return nil, nil
	}
	if err := s.meta.Validate(v); err != nil {
		return nil, metaError(name, err)
	}
	if ptr := findRootRef(obj, ""); ptr != "" {
		return nil, fmt.Errorf("schema: %s: %s: $ref to \"#\" points at the descriptor itself, which is not a schema; put the schema under \"$defs\" and refer to \"#/$defs/<name>\"", name, ptr)
	}
	var rd rawDescriptor
	if err := json.Unmarshal(data, &rd); err != nil {
		return nil, fmt.Errorf("schema: %s: %w", name, err)
	}
	return newDescriptor(name, data, &rd)
}

// newDescriptor checks the methods and events of rd, the descriptor of file name, against
// its channels, and returns the Descriptor.
func newDescriptor(name string, data []byte, rd *rawDescriptor) (*Descriptor, error) {
	d := &Descriptor{
		Service: rd.Service, Version: rd.Version, Description: rd.Description,
		Channels: rd.Channels, Defs: rd.Defs, File: name, Raw: bytes.Clone(data),
		Methods: map[string]Method{}, Events: map[string]Event{},
		Listens: map[string]Listen{}, Calls: map[string]Call{},
	}
	var errs []error
	bad := func(ptr, format string, a ...any) {
		errs = append(errs, fmt.Errorf("schema: %s: %s: %s", name, ptr, fmt.Sprintf(format, a...)))
	}
	channelOf := func(ptr, ch string) (ChannelSpec, bool) {
		spec, ok := d.Channels[ch]
		if !ok {
			bad(ptr+"/channel", "unknown channel %q (the service declares %s)", ch, strings.Join(sortedKeys(d.Channels), ", "))
		}
		return spec, ok
	}
	for _, n := range sortedKeys(rd.Methods) {
		m := rd.Methods[n]
		ptr := "/methods/" + escapeToken(n)
		mode, err := channel.ParseMode(m.Mode)
		if err != nil {
			bad(ptr+"/mode", "unknown mode %q (want noResponse, ack, response or stream)", m.Mode)
			continue
		}
		hasResp := len(m.Response) > 0
		switch mode {
		case channel.ModeResponse, channel.ModeStream:
			if !hasResp {
				bad(ptr, "%s mode needs a response schema (for stream: the schema of one item)", m.Mode)
			}
		default:
			if hasResp {
				bad(ptr+"/response", "%s mode has no response; remove the response schema", m.Mode)
			}
		}
		if spec, ok := channelOf(ptr, m.Channel); ok {
			caps, _ := channel.TransportCaps(spec.Transport)
			if mode == channel.ModeResponse && !caps.Response || mode == channel.ModeStream && !caps.Stream {
				bad(ptr, "%s mode over %s channel %q; use tcp, unix or http", m.Mode, spec.Transport, m.Channel)
			}
		}
		d.Methods[n] = Method{Mode: mode, Channel: m.Channel, Request: m.Request, Response: m.Response, Allow: m.Allow}
	}
	for _, n := range sortedKeys(rd.Events) {
		e := rd.Events[n]
		ptr := "/events/" + escapeToken(n)
		mode, err := channel.ParseMode(e.Mode)
		if err != nil {
			bad(ptr+"/mode", "unknown mode %q (want noResponse or ack)", e.Mode)
			continue
		}
		channelOf(ptr, e.Channel)
		d.Events[n] = Event{Channel: e.Channel, Mode: mode, Payload: e.Payload}
	}
	for n, l := range rd.Listens {
		d.Listens[n] = Listen{Payload: l.Payload}
	}
	for n, c := range rd.Calls {
		d.Calls[n] = Call{Request: c.Request, Response: c.Response}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return d, nil
}

// metaError turns a meta-schema failure into "schema: file: /pointer: reason" lines.
func metaError(name string, err error) error {
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return fmt.Errorf("schema: %s: %w", name, err)
	}
	ls := leaves(ve)
	// Of the branches of an anyOf that all failed at one place, a type mismatch ("expected
	// array, but got string") only says which branch it was not; the others say why.
	informative := map[string]bool{}
	for _, l := range ls {
		if !strings.HasPrefix(l.Message, "expected ") {
			informative[l.InstanceLocation] = true
		}
	}
	var lines []string
	for _, l := range ls {
		if strings.HasPrefix(l.Message, "expected ") && informative[l.InstanceLocation] {
			continue
		}
		ptr := unescapeInstance(l.InstanceLocation)
		if ptr == "" {
			ptr = "/"
		}
		lines = append(lines, fmt.Sprintf("schema: %s: %s: %s", name, ptr, l.Message))
	}
	sort.Strings(lines)
	lines = dedupe(lines)
	return errors.New(strings.Join(lines, "\n"))
}

func dedupe(s []string) []string {
	out := s[:0]
	for i, x := range s {
		if i == 0 || x != s[i-1] {
			out = append(out, x)
		}
	}
	return out
}

// findID returns the pointer of the first "$id" keyword in v, or "". The walk skips values
// that are data, not schemas (const, enum, default, examples), and does not take a property
// named "$id" (a key of properties, patternProperties, $defs ...) for the keyword.
func findID(v any, ptr string) string {
	return keywordFinder{kw: "$id", names: isSchemaNames, match: func(any) bool { return true }}.find(v, ptr, false)
}

// findRootRef returns the pointer of the first "$ref" in a descriptor whose target is the
// descriptor's own root ("#" or ""): the root is a descriptor, not a schema, and a
// validator would read it as a schema that accepts everything. The walk skips what findID
// skips, and takes the keys of a descriptor's methods, events, listens, calls and channels
// for names too.
func findRootRef(v any, ptr string) string {
	names := func(k string) bool {
		switch k {
		case "methods", "events", "listens", "calls", "channels":
			return true
		}
		return isSchemaNames(k)
	}
	return keywordFinder{kw: "$ref", names: names, match: func(r any) bool { return r == "#" || r == "" }}.find(v, ptr, false)
}

// keywordFinder finds the first keyword kw, in key order, whose value match accepts.
type keywordFinder struct {
	kw    string
	names func(k string) bool // whether the members of k are named, so that their keys are no keywords
	match func(v any) bool
}

// find walks v, found at ptr; nameMap: v's keys are names.
func (f keywordFinder) find(v any, ptr string, nameMap bool) string {
	switch t := v.(type) {
	case map[string]any:
		if x, ok := t[f.kw]; ok && !nameMap && f.match(x) {
			return ptr + "/" + f.kw
		}
		for _, k := range sortedKeys(t) {
			if !nameMap {
				switch k {
				case "const", "enum", "default", "examples":
					continue // data, not schemas
				}
			}
			if p := f.find(t[k], ptr+"/"+escapeToken(k), !nameMap && f.names(k)); p != "" {
				return p
			}
		}
	case []any:
		for i, e := range t {
			if p := f.find(e, ptr+"/"+strconv.Itoa(i), false); p != "" {
				return p
			}
		}
	}
	return ""
}

// isSchemaNames reports whether the members of keyword k are named schemas.
func isSchemaNames(k string) bool {
	switch k {
	case "properties", "patternProperties", "$defs", "definitions", "dependentSchemas":
		return true
	}
	return false
}
