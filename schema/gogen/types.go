package gogen

import (
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"
)

// goType is the Go type of schema sch found in file. hint names the type to declare when
// sch needs one of its own (an object with properties, an enum of strings); nilable tells
// whether the type has a nil value, so an optional field of it needs no pointer.
func (g *gen) goType(sch any, file, hint string) (string, bool, error) {
	m, ok := sch.(map[string]any)
	if !ok || len(m) == 0 {
		return "any", true, nil // true, false or {}
	}
	if ref, ok := m["$ref"].(string); ok {
		d, err := g.refType(ref, file)
		if err != nil {
			return "", false, err
		}
		return d.name, d.nilable, nil
	}
	if needsDecl(m) {
		d, err := g.declare(hint, file, "", m)
		if err != nil {
			return "", false, err
		}
		return d.name, d.nilable, nil
	}
	return g.plainType(m, file, hint)
}

// needsDecl: objects with properties become structs, enums of strings named types.
func needsDecl(m map[string]any) bool {
	if _, ok := m["properties"].(map[string]any); ok && typeIs(m, "object") {
		return true
	}
	return stringEnum(m) != nil
}

// typeIs tells whether m's "type" is t, or absent (then the other keywords decide).
func typeIs(m map[string]any, t string) bool {
	switch v := m["type"].(type) {
	case nil:
		return true
	case string:
		return v == t
	}
	return false
}

func stringEnum(m map[string]any) []string {
	e, ok := m["enum"].([]any)
	if !ok || len(e) == 0 || !typeIs(m, "string") {
		return nil
	}
	out := make([]string, 0, len(e))
	for _, v := range e {
		s, ok := v.(string)
		if !ok {
			return nil
		}
		out = append(out, s)
	}
	return out
}

var scalars = map[string]string{"string": "string", "integer": "int64", "number": "float64", "boolean": "bool"}

// plainType is the type of a schema that needs no declaration of its own.
func (g *gen) plainType(m map[string]any, file, hint string) (string, bool, error) {
	t, _ := m["type"].(string)
	if ts, ok := m["type"].([]any); ok {
		// ["X", "null"] is a pointer to X; any other union is any.
		var other []string
		for _, x := range ts {
			if s, _ := x.(string); s != "null" {
				other = append(other, s)
			}
		}
		if len(other) != 1 || len(other) == len(ts) {
			return "any", true, nil
		}
		mm := make(map[string]any, len(m))
		for k, v := range m {
			mm[k] = v
		}
		mm["type"] = other[0]
		typ, nilable, err := g.goType(mm, file, hint)
		if err != nil || nilable {
			return typ, nilable, err
		}
		return "*" + typ, true, nil
	}
	if t == "" {
		switch {
		case m["properties"] != nil || m["additionalProperties"] != nil:
			t = "object"
		case m["items"] != nil:
			t = "array"
		case m["const"] != nil:
			return constType(m["const"]), false, nil
		}
	}
	if s, ok := scalars[t]; ok {
		return s, false, nil
	}
	switch t {
	case "array":
		items, ok := m["items"]
		if !ok {
			return "[]any", true, nil
		}
		it, _, err := g.goType(items, file, hint+"Item")
		if err != nil {
			return "", false, err
		}
		return "[]" + it, true, nil
	case "object":
		ap, ok := m["additionalProperties"]
		if b, isBool := ap.(bool); !ok || isBool {
			_ = b
			return "map[string]any", true, nil
		}
		vt, _, err := g.goType(ap, file, hint+"Value")
		if err != nil {
			return "", false, err
		}
		return "map[string]" + vt, true, nil
	}
	return "any", true, nil // null, allOf/anyOf/oneOf, not, ...
}

func constType(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case bool:
		return "bool"
	case float64:
		return "float64"
	}
	return "any"
}

// refType is the type of the schema a $ref in file points to, declared once per target.
func (g *gen) refType(ref, file string) (*decl, error) {
	target, ptr, sch, err := g.resolve(ref, file)
	if err != nil {
		return nil, err
	}
	key := target + "#" + ptr
	if d, ok := g.refs[key]; ok {
		return d, nil
	}
	base := exported(strings.TrimSuffix(strings.TrimSuffix(path.Base(target), ".json"), ".defs"))
	name := base
	if ptr != "" {
		name = exported(ptr[strings.LastIndex(ptr, "/")+1:])
	}
	if g.names[name] {
		name = base + name
	}
	m, _ := sch.(map[string]any)
	if m == nil {
		m = map[string]any{}
	}
	return g.declareKey(key, name, target, key, m)
}

