package gogen

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/schema"
)

// apiNames are the identifiers of one service's generated API, reserved before any type so
// that a schema named like them cannot take them.
type apiNames struct {
	svc, client, newClient, handler, register string
	methods, events                           map[string]string // method/event -> constant
}

func (g *gen) reserveService(d *schema.Descriptor) {
	if g.api == nil {
		g.api = map[string]*apiNames{}
	}
	p := exported(d.Service)
	a := &apiNames{
		svc:       g.names.take(p + "Service"),
		client:    g.names.take(p + "Client"),
		newClient: g.names.take("New" + p + "Client"),
		handler:   g.names.take(p + "Handler"),
		register:  g.names.take("Register" + p),
		methods:   map[string]string{},
		events:    map[string]string{},
	}
	for _, m := range slices.Sorted(maps.Keys(d.Methods)) {
		a.methods[m] = g.names.take(p + exported(m) + "Method")
	}
	for _, e := range slices.Sorted(maps.Keys(d.Events)) {
		a.events[e] = g.names.take(p + exported(e) + "Event")
	}
	g.api[d.Service] = a
}

// partType is the type of one schema of the descriptor; name is used when it needs one.
func (g *gen) partType(d *schema.Descriptor, raw json.RawMessage, name string) (string, error) {
	if len(raw) == 0 {
		return "any", nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", fmt.Errorf("gogen: %s: %v", d.ID(), err)
	}
	t, _, err := g.goType(v, d.File, name)
	return t, err
}

type method struct {
	name, goName, constName string
	mode                    schema.Mode
	channel                 string
	req, res                string
}

// service writes the types, constants, client and handler of one service.
func (g *gen) service(d *schema.Descriptor) error {
	a := g.api[d.Service]
	p := exported(d.Service)
	var ms []method
	local := namer{}
	for _, n := range slices.Sorted(maps.Keys(d.Methods)) {
		dm := d.Methods[n]
		m := method{name: n, goName: local.take(exported(n)), constName: a.methods[n], mode: dm.Mode, channel: dm.Channel}
		var err error
		if m.req, err = g.partType(d, dm.Request, p+m.goName+"Request"); err != nil {
			return err
		}
		suffix := "Response"
		if dm.Mode == channel.ModeStream {
			suffix = "Item"
		}
		if m.res, err = g.partType(d, dm.Response, p+m.goName+suffix); err != nil {
			return err
		}
		ms = append(ms, m)
	}
	evTypes := map[string]string{}
	for _, e := range slices.Sorted(maps.Keys(d.Events)) {
		t, err := g.partType(d, d.Events[e].Payload, p+exported(e)+"Payload")
		if err != nil {
			return err
		}
		evTypes[e] = t
	}
	for _, e := range slices.Sorted(maps.Keys(d.Listens)) {
		if _, err := g.partType(d, d.Listens[e].Payload, p+exported(e)+"Payload"); err != nil {
			return err
		}
	}
	f := g.file(d.File)
	var b strings.Builder
	g.writeConsts(&b, d, a, ms, evTypes)
	if len(ms) > 0 {
		f.imports["context"] = true
		f.imports["github.com/jesus-go/jesus/jesus"] = true
		writeClient(&b, d, a, ms, f)
		writeHandler(&b, d, a, ms)
	}
	f.body.WriteString(b.String())
	return nil
}

func (g *gen) writeConsts(b *strings.Builder, d *schema.Descriptor, a *apiNames, ms []method, evTypes map[string]string) {
	fmt.Fprintf(b, "// %s is the name of service %s; the generated code follows its version %s.\n", a.svc, d.Service, d.Version)
	if d.Description != "" {
		fmt.Fprintf(b, "// %s\n", comment(d.Description))
	}
	fmt.Fprintf(b, "const %s = %q\n\n", a.svc, d.Service)
	if len(ms) > 0 {
		fmt.Fprintf(b, "// Wire names of the methods of %s, as clients call them.\nconst (\n", d.Service)
		for _, m := range ms {
			fmt.Fprintf(b, "\t%s = %q\n", m.constName, d.WireMethod(m.name))
		}
		b.WriteString(")\n\n")
	}
	if len(d.Events) > 0 {
		fmt.Fprintf(b, "// Events %s emits, with their payload types:\n", d.Service)
		for _, e := range slices.Sorted(maps.Keys(d.Events)) {
			fmt.Fprintf(b, "//   - %s (%s, channel %s): %s\n", e, d.Events[e].Mode, d.Events[e].Channel, evTypes[e])
		}
		b.WriteString("const (\n")
		for _, e := range slices.Sorted(maps.Keys(d.Events)) {
			fmt.Fprintf(b, "\t%s = %q\n", a.events[e], e)
		}
		b.WriteString(")\n\n")
	}
}

