package gogen

import (
	"go/token"
	"strings"
	"unicode"
)

// initialisms are written in capitals in Go names, as golint wants them.
var initialisms = map[string]bool{
	"ID": true, "URL": true, "URI": true, "HTTP": true, "JSON": true, "UUID": true, "API": true,
	"IP": true, "TCP": true, "UDP": true, "SQL": true, "HTML": true, "XML": true, "TTL": true,
}

// exported turns a JSON name ("shipTo", "order.created", "postal_code") into an exported Go
// identifier ("ShipTo", "OrderCreated", "PostalCode").
func exported(s string) string {
	var words []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			words = append(words, string(cur))
			cur = cur[:0]
		}
	}
	rs := []rune(s)
	for i, r := range rs {
		switch {
		case !unicode.IsLetter(r) && !unicode.IsDigit(r):
			flush()
		case unicode.IsUpper(r) && i > 0 && (unicode.IsLower(rs[i-1]) || unicode.IsDigit(rs[i-1])):
			flush()
			cur = append(cur, r)
		default:
			cur = append(cur, r)
		}
	}
	flush()
	var b strings.Builder
	for _, w := range words {
		if u := strings.ToUpper(w); initialisms[u] {
			b.WriteString(u)
			continue
		}
		r := []rune(w)
		r[0] = unicode.ToUpper(r[0])
		b.WriteString(string(r))
	}
	out := b.String()
	if out == "" {
		return "X"
	}
	if r := []rune(out)[0]; !unicode.IsLetter(r) || !token.IsExported(out) {
		out = "X" + out
	}
	return out
}

// namer hands out unique names in the order they are asked for.
type namer map[string]bool

// take returns want, or want2, want3... when want is taken.
func (n namer) take(want string) string {
	cand := want
	for i := 2; n[cand]; i++ {
		cand = want + itoa(i)
	}
	n[cand] = true
	return cand
}

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}

// comment turns a description into comment text on one line.
func comment(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return strings.ReplaceAll(s, "*/", "* /")
}
