package export

import (
	"maps"
	"slices"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/schema"
)

// errorSchema is the body of an http error reply (PROTOCOL.md 4.2 and 7).
var errorSchema = map[string]any{
	"type":        "object",
	"description": "An error reply: its HTTP status follows the code; the Jesus-Error-Code header repeats the code.",
	"required":    []any{"code", "message"},
	"properties": map[string]any{
		"code": map[string]any{"enum": []any{"canceled", "unknown", "invalid_argument", "deadline_exceeded", "not_found",
			"already_exists", "permission_denied", "resource_exhausted", "failed_precondition", "unimplemented", "internal",
			"unavailable", "unauthenticated", "incompatible", "bad_response"}},
		"message": map[string]any{"type": "string"},
		"details": map[string]any{
			"description": "For a schema failure: the service, the method and every failing JSON pointer.",
			"type":        "object",
			"properties": map[string]any{
				"service": map[string]any{"type": "string"},
				"method":  map[string]any{"type": "string"},
				"failures": map[string]any{"type": "array", "items": map[string]any{
					"type": "object",
					"properties": map[string]any{
						"pointer": map[string]any{"type": "string"},
						"keyword": map[string]any{"type": "string"},
						"message": map[string]any{"type": "string"},
					},
				}},
			},
		},
	},
}

// OpenAPI returns an OpenAPI 3.1.0 document (JSON) of the methods of set's services that
// are served on an http channel: POST /{service}.{method} with the request body, the
// reply of the method's mode (200 with the response, 202 for ack, 204 for noResponse, 200
// with a frame stream for stream mode), the meta headers and the error body. Methods on
// other transports are left out; a set with none gives a document without paths.
func OpenAPI(set *schema.Set, opts Options) ([]byte, error) {
	descs, err := pick(set, opts.Services)
	if err != nil {
		return nil, err
	}
	c := &components{schemas: map[string]any{}, refPrefix: "#/components/schemas/"}
	paths := map[string]any{}
	var tags []any
	for _, d := range descs {
		s, err := c.add(d)
		if err != nil {
			return nil, err
		}
		tag := map[string]any{"name": d.Service}
		if d.Description != "" {
			tag["description"] = d.Description
		}
		tags = append(tags, tag)
		for _, n := range slices.Sorted(maps.Keys(d.Methods)) {
			m := d.Methods[n]
			ch := d.Channels[m.Channel]
			if ch.Transport != "http" {
				continue
			}
			paths["/"+d.WireMethod(n)] = map[string]any{"post": operation(s, n, m, ch)}
		}
	}
	c.schemas["jesus.Error"] = errorSchema
	doc := map[string]any{
		"openapi": "3.1.0",
		"info":    info(descs, opts.Title),
		"servers": []any{map[string]any{
			"url":         "http://{host}",
			"description": "An instance's http channel; its address is in the registry (jesus schema show SERVICE --instances).",
			"variables":   map[string]any{"host": map[string]any{"default": "127.0.0.1:8080", "description": "host:port of an instance"}},
		}},
		"tags":       tags,
		"paths":      paths,
		"components": map[string]any{"schemas": c.schemas, "parameters": parameters()},
	}
	return marshal(doc)
}

func parameters() map[string]any {
	h := func(name, desc string, sch map[string]any) map[string]any {
		return map[string]any{"name": name, "in": "header", "description": desc, "schema": sch}
	}
	str := map[string]any{"type": "string"}
	return map[string]any{
		"timeout":     h("Jesus-Timeout", "Deadline of the call in milliseconds (0 or absent: none).", map[string]any{"type": "integer", "minimum": 0}),
		"corrid":      h("Jesus-Corrid", "Correlation id, passed on by every hop.", str),
		"userid":      h("Jesus-Userid", "The end user on whose behalf the call is made.", str),
		"from":        h("Jesus-From", "The calling service.", str),
		"traceparent": h("Traceparent", "W3C trace context.", str),
	}
}

func operation(s *service, n string, m schema.Method, ch schema.ChannelSpec) map[string]any {
	d := s.d
	ct := contentType(ch.Serializer)
	body := func(sch any) map[string]any {
		if sch == nil {
			sch = map[string]any{}
		}
		return map[string]any{ct: map[string]any{"schema": sch}}
	}
	params := []any{ref("#/components/parameters/timeout"), ref("#/components/parameters/corrid"),
		ref("#/components/parameters/userid"), ref("#/components/parameters/from"), ref("#/components/parameters/traceparent")}
	mode := map[string]any{"name": "Jesus-Mode", "in": "header", "schema": map[string]any{"const": m.Mode.String()},
		"description": "The method's mode; absent means response."}
	if m.Mode != channel.ModeResponse {
		mode["required"] = true
	}
	params = append(params, mode)
	responses := map[string]any{
		"default": map[string]any{
			"description": "An error: invalid_argument (400) names every failing JSON pointer of the request.",
			"content":     map[string]any{"application/json": map[string]any{"schema": ref("#/components/schemas/jesus.Error")}},
		},
	}
	switch m.Mode {
	case channel.ModeResponse:
		responses["200"] = map[string]any{"description": "The response.", "content": body(s.part("methods", n, "response"))}
	case channel.ModeStream:
		item := s.part("methods", n, "response")
		if item == nil {
			item = map[string]any{}
		}
		responses["200"] = map[string]any{
			"description": "A stream of frames (PROTOCOL.md 4.3): each a u32be length and a binary envelope whose data is one item (schema x-jesus-item), then an end or error envelope.",
			"content": map[string]any{"application/vnd.jesus.stream": map[string]any{
				"schema": map[string]any{"type": "string", "contentMediaType": "application/vnd.jesus.stream", "x-jesus-item": item},
			}},
		}
	case channel.ModeAck:
		responses["202"] = map[string]any{"description": "Accepted: the receiver acknowledged the request."}
	default:
		responses["204"] = map[string]any{"description": "Handed to the receiver; no answer is expected (noResponse)."}
	}
	desc := "Mode " + m.Mode.String() + " on channel " + m.Channel + " (" + ch.Spec() + ")."
	if ch.Compressor != "" && ch.Compressor != "none" {
		desc += " Bodies may be compressed with Content-Encoding: " + ch.Compressor + "."
	}
	return map[string]any{
		"operationId":  d.WireMethod(n),
		"summary":      d.WireMethod(n),
		"description":  desc,
		"tags":         []any{d.Service},
		"parameters":   params,
		"requestBody":  map[string]any{"required": true, "content": body(s.part("methods", n, "request"))},
		"responses":    responses,
		"x-jesus-mode": m.Mode.String(),
	}
}
