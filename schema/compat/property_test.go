package compat_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jesus-go/jesus/schema/compat"
	"github.com/santhosh-tekuri/jsonschema/v5"
)

// soundness checks one pair: a Compatible verdict must hold for every
// generated instance of A, and a witness must be valid under A and invalid
// under B. It returns how many instances of A it tried.
func soundness(t testing.TB, a, b string, seed uint64, n int) (compat.Result, int) {
	t.Helper()
	da, db := decodeDoc(t, a), decodeDoc(t, b)
	r := compat.Check(compat.Schema{Root: da}, compat.Schema{Root: db})
	sa, sb := compile(t, a), compile(t, b)
	if r.Verdict == compat.Incompatible {
		if sa.Validate(r.Witness) != nil || sb.Validate(r.Witness) == nil {
			t.Fatalf("A=%s B=%s: witness %s is not a counterexample", a, b, show(r.Witness))
		}
	}
	samples := compat.Samples(compat.Schema{Root: da}, n, seed)
	for _, v := range samples {
		if sa.Validate(v) != nil {
			t.Fatalf("A=%s: sample %s is not valid under A", a, show(v))
		}
		if r.Verdict == compat.Compatible && sb.Validate(v) != nil {
			t.Fatalf("A=%s B=%s: checker says compatible but %s is valid under A and not under B", a, b, show(v))
		}
	}
	return r, len(samples)
}

func decodeDoc(t testing.TB, s string) any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	return v
}