func writeClient(b *strings.Builder, d *schema.Descriptor, a *apiNames, ms []method, f *file) {
	fmt.Fprintf(b, "// %s calls the methods of service %s through a *jesus.Client, which picks the\n// channel and instance. It is safe for concurrent use.\n", a.client, d.Service)
	fmt.Fprintf(b, "type %s struct {\n\tc *jesus.Client\n}\n\n", a.client)
	fmt.Fprintf(b, "// %s returns a client of service %s that calls through c.\n", a.newClient, d.Service)
	fmt.Fprintf(b, "func %s(c *jesus.Client) *%s { return &%s{c: c} }\n\n", a.newClient, a.client, a.client)
	for _, m := range ms {
		fmt.Fprintf(b, "// %s calls %s (mode %s, channel %s).\n", m.goName, d.WireMethod(m.name), m.mode, m.channel)
		sig := fmt.Sprintf("func (x *%s) %s(ctx context.Context, req %s)", a.client, m.goName, m.req)
		switch m.mode {
		case channel.ModeStream:
			f.imports["iter"] = true
			fmt.Fprintf(b, "%s iter.Seq2[%s, error] {\n\treturn jesus.Stream[%s, %s](ctx, x.c, %s, req)\n}\n\n", sig, m.res, m.req, m.res, m.constName)
		case channel.ModeResponse:
			fmt.Fprintf(b, "%s (%s, error) {\n\treturn jesus.Call[%s, %s](ctx, x.c, %s, req)\n}\n\n", sig, m.res, m.req, m.res, m.constName)
		case channel.ModeAck:
			fmt.Fprintf(b, "%s error {\n\treturn jesus.Ack(ctx, x.c, %s, req)\n}\n\n", sig, m.constName)
		default:
			fmt.Fprintf(b, "%s error {\n\treturn jesus.Send(ctx, x.c, %s, req)\n}\n\n", sig, m.constName)
		}
	}
}

func handlerSig(m method) string {
	switch m.mode {
	case channel.ModeStream:
		return fmt.Sprintf("%s(ctx context.Context, req %s, send func(%s) error) error", m.goName, m.req, m.res)
	case channel.ModeResponse:
		return fmt.Sprintf("%s(ctx context.Context, req %s) (%s, error)", m.goName, m.req, m.res)
	}
	return fmt.Sprintf("%s(ctx context.Context, req %s) error", m.goName, m.req)
}

func writeHandler(b *strings.Builder, d *schema.Descriptor, a *apiNames, ms []method) {
	fmt.Fprintf(b, "// %s serves the methods of service %s; %s registers it on a *jesus.Server.\n", a.handler, d.Service, a.register)
	fmt.Fprintf(b, "type %s interface {\n", a.handler)
	for _, m := range ms {
		fmt.Fprintf(b, "\t// %s serves %s (mode %s).\n\t%s\n", m.goName, d.WireMethod(m.name), m.mode, handlerSig(m))
	}
	b.WriteString("}\n\n")
	fmt.Fprintf(b, "// %s registers every method of h on srv, each with opts.\n", a.register)
	fmt.Fprintf(b, "func %s(srv *jesus.Server, h %s, opts ...jesus.HandlerOption) {\n", a.register, a.handler)
	for _, m := range ms {
		fn := "Handle"
		switch m.mode {
		case channel.ModeStream:
			fn = "HandleStream"
		case channel.ModeNoResponse, channel.ModeAck:
			fn = "HandleOneWay"
		}
		fmt.Fprintf(b, "\tjesus.%s(srv, %s, h.%s, opts...)\n", fn, strconv.Quote(m.name), m.goName)
	}
	b.WriteString("}\n\n")
}