// declare adds a named type for schema m found in file.
func (g *gen) declare(name, file, src string, m map[string]any) (*decl, error) {
	return g.declareKey("", name, file, src, m)
}

func (g *gen) declareKey(key, name, file, src string, m map[string]any) (*decl, error) {
	d := &decl{name: g.names.take(name), file: file}
	if key != "" {
		g.refs[key] = d // before the body, so that recursive schemas end here
	}
	g.decls = append(g.decls, d)
	var b strings.Builder
	if desc, _ := m["description"].(string); desc != "" {
		fmt.Fprintf(&b, "// %s is %s\n", d.name, comment(lowerFirst(desc)))
	} else if src != "" {
		fmt.Fprintf(&b, "// %s is the schema %s.\n", d.name, src)
	}
	switch {
	case needsDecl(m) && stringEnum(m) == nil:
		body, err := g.structBody(d.name, m, file)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&b, "type %s struct {\n%s}\n\n", d.name, body)
	case stringEnum(m) != nil:
		fmt.Fprintf(&b, "type %s string\n\n// Values of %s.\nconst (\n", d.name, d.name)
		for _, v := range stringEnum(m) {
			fmt.Fprintf(&b, "\t%s %s = %s\n", g.names.take(d.name+exported(v)), d.name, strconv.Quote(v))
		}
		b.WriteString(")\n\n")
	default:
		if r, ok := m["$ref"].(string); ok {
			t, err := g.refType(r, file)
			if err != nil {
				return nil, err
			}
			d.nilable = t.nilable
			fmt.Fprintf(&b, "type %s = %s\n\n", d.name, t.name)
			break
		}
		t, nilable, err := g.plainType(m, file, d.name)
		if err != nil {
			return nil, err
		}
		d.nilable = nilable
		if strings.HasPrefix(t, "[]") || strings.HasPrefix(t, "map[") {
			// A defined type, not an alias: schemas may recurse through arrays and maps.
			fmt.Fprintf(&b, "type %s %s\n\n", d.name, t)
			break
		}
		fmt.Fprintf(&b, "type %s = %s\n\n", d.name, t)
	}
	d.body = b.String()
	return d, nil
}

func lowerFirst(s string) string {
	if s == "" || strings.ToUpper(s[:1]) == s[:1] && len(s) > 1 && strings.ToUpper(s[1:2]) == s[1:2] {
		return s // an acronym or a name: leave it
	}
	s = strings.ToLower(s[:1]) + s[1:]
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

// structBody writes the fields of an object schema, sorted by JSON name. Required fields
// are values; optional ones are pointers (or nil-able types) with omitempty.
func (g *gen) structBody(name string, m map[string]any, file string) (string, error) {
	props, _ := m["properties"].(map[string]any)
	req := map[string]bool{}
	if r, ok := m["required"].([]any); ok {
		for _, x := range r {
			if s, ok := x.(string); ok {
				req[s] = true
			}
		}
	}
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fields := namer{}
	var b strings.Builder
	for _, k := range keys {
		fn := fields.take(exported(k))
		t, nilable, err := g.goType(props[k], file, name+fn)
		if err != nil {
			return "", err
		}
		tag := k
		if !req[k] {
			tag += ",omitempty"
			if !nilable {
				t = "*" + t
			}
		} else if t == name {
			t = "*" + t // a value of its own type would be infinitely large
		}
		if pm, ok := props[k].(map[string]any); ok {
			if desc, _ := pm["description"].(string); desc != "" {
				fmt.Fprintf(&b, "\t// %s is %s\n", fn, comment(lowerFirst(desc)))
			}
		}
		fmt.Fprintf(&b, "\t%s %s %s\n", fn, t, structTag(tag))
	}
	return b.String(), nil
}

func structTag(name string) string {
	tag := "json:" + strconv.Quote(name)
	if strings.Contains(tag, "`") {
		return strconv.Quote(tag)
	}
	return "`" + tag + "`"
}