func show(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestPropertyTable(t *testing.T) {
	tried := 0
	for i, p := range pairs {
		_, n := soundness(t, p.a, p.b, uint64(i), 200)
		tried += n
	}
	t.Logf("table pairs: %d, generated instances of A tried against B: %d", len(pairs), tried)
}

func TestPropertyRandomPairs(t *testing.T) {
	n := 300
	if testing.Short() {
		n = 60
	}
	seed := uint64(7)
	if v, err := strconv.Atoi(os.Getenv("COMPAT_RANDOM_PAIRS")); err == nil && v > 0 {
		n, seed = v, uint64(time.Now().UnixNano())
		if s, err := strconv.ParseUint(os.Getenv("COMPAT_SEED"), 10, 64); err == nil {
			seed = s
		}
		t.Logf("seed %d", seed)
	}
	rng := rand.New(rand.NewPCG(seed, 11))
	tried := 0
	verdicts := map[compat.Verdict]int{}
	for i := 0; i < n; i++ {
		a, b := randomSchema(rng, 0), randomSchema(rng, 0)
		if rng.IntN(3) == 0 {
			b = mutateSchema(rng, a)
		}
		if !compiles(a) || !compiles(b) {
			continue
		}
		r, k := soundness(t, a, b, uint64(i), 60)
		verdicts[r.Verdict]++
		tried += k
	}
	t.Logf("random pairs: %d compatible, %d incompatible, %d cannot prove; generated instances of A tried against B: %d",
		verdicts[compat.Compatible], verdicts[compat.Incompatible], verdicts[compat.Unproven], tried)
}

func compiles(s string) bool {
	c := jsonschema.NewCompiler()
	if err := c.AddResource("mem:///s.json", strings.NewReader(s)); err != nil {
		return false
	}
	_, err := c.Compile("mem:///s.json")
	return err == nil
}

// randomSchema draws a small schema from a grammar whose values overlap
// often, so that the pairs exercise every verdict.
func randomSchema(rng *rand.Rand, depth int) string {
	if depth > 2 {
		return []string{`true`, `{"type":"integer"}`, `{"type":"string"}`, `{}`, `{"$ref":"#"}`}[rng.IntN(5)]
	}
	if depth > 0 && rng.IntN(10) == 0 {
		return `{"$ref":"#"}`
	}
	var kw []string
	add := func(s string, args ...any) { kw = append(kw, fmt.Sprintf(s, args...)) }
	types := []string{"null", "boolean", "integer", "number", "string", "object", "array"}
	if b, ok := randomCombinator(rng, depth, add); ok {
		return b
	}
	t := types[rng.IntN(len(types))]
	if rng.IntN(4) == 0 {
		add(`"type":["%s","null"]`, t)
	} else if rng.IntN(5) > 0 {
		add(`"type":"%s"`, t)
	}
	switch t {
	case "integer", "number":
		randomNumberKeywords(rng, add)
	case "string":
		randomStringKeywords(rng, add)
	case "object":
		randomObjectKeywords(rng, depth, add)
	case "array":
		randomArrayKeywords(rng, depth, add)
	}
	return "{" + strings.Join(kw, ",") + "}"
}

// randomCombinator adds, now and then, an enum, const, combinator or a not to a drawn
// schema; ok is set when the schema is a boolean one instead.
func randomCombinator(rng *rand.Rand, depth int, add func(string, ...any)) (boolean string, ok bool) {
	switch rng.IntN(16) {
	case 0:
		return []string{`true`, `false`}[rng.IntN(2)], true
	case 1:
		add(`"enum":[%s]`, strings.Join(pick(rng, []string{`1`, `2`, `2.5`, `"a"`, `"b"`, `null`, `true`, `{}`, `[]`}, 1+rng.IntN(3)), ","))
	case 2:
		add(`"const":%s`, []string{`1`, `"a"`, `null`, `{"k":1}`}[rng.IntN(4)])
	case 3:
		add(`"anyOf":[%s,%s]`, randomSchema(rng, depth+1), randomSchema(rng, depth+1))
	case 4:
		add(`"oneOf":[%s,%s]`, randomSchema(rng, depth+1), randomSchema(rng, depth+1))
	case 5:
		add(`"not":%s`, randomSchema(rng, depth+1))
	case 6:
		add(`"allOf":[%s,%s]`, randomSchema(rng, depth+1), randomSchema(rng, depth+1))
	case 7:
		bounds := []string{"0", "2", "2.5", "3", "5"}
		add(`"anyOf":[{"%s":%s},{"%s":%s}]`, []string{"maximum", "exclusiveMaximum"}[rng.IntN(2)], bounds[rng.IntN(5)],
			[]string{"minimum", "exclusiveMinimum"}[rng.IntN(2)], bounds[rng.IntN(5)])
	case 8:
		add(`"not":{"type":"%s","%s":%s}`, []string{"integer", "number", "string"}[rng.IntN(3)],
			[]string{"minimum", "maximum", "maxLength", "pattern"}[rng.IntN(4)], []string{"2", "3", `"^a"`}[rng.IntN(3)])
	}
	return "", false
}

func randomNumberKeywords(rng *rand.Rand, add func(string, ...any)) {
	if rng.IntN(2) == 0 {
		add(`"%s":%s`, []string{"minimum", "exclusiveMinimum"}[rng.IntN(2)], []string{"0", "1", "-1", "0.5"}[rng.IntN(4)])
	}
	if rng.IntN(2) == 0 {
		add(`"%s":%s`, []string{"maximum", "exclusiveMaximum"}[rng.IntN(2)], []string{"3", "5", "2.5"}[rng.IntN(3)])
	}
	if rng.IntN(3) == 0 {
		add(`"multipleOf":%s`, []string{"0.5", "0.25", "1", "2", "3", "1.5"}[rng.IntN(6)])
	}
}

func randomStringKeywords(rng *rand.Rand, add func(string, ...any)) {
	if rng.IntN(2) == 0 {
		add(`"minLength":%d`, rng.IntN(3))
	}
	if rng.IntN(2) == 0 {
		add(`"maxLength":%d`, 1+rng.IntN(4))
	}
	if rng.IntN(4) == 0 {
		pats := []string{"^a", "^[a-z]+$", "b", "^[a-c]+$", "[0-9]", "^a.b$", "^(ab|cd)+$", "^\\\\d{2}$", "(?i)^A", "c$"}
		add(`"pattern":"%s"`, pats[rng.IntN(len(pats))])
	}
	if rng.IntN(6) == 0 {
		add(`"format":"%s"`, []string{"email", "date"}[rng.IntN(2)])
	}
}

func randomObjectKeywords(rng *rand.Rand, depth int, add func(string, ...any)) {
	var props []string
	for _, name := range pick(rng, []string{"a", "b", "c"}, rng.IntN(3)) {
		props = append(props, fmt.Sprintf(`"%s":%s`, name, randomSchema(rng, depth+1)))
	}
	if len(props) > 0 {
		add(`"properties":{%s}`, strings.Join(props, ","))
	}
	if rng.IntN(2) == 0 {
		add(`"required":[%s]`, strings.Join(pick(rng, []string{`"a"`, `"b"`}, 1+rng.IntN(2)), ","))
	}
	if rng.IntN(3) == 0 {
		add(`"additionalProperties":%s`, randomSchema(rng, depth+1))
	}
	switch rng.IntN(8) {
	case 0:
		add(`"patternProperties":{"^a":%s}`, randomSchema(rng, depth+1))
	case 1:
		add(`"dependentRequired":{"a":["b"]}`)
	case 2:
		add(`"propertyNames":{"maxLength":1}`)
	case 3:
		add(`"minProperties":1`)
	case 4:
		add(`"if":{"required":["a"]},"then":{"required":["c"]}`)
	}
}

func randomArrayKeywords(rng *rand.Rand, depth int, add func(string, ...any)) {
	if rng.IntN(2) == 0 {
		add(`"items":%s`, randomSchema(rng, depth+1))
	}
	if rng.IntN(3) == 0 {
		add(`"prefixItems":[%s]`, randomSchema(rng, depth+1))
	}
	if rng.IntN(3) == 0 {
		add(`"minItems":%d`, rng.IntN(2))
	}
	if rng.IntN(3) == 0 {
		add(`"maxItems":%d`, 1+rng.IntN(3))
	}
	if rng.IntN(5) == 0 {
		add(`"uniqueItems":true`)
	}
	if rng.IntN(6) == 0 {
		add(`"contains":%s`, randomSchema(rng, depth+1))
	}
}

// mutateSchema returns a variation of s: often a superset or subset of it.
func mutateSchema(rng *rand.Rand, s string) string {
	repl := [][2]string{{`"integer"`, `"number"`}, {`"number"`, `"integer"`}, {`"maxLength":`, `"maxLength":1`},
		{`"minimum":`, `"exclusiveMinimum":`}, {`"required":["a"`, `"required":["b"`}, {`0.5`, `0.25`}, {`"null"`, `"string"`},
		{`"additionalProperties":`, `"additionalProperties":false,"x":`}, {`"anyOf"`, `"oneOf"`}}
	out := s
	for i := 0; i < 2; i++ {
		r := repl[rng.IntN(len(repl))]
		out = strings.Replace(out, r[0], r[1], 1)
	}
	return out
}

func pick(rng *rand.Rand, from []string, n int) []string {
	p := rng.Perm(len(from))
	out := make([]string, 0, n)
	for i := 0; i < n && i < len(p); i++ {
		out = append(out, from[p[i]])
	}
	return out
}
