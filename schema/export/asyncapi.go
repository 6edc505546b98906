package export

import (
	"maps"
	"slices"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/schema"
)

// schemaFormat names the dialect of the schemas: descriptors are JSON Schema 2020-12,
// which is not AsyncAPI's default (a superset of draft-07), so every schema is wrapped in
// a Multi Format Schema Object that says so.
const schemaFormat = "application/schema+json;version=draft-2020-12"

// AsyncAPI returns an AsyncAPI 3.0.0 document (JSON) of the services of set: a server per
// channel of each service (its host is a variable: descriptors name channel kinds, not
// addresses), a channel and an operation per method (action receive, with a reply for
// response and stream modes), a channel per event with a send operation for each emitter
// and a receive operation for each listener, and a message per schema.
func AsyncAPI(set *schema.Set, opts Options) ([]byte, error) {
	descs, err := pick(set, opts.Services)
	if err != nil {
		return nil, err
	}
	c := &components{schemas: map[string]any{}, refPrefix: "#/components/schemas/", refSuffix: "/schema"}
	servers := map[string]any{}
	channels := map[string]any{}
	operations := map[string]any{}
	messages := map[string]any{}
	for _, d := range descs {
		s, err := c.add(d)
		if err != nil {
			return nil, err
		}
		for _, n := range slices.Sorted(maps.Keys(d.Channels)) {
			ch := d.Channels[n]
			servers[serverName(d, n)] = map[string]any{
				"host":        "{host}",
				"protocol":    ch.Transport,
				"title":       d.Service + " " + n,
				"description": "Channel " + n + " of " + d.ID() + ": " + ch.Spec() + ". The address of a live instance is in the registry (jesus schema show " + d.Service + " --instances).",
				"variables":   map[string]any{"host": map[string]any{"description": "host:port (or socket path) of an instance"}},
			}
		}
		for _, n := range slices.Sorted(maps.Keys(d.Methods)) {
			asyncMethod(s, n, channels, operations, messages)
		}
		for _, n := range slices.Sorted(maps.Keys(d.Events)) {
			ev := d.Events[n]
			chKey := "event." + n
			chObj := eventChannel(channels, chKey, n)
			msgName := d.Service + ".event." + n
			messages[msgName] = message(msgName, "Payload of event "+n+" as "+d.ID()+" emits it", contentType(d.Channels[ev.Channel].Serializer), s.part("events", n, "payload"))
			chObj["messages"].(map[string]any)[msgName] = ref("#/components/messages/" + msgName)
			chObj["servers"] = append(chObj["servers"].([]any), ref("#/servers/"+serverName(d, ev.Channel)))
			operations[d.Service+".emit."+n] = map[string]any{
				"action":       "send",
				"title":        d.Service + " emits " + n,
				"description":  "Mode " + ev.Mode.String() + ", channel " + ev.Channel + ".",
				"channel":      ref("#/channels/" + escape(chKey)),
				"messages":     []any{ref("#/channels/" + escape(chKey) + "/messages/" + escape(msgName))},
				"x-jesus-mode": ev.Mode.String(),
			}
		}
		for _, n := range slices.Sorted(maps.Keys(d.Listens)) {
			chKey := "event." + n
			chObj := eventChannel(channels, chKey, n)
			msgName := d.Service + ".listen." + n
			messages[msgName] = message(msgName, "Payload of event "+n+" as "+d.ID()+" accepts it", "application/json", s.part("listens", n, "payload"))
			chObj["messages"].(map[string]any)[msgName] = ref("#/components/messages/" + msgName)
			operations[d.Service+".on."+n] = map[string]any{
				"action":   "receive",
				"title":    d.Service + " listens to " + n,
				"channel":  ref("#/channels/" + escape(chKey)),
				"messages": []any{ref("#/channels/" + escape(chKey) + "/messages/" + escape(msgName))},
			}
		}
	}
	for _, ch := range channels {
		m := ch.(map[string]any)
		if srv, ok := m["servers"].([]any); ok && len(srv) == 0 {
			delete(m, "servers") // an event only listened to in this document
		}
	}
	schemas := map[string]any{}
	for n, sch := range c.schemas {
		schemas[n] = wrap(sch)
	}
	doc := map[string]any{
		"asyncapi":           "3.0.0",
		"info":               info(descs, opts.Title),
		"defaultContentType": "application/json",
		"servers":            servers,
		"channels":           channels,
		"operations":         operations,
		"components":         map[string]any{"messages": messages, "schemas": schemas},
	}
	return marshal(doc)
}

func serverName(d *schema.Descriptor, ch string) string { return d.Service + "." + ch }

func ref(p string) map[string]any { return map[string]any{"$ref": p} }

// wrap is a Multi Format Schema Object of a 2020-12 schema (nil: any value).
func wrap(sch any) map[string]any {
	if sch == nil {
		sch = map[string]any{}
	}
	return map[string]any{"schemaFormat": schemaFormat, "schema": sch}
}

func message(name, title, ct string, payload any) map[string]any {
	return map[string]any{"name": name, "title": title, "contentType": ct, "payload": wrap(payload)}
}

func eventChannel(channels map[string]any, key, event string) map[string]any {
	if c, ok := channels[key].(map[string]any); ok {
		return c
	}
	c := map[string]any{
		"address":     event,
		"title":       "event " + event,
		"description": "Event " + event + ": each emitter delivers it to every listener as a call of listener.on." + event + " (see PROTOCOL.md, Events).",
		"messages":    map[string]any{},
		"servers":     []any{},
	}
	channels[key] = c
	return c
}

// asyncMethod adds the channel, messages and operation of one method.
func asyncMethod(s *service, n string, channels, operations, messages map[string]any) {
	d := s.d
	m := d.Methods[n]
	wire := d.WireMethod(n)
	ct := contentType(d.Channels[m.Channel].Serializer)
	chMsgs := map[string]any{}
	reqName := wire + ".request"
	messages[reqName] = message(reqName, "Request of "+wire, ct, s.part("methods", n, "request"))
	chMsgs["request"] = ref("#/components/messages/" + reqName)
	op := map[string]any{
		"action":       "receive",
		"title":        wire,
		"description":  "Mode " + m.Mode.String() + ", channel " + m.Channel + " (" + d.Channels[m.Channel].Spec() + ").",
		"channel":      ref("#/channels/" + escape(wire)),
		"messages":     []any{ref("#/channels/" + escape(wire) + "/messages/request")},
		"x-jesus-mode": m.Mode.String(),
	}
	if m.Mode == channel.ModeResponse || m.Mode == channel.ModeStream {
		key, what := "response", "Response of "
		if m.Mode == channel.ModeStream {
			key, what = "item", "One stream item of "
		}
		resName := wire + "." + key
		messages[resName] = message(resName, what+wire, ct, s.part("methods", n, "response"))
		chMsgs[key] = ref("#/components/messages/" + resName)
		op["reply"] = map[string]any{
			"channel":  ref("#/channels/" + escape(wire)),
			"messages": []any{ref("#/channels/" + escape(wire) + "/messages/" + key)},
		}
	}
	channels[wire] = map[string]any{
		"address":  wire,
		"title":    wire,
		"servers":  []any{ref("#/servers/" + serverName(d, m.Channel))},
		"messages": chMsgs,
	}
	operations[wire] = op
}
