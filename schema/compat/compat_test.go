package compat_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/jesus-go/jesus/schema/compat"
	"github.com/santhosh-tekuri/jsonschema/v5"
)

const (
	C = compat.Compatible
	I = compat.Incompatible
	U = compat.Unproven
)

// pair is one row of the verdict table; it is shared with the property and
// fuzz tests.
type pair struct {
	name string
	a, b string
	want compat.Verdict
	// reason, when set, must occur in the result's Reason.
	reason string
}

var pairs = []pair{
	// boolean schemas
	{"true⊆true", `true`, `true`, C, ""},
	{"false⊆anything", `false`, `{"type":"string"}`, C, ""},
	{"true⊄false", `true`, `false`, I, "forbids"},
	{"string⊄false", `{"type":"string"}`, `false`, I, ""},
	{"true⊄string", `true`, `{"type":"string"}`, I, ""},
	{"empty⊆empty", `{}`, `{"description":"x"}`, C, ""},
	// type
	{"integer⊆number", `{"type":"integer"}`, `{"type":"number"}`, C, ""},
	{"number⊄integer", `{"type":"number"}`, `{"type":"integer"}`, I, "non-integer"},
	{"number multipleOf 1⊆integer", `{"type":"number","multipleOf":1}`, `{"type":"integer"}`, C, ""},
	{"string⊆string|null", `{"type":"string"}`, `{"type":["string","null"]}`, C, ""},
	{"string|null⊄string", `{"type":["string","null"]}`, `{"type":"string"}`, I, "null"},
	{"nullable both", `{"type":["null","integer"]}`, `{"type":["number","null"]}`, C, ""},
	// numeric bounds
	{"int [1,10]⊆number [0,10]", `{"type":"integer","minimum":1,"maximum":10}`, `{"type":"number","minimum":0,"maximum":10}`, C, ""},
	{"int [0,10]⊄int [1,10]", `{"type":"integer","minimum":0,"maximum":10}`, `{"type":"integer","minimum":1,"maximum":10}`, I, "can send 0"},
	{"int excl>0⊆int min 1", `{"type":"integer","exclusiveMinimum":0}`, `{"type":"integer","minimum":1}`, C, ""},
	{"int min 1⊆int excl>0", `{"type":"integer","minimum":1}`, `{"type":"integer","exclusiveMinimum":0}`, C, ""},
	{"number excl>0⊄number min 1", `{"type":"number","exclusiveMinimum":0}`, `{"type":"number","minimum":1}`, I, ""},
	{"number max 5⊄number excl<5", `{"type":"number","maximum":5}`, `{"type":"number","exclusiveMaximum":5}`, I, ""},
	{"number excl<5⊆number max 5", `{"type":"number","exclusiveMaximum":5}`, `{"type":"number","maximum":5}`, C, ""},
	{"int⊄int max 100", `{"type":"integer"}`, `{"type":"integer","maximum":100}`, I, "above"},
	{"number [0.5,1.5] int part ⊆ int [1,1]", `{"type":"integer","minimum":0.5,"maximum":1.5}`, `{"type":"integer","minimum":1,"maximum":1}`, C, ""},
	// multipleOf
	{"multipleOf 0.5⊆0.25", `{"type":"number","multipleOf":0.5}`, `{"type":"number","multipleOf":0.25}`, C, ""},
	{"multipleOf 0.25⊄0.5", `{"type":"number","multipleOf":0.25}`, `{"type":"number","multipleOf":0.5}`, I, "multiples"},
	{"multipleOf 0.1⊆0.01 decimals", `{"multipleOf":0.1}`, `{"multipleOf":0.01}`, C, ""},
	{"integer⊆multipleOf 0.5", `{"type":"integer"}`, `{"type":"number","multipleOf":0.5}`, C, ""},
	{"integer⊄multipleOf 2", `{"type":"integer"}`, `{"type":"integer","multipleOf":2}`, I, ""},
	{"int multipleOf 1.5⊆multipleOf 3", `{"type":"integer","multipleOf":1.5}`, `{"type":"integer","multipleOf":3}`, C, ""},
	// strings
	{"len [2,5]⊆[1,10]", `{"type":"string","minLength":2,"maxLength":5}`, `{"type":"string","minLength":1,"maxLength":10}`, C, ""},
	{"len any⊄max 3", `{"type":"string"}`, `{"type":"string","maxLength":3}`, I, "longer"},
	{"len any⊄min 1", `{"type":"string"}`, `{"type":"string","minLength":1}`, I, "shorter"},
	{"same pattern", `{"type":"string","pattern":"^[a-z]+$","maxLength":3}`, `{"type":"string","pattern":"^[a-z]+$"}`, C, ""},
	{"narrower pattern", `{"type":"string","pattern":"^[a-c]+$"}`, `{"type":"string","pattern":"^[a-z]+$"}`, C, ""},
	{"wider pattern", `{"type":"string","pattern":"^[a-z]+$"}`, `{"type":"string","pattern":"^[a-c]+$"}`, I, `"x"`},
	{"anchored ⊆ unanchored", `{"type":"string","pattern":"^abc"}`, `{"type":"string","pattern":"abc"}`, C, ""},
	{"unanchored ⊄ anchored", `{"type":"string","pattern":"abc"}`, `{"type":"string","pattern":"^abc"}`, I, "abc"},
	{"anchored both ends ⊆ one end", `{"type":"string","pattern":"^ab+c$"}`, `{"type":"string","pattern":"b+c$"}`, C, ""},
	{"dot excludes newline", `{"type":"string","pattern":"^a.c$"}`, `{"type":"string","pattern":"^a[^\\n]c$"}`, C, ""},
	{"any char ⊄ dot", `{"type":"string","pattern":"^a[\\s\\S]c$"}`, `{"type":"string","pattern":"^a.c$"}`, I, `"a\nc"`},
	{"no pattern ⊄ dot pattern", `{"type":"string","maxLength":3}`, `{"type":"string","pattern":"^.{0,3}$"}`, I, `"\n"`},
	{"pattern and length ⊆ bounded pattern", `{"type":"string","pattern":"^[a-z]+$","maxLength":3}`, `{"type":"string","pattern":"^[a-z]{1,3}$"}`, C, ""},
	{"pattern without length ⊄ bounded pattern", `{"type":"string","pattern":"^[a-z]+$"}`, `{"type":"string","pattern":"^[a-z]{1,3}$"}`, I, ""},
	{"alternation ⊆ class", `{"type":"string","pattern":"^(cat|dog)$"}`, `{"type":"string","pattern":"^[a-z]{3}$"}`, C, ""},
	{"case folding ⊄ exact", `{"type":"string","pattern":"^(?i)abc$"}`, `{"type":"string","pattern":"^abc$"}`, I, ""},
	{"exact ⊆ case folding", `{"type":"string","pattern":"^abc$"}`, `{"type":"string","pattern":"(?i)^ABC$"}`, C, ""},
	{"two patterns on A", `{"type":"string","allOf":[{"pattern":"^[a-z]+$"},{"pattern":"^.{2}$"}]}`, `{"type":"string","pattern":"^[a-z][a-z]$"}`, C, ""},
	{"word boundary unproven", `{"type":"string","pattern":"^foo$"}`, `{"type":"string","pattern":"\\bfoo"}`, U, "not supported"},
	{"digits ⊆ unicode digits", `{"type":"string","pattern":"^[0-9]+$"}`, `{"type":"string","pattern":"^\\d+$"}`, C, ""},
	// formats imply lengths and patterns
	{"date ⊆ maxLength 10", `{"type":"string","format":"date"}`, `{"type":"string","minLength":10,"maxLength":10}`, C, ""},
	{"date ⊆ digits and dashes", `{"type":"string","format":"date"}`, `{"type":"string","pattern":"^[0-9-]+$"}`, C, ""},
	{"date ⊄ maxLength 9", `{"type":"string","format":"date"}`, `{"type":"string","maxLength":9}`, I, "longer"},
	{"uuid ⊆ hex pattern", `{"type":"string","format":"uuid"}`, `{"type":"string","pattern":"^[0-9a-fA-F-]{36}$"}`, C, ""},
	{"date-time ⊆ starts with a date", `{"type":"string","format":"date-time"}`, `{"type":"string","pattern":"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt]","minLength":20}`, C, ""},
	{"ipv4 ⊆ no letters", `{"type":"string","format":"ipv4"}`, `{"type":"string","pattern":"^[0-9.+-]+$"}`, C, ""},
	{"uuid-shaped pattern ⊆ uuid", `{"type":"string","pattern":"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"}`, `{"type":"string","format":"uuid"}`, C, ""},
	{"loose pattern ⊄ uuid", `{"type":"string","pattern":"^[0-9a-f-]{36}$"}`, `{"type":"string","format":"uuid"}`, I, `format "uuid"`},
	{"date pattern ⊄ date format", `{"type":"string","pattern":"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}`, `{"type":"string","format":"date"}`, I, "format"},
	{"no pattern⊄pattern", `{"type":"string"}`, `{"type":"string","pattern":"^[a-z]+$"}`, I, ""},
	{"format same", `{"type":"string","format":"email"}`, `{"type":"string","format":"email"}`, C, ""},
	{"format missing", `{"type":"string"}`, `{"type":"string","format":"email"}`, I, "format"},
	// enum / const
	{"const⊆enum", `{"const":"a"}`, `{"enum":["a","b"]}`, C, ""},
	{"enum⊄const", `{"enum":["a","b"]}`, `{"const":"a"}`, I, `"b"`},
	{"enum⊆type", `{"enum":["a",1]}`, `{"type":["string","integer"]}`, C, ""},
	{"enum⊆pattern", `{"enum":["abc","xyz"]}`, `{"type":"string","pattern":"^[a-z]{3}$"}`, C, ""},
	{"enum⊄pattern", `{"enum":["abc","XYZ"]}`, `{"type":"string","pattern":"^[a-z]{3}$"}`, I, `"XYZ"`},
	{"pattern⊄enum", `{"type":"string","pattern":"^a"}`, `{"enum":["a","ab"]}`, I, ""},
	{"string⊄enum", `{"type":"string"}`, `{"enum":["a","b"]}`, I, "enum"},
	{"boolean⊆enum true,false", `{"type":"boolean"}`, `{"enum":[true,false]}`, C, ""},
	{"enum numbers by value", `{"enum":[1,2.0]}`, `{"enum":[1.0,2]}`, C, ""},
	// objects
	{"closed⊆open", `{"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":false}`, `{"type":"object","properties":{"a":{"type":"string"}}}`, C, ""},
	{"open⊄closed", `{"type":"object","properties":{"a":{"type":"string"}}}`, `{"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":false}`, I, "additional"},
	{"required missing", `{"type":"object","properties":{"a":{"type":"string"}}}`, `{"type":"object","required":["a"]}`, I, "can omit /a"},
	{"required kept", `{"type":"object","required":["a","b"]}`, `{"type":"object","required":["a"]}`, C, ""},
	{"prop type narrower", `{"type":"object","properties":{"a":{"type":"integer"}}}`, `{"type":"object","properties":{"a":{"type":"number"}}}`, C, ""},
	{"prop type wider", `{"type":"object","properties":{"a":{"type":"number"}}}`, `{"type":"object","properties":{"a":{"type":"integer"}}}`, I, "/a"},
	{"nested required", `{"type":"object","required":["customer"],"properties":{"customer":{"type":"object","properties":{"email":{"type":"string"}}}}}`,
		`{"type":"object","required":["customer"],"properties":{"customer":{"type":"object","required":["email"]}}}`, I, "/customer/email"},
	{"additionalProperties schema", `{"type":"object","additionalProperties":{"type":"integer"}}`, `{"type":"object","additionalProperties":{"type":"number"}}`, C, ""},
	{"additional vs named", `{"type":"object","additionalProperties":{"type":"string"}}`, `{"type":"object","properties":{"a":{"type":"string"}}}`, C, ""},
	{"additional vs named bad", `{"type":"object","additionalProperties":{"type":"string"}}`, `{"type":"object","properties":{"a":{"type":"integer"}}}`, I, "/a"},
	{"closed A extra prop to B's additional", `{"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":false}`, `{"type":"object","additionalProperties":{"type":"string"}}`, C, ""},
	{"minProperties", `{"type":"object"}`, `{"type":"object","minProperties":1}`, I, "fewer"},
	// arrays
	{"items narrower", `{"type":"array","items":{"type":"integer"}}`, `{"type":"array","items":{"type":"number"}}`, C, ""},
	{"items wider", `{"type":"array","items":{"type":"number"}}`, `{"type":"array","items":{"type":"integer"}}`, I, "/0"},
	{"min/maxItems", `{"type":"array","minItems":1,"maxItems":3}`, `{"type":"array","maxItems":5}`, C, ""},
	{"maxItems wider", `{"type":"array","maxItems":6}`, `{"type":"array","maxItems":5}`, I, "more than 5"},
	{"prefixItems⊆items", `{"type":"array","prefixItems":[{"type":"integer"},{"type":"integer"}],"items":false}`, `{"type":"array","items":{"type":"number"}}`, C, ""},
	{"prefixItems open tail⊄items", `{"type":"array","prefixItems":[{"type":"integer"}]}`, `{"type":"array","items":{"type":"integer"}}`, I, "/1"},
	{"items⊄prefixItems closed", `{"type":"array","items":{"type":"integer"}}`, `{"type":"array","prefixItems":[{"type":"integer"}],"items":false}`, I, ""},
	{"uniqueItems on B, A at most 1 item", `{"type":"array","items":{"enum":[1]},"maxItems":1}`, `{"type":"array","uniqueItems":true}`, C, ""},
	{"uniqueItems on B", `{"type":"array","items":{"type":"integer"}}`, `{"type":"array","uniqueItems":true}`, I, "uniqueItems"},
	{"uniqueItems same on both", `{"type":"array","uniqueItems":true,"items":{"type":"integer"}}`, `{"type":"array","uniqueItems":true}`, C, ""},
	// combinators
	{"anyOf on A", `{"anyOf":[{"type":"string"},{"type":"integer"}]}`, `{"type":["string","number"]}`, C, ""},
	{"anyOf on A bad branch", `{"anyOf":[{"type":"string"},{"type":"boolean"}]}`, `{"type":["string","number"]}`, I, "false"},
	{"anyOf on B", `{"type":"string"}`, `{"anyOf":[{"type":"integer"},{"type":"string"}]}`, C, ""},
	{"anyOf on B split by type", `{"type":["string","integer"]}`, `{"anyOf":[{"type":"integer"},{"type":"string"}]}`, C, ""},
	{"anyOf on B none fits", `{"type":"boolean"}`, `{"anyOf":[{"type":"integer"},{"type":"string"}]}`, I, ""},
	{"anyOf both sides", `{"anyOf":[{"type":"null"},{"$ref":"#/$defs/s"}],"$defs":{"s":{"type":"string","maxLength":3}}}`, `{"anyOf":[{"type":"string"},{"type":"null"}]}`, C, ""},
	{"oneOf on B disjoint", `{"type":"string"}`, `{"oneOf":[{"type":"integer"},{"type":"string"}]}`, C, ""},
	{"oneOf on B overlapping", `{"type":"integer"}`, `{"oneOf":[{"type":"number"},{"type":"integer"}]}`, I, "oneOf"},
	{"oneOf discriminated", `{"type":"object","required":["kind"],"properties":{"kind":{"const":"a"},"x":{"type":"integer"}}}`,
		`{"oneOf":[{"type":"object","required":["kind"],"properties":{"kind":{"const":"a"}}},{"type":"object","required":["kind"],"properties":{"kind":{"const":"b"}}}]}`, C, ""},
	{"oneOf branches overlap inside A", `{"type":"integer","minimum":0,"maximum":100}`, `{"oneOf":[{"type":"integer","maximum":60},{"type":"integer","minimum":40}]}`, I, `"oneOf"`},
	{"oneOf split range", `{"type":"integer","minimum":0}`, `{"oneOf":[{"type":"integer","maximum":39},{"type":"integer","minimum":40}]}`, C, ""},
	{"oneOf split reals", `{"type":"number"}`, `{"oneOf":[{"type":"number","exclusiveMaximum":1},{"type":"number","minimum":1}]}`, C, ""},
	{"oneOf split reals overlap", `{"type":"number"}`, `{"oneOf":[{"type":"number","maximum":1},{"type":"number","minimum":1}]}`, I, "1"},
	{"oneOf on A", `{"oneOf":[{"type":"string"},{"type":"integer"}]}`, `{"type":["string","integer"]}`, C, ""},
	{"allOf on A", `{"allOf":[{"type":"object","properties":{"a":{"type":"string"}}},{"required":["a"]}]}`, `{"type":"object","required":["a"],"properties":{"a":{"type":"string"}}}`, C, ""},
	{"allOf on B", `{"type":"integer","minimum":0}`, `{"allOf":[{"type":"number"},{"minimum":0}]}`, C, ""},
	{"not on B disjoint", `{"type":"string"}`, `{"not":{"type":"null"}}`, C, ""},
	{"not on B overlapping", `{"type":["string","null"]}`, `{"not":{"type":"null"}}`, I, "not"},
	{"not enum", `{"enum":["a","b"]}`, `{"not":{"const":"c"}}`, C, ""},
	// A that admits nothing is contained in anything
	{"empty: format and length", `{"type":"string","format":"date","maxLength":9}`, `{"type":"null"}`, C, ""},
	{"empty: patterns meet nowhere", `{"type":"string","allOf":[{"pattern":"^a+$"},{"pattern":"^b"}]}`, `false`, C, ""},
	{"empty: required property has no value", `{"type":"object","required":["a"],"properties":{"a":{"type":"integer","minimum":5,"maximum":4}}}`, `{"type":"string"}`, C, ""},
	{"empty: union of empties", `{"anyOf":[{"type":"string","minLength":3,"maxLength":2},{"type":"array","minItems":1,"items":false}]}`, `{"type":"null"}`, C, ""},
	{"not empty: optional property", `{"type":"object","properties":{"a":false}}`, `{"type":"string"}`, I, "object"},
	// not: disjointness, or a value in both
	{"not: disjoint ranges", `{"type":"integer","minimum":10}`, `{"not":{"type":"integer","maximum":5}}`, C, ""},
	{"not: ranges meet", `{"type":"integer","minimum":3}`, `{"not":{"type":"integer","maximum":5}}`, I, `"not"`},
	{"not: disjoint patterns", `{"type":"string","pattern":"^[a-z]+$"}`, `{"not":{"type":"string","pattern":"[0-9]"}}`, C, ""},
	{"not: patterns meet", `{"type":"string","pattern":"^[a-z0-9]+$"}`, `{"not":{"pattern":"^[0-9]+$"}}`, I, `"not"`},
	{"not: required vs forbidden", `{"type":"object","required":["id"]}`, `{"not":{"properties":{"id":false}}}`, C, ""},
	{"not: discriminator", `{"type":"object","required":["kind"],"properties":{"kind":{"const":"a"}}}`, `{"not":{"required":["kind"],"properties":{"kind":{"const":"b"}}}}`, C, ""},
	{"not: discriminator meets", `{"type":"object","required":["kind"],"properties":{"kind":{"enum":["a","b"]}}}`, `{"not":{"required":["kind"],"properties":{"kind":{"const":"b"}}}}`, I, `"b"`},
	{"not: anyOf branches all disjoint", `{"type":"string"}`, `{"not":{"anyOf":[{"type":"integer"},{"type":"null"}]}}`, C, ""},
	{"not: string length", `{"type":"string","minLength":4}`, `{"not":{"type":"string","maxLength":3}}`, C, ""},
	{"not: exclusive bounds touch", `{"type":"number","exclusiveMinimum":5}`, `{"not":{"type":"number","maximum":5}}`, C, ""},
	{"not: inclusive bounds touch", `{"type":"number","minimum":5}`, `{"not":{"type":"number","maximum":5}}`, I, "5"},
	// unions: covered together, or a gap between branches
	{"union covers range", `{"type":"integer","minimum":0,"maximum":10}`, `{"anyOf":[{"type":"integer","maximum":4},{"type":"integer","minimum":5}]}`, C, ""},
	{"union leaves an integer gap", `{"type":"integer","minimum":0,"maximum":10}`, `{"anyOf":[{"type":"integer","maximum":4},{"type":"integer","minimum":6}]}`, I, "5"},
	{"union covers reals", `{"type":"number"}`, `{"anyOf":[{"type":"number","maximum":4},{"type":"number","exclusiveMinimum":4}]}`, C, ""},
	{"union misses a point", `{"type":"number"}`, `{"anyOf":[{"type":"number","exclusiveMaximum":4},{"type":"number","exclusiveMinimum":4}]}`, I, "4"},
	{"union leaves a real gap", `{"type":"number","minimum":0,"maximum":10}`, `{"anyOf":[{"maximum":4},{"minimum":4.5}]}`, I, `"anyOf"`},
	{"union gap outside A", `{"type":"integer","minimum":6,"maximum":10}`, `{"anyOf":[{"maximum":4},{"minimum":6}]}`, C, ""},
	{"union by kind and range", `{"type":["integer","string"],"minimum":0}`, `{"anyOf":[{"type":"string"},{"type":"integer","minimum":0,"maximum":9},{"type":"integer","minimum":10}]}`, C, ""},
	{"not on A ignored, B wide", `{"not":{"type":"string"}}`, `true`, C, ""},
	{"not on A unproven", `{"not":{"type":"string"}}`, `{"type":["null","boolean","object","array","number"]}`, U, ""},
	// $ref and recursion
	{"local ref", `{"$ref":"#/$defs/x","$defs":{"x":{"type":"integer"}}}`, `{"type":"number"}`, C, ""},
	{"recursive tree ⊆ same", `{"$ref":"#/$defs/t","$defs":{"t":{"type":"object","properties":{"v":{"type":"integer"},"kids":{"type":"array","items":{"$ref":"#/$defs/t"}}}}}}`,
		`{"$ref":"#/$defs/t","$defs":{"t":{"type":"object","properties":{"v":{"type":"number"},"kids":{"type":"array","items":{"$ref":"#/$defs/t"}}}}}}`, C, ""},
	{"recursive tree ⊄ narrower", `{"$ref":"#/$defs/t","$defs":{"t":{"type":"object","properties":{"v":{"type":"number"},"kids":{"type":"array","items":{"$ref":"#/$defs/t"}}}}}}`,
		`{"$ref":"#/$defs/t","$defs":{"t":{"type":"object","properties":{"v":{"type":"integer"},"kids":{"type":"array","items":{"$ref":"#/$defs/t"}}}}}}`, I, "/v"},
	{"recursive list unrolled", `{"$ref":"#/$defs/l","$defs":{"l":{"type":["object","null"],"properties":{"next":{"$ref":"#/$defs/l"}}}}}`,
		`{"$ref":"#/$defs/m","$defs":{"m":{"type":["object","null"],"properties":{"next":{"$ref":"#/$defs/m"}}}}}`, C, ""},
	// unmodelled keywords
	{"dependentRequired on B", `{"type":"object"}`, `{"type":"object","dependentRequired":{"a":["b"]}}`, I, "dependentRequired"},
	{"if on B", `{"type":"object"}`, `{"if":{"required":["a"]},"then":{"required":["b"]}}`, I, ""},
	{"if on B same on A", `{"type":"object","if":{"required":["a"]},"then":{"required":["b"]}}`, `{"if":{"required":["a"]},"then":{"required":["b"]}}`, C, ""},
	{"if: A always meets it", `{"type":"object","required":["a","b"]}`, `{"if":{"required":["a"]},"then":{"required":["b"]}}`, C, ""},
	{"if: A never meets it", `{"type":"object","properties":{"a":false}}`, `{"if":{"required":["a"]},"then":{"required":["b"]},"else":{"type":"object"}}`, C, ""},
	{"if: else breaks", `{"type":"object","properties":{"a":false}}`, `{"if":{"required":["a"]},"else":{"required":["c"]}}`, I, "can omit /c"},
	{"if: both sides hold", `{"type":"integer"}`, `{"if":{"minimum":0},"then":{"type":"integer"},"else":{"type":"number"}}`, C, ""},
	{"if: then breaks inside", `{"type":"integer"}`, `{"if":{"minimum":0},"then":{"maximum":10}}`, I, `which B's "if"/"then"/"else" rejects`},
	{"propertyNames narrower", `{"type":"object","propertyNames":{"maxLength":3}}`, `{"type":"object","propertyNames":{"maxLength":4}}`, C, ""},
	{"propertyNames wider", `{"type":"object","propertyNames":{"maxLength":4}}`, `{"type":"object","propertyNames":{"maxLength":3}}`, I, `"propertyNames"`},
	{"propertyNames open A", `{"type":"object"}`, `{"type":"object","propertyNames":{"pattern":"^[a-z]+$"}}`, I, "property named"},
	{"propertyNames patterns", `{"type":"object","propertyNames":{"pattern":"^[a-z]+$"}}`, `{"type":"object","propertyNames":{"pattern":"^[a-z0-9]+$"}}`, C, ""},
	{"propertyNames closed A fits", `{"type":"object","properties":{"ab":{},"cd":{}},"additionalProperties":false}`, `{"type":"object","propertyNames":{"maxLength":2}}`, C, ""},
	{"propertyNames closed A too long", `{"type":"object","properties":{"ab":{},"abcd":{"type":"integer"}},"additionalProperties":false}`, `{"type":"object","propertyNames":{"maxLength":3}}`, I, `"abcd"`},
	{"dependentRequired kept by required", `{"type":"object","required":["a","b"]}`, `{"type":"object","dependentRequired":{"a":["b"]}}`, C, ""},
	{"dependentRequired kept by own", `{"type":"object","dependentRequired":{"a":["b","c"]}}`, `{"type":"object","dependentRequired":{"a":["b"]}}`, C, ""},
	{"dependentRequired trigger forbidden", `{"type":"object","properties":{"a":false}}`, `{"type":"object","dependentRequired":{"a":["b"]}}`, C, ""},
	{"dependentRequired missing", `{"type":"object","required":["a"]}`, `{"type":"object","dependentRequired":{"a":["b"]}}`, I, "without /b"},
	{"number multipleOf 1 bounded⊆integer bounded", `{"type":"number","minimum":1,"maximum":3,"multipleOf":1}`, `{"type":"integer","minimum":1,"maximum":3}`, C, ""},
	{"int excl max 5⊆int max 4", `{"type":"integer","exclusiveMaximum":5}`, `{"type":"integer","maximum":4}`, C, ""},
	{"number excl max 5⊄int max 4", `{"type":"number","exclusiveMaximum":5}`, `{"type":"number","maximum":4}`, I, ""},
	{"nullable enum", `{"enum":["a",null]}`, `{"type":["string","null"]}`, C, ""},
	{"nullable enum⊄string", `{"enum":["a",null]}`, `{"type":"string"}`, I, "null"},
	{"const object⊆object schema", `{"const":{"id":1}}`, `{"type":"object","required":["id"],"properties":{"id":{"type":"integer"}}}`, C, ""},
	{"prefixItems⊆prefixItems", `{"type":"array","prefixItems":[{"type":"integer"},{"type":"string"}],"items":false}`, `{"type":"array","prefixItems":[{"type":"number"},{"type":"string"}],"items":false}`, C, ""},
	{"prefixItems⊄prefixItems swapped", `{"type":"array","prefixItems":[{"type":"integer"},{"type":"string"}]}`, `{"type":"array","prefixItems":[{"type":"string"},{"type":"integer"}]}`, I, "/0"},
	{"then without if is a no-op", `{"type":"object"}`, `{"then":{"required":["b"]},"maxContains":1}`, C, ""},
	{"contains kept by a first item", `{"type":"array","minItems":1,"prefixItems":[{"const":"a"}]}`, `{"type":"array","contains":{"type":"string"}}`, C, ""},
	{"contains kept by every item", `{"type":"array","minItems":2,"items":{"type":"integer","minimum":3}}`, `{"type":"array","contains":{"minimum":1},"minContains":2}`, C, ""},
	{"contains not kept", `{"type":"array","minItems":1,"items":{"type":"integer"}}`, `{"type":"array","contains":{"minimum":1}}`, I, "contains"},
	{"contains on B", `{"type":"array"}`, `{"type":"array","contains":{"type":"integer"}}`, I, "contains"},
	{"small integer range⊆enum", `{"type":"integer","minimum":1,"maximum":3}`, `{"enum":[1,2,3,4]}`, C, ""},
	{"small integer range⊄enum", `{"type":"integer","minimum":1,"maximum":3}`, `{"enum":[1,3]}`, I, "2"},
	{"property named $id is a name", `{"type":"object","properties":{"$id":{"type":"integer"}}}`, `{"type":"object","properties":{"$id":{"type":"number"}}}`, C, ""},
	{"pattern A⊄maxLength B", `{"type":"string","pattern":"^[A-Z]{3}-[0-9]+$"}`, `{"type":"string","maxLength":8}`, I, "longer"},
	{"pattern A⊄minLength B", `{"type":"string","pattern":"^id-[a-z]*$"}`, `{"type":"string","minLength":4}`, I, "shorter"},
	{"pattern A⊄other pattern B", `{"type":"string","pattern":"^[0-9]+$"}`, `{"type":"string","pattern":"^[a-z]+$"}`, I, "pattern"},
	{"odd property names", `{"type":"object","properties":{"a b/c~d%e":{"type":"integer"},"ü#?":{"const":1}}}`, `{"type":"object","properties":{"a b/c~d%e":{"type":"number"},"ü#?":{"type":"integer"}}}`, C, ""},
	{"odd property names⊄", `{"type":"object","properties":{"a b/c~d%e":{"type":"number"}}}`, `{"type":"object","properties":{"a b/c~d%e":{"type":"integer"}}}`, I, "/a b~1c~0d%e"},
	{"unknown keywords are annotations", `{"type":"string","x-go-type":"Foo"}`, `{"type":"string","x-whatever":1}`, C, ""},
}

func compile(t testing.TB, src string) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.AssertFormat = true
	if err := c.AddResource("mem:///s.json", strings.NewReader(src)); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("mem:///s.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestCheckTable(t *testing.T) {
	for _, p := range pairs {
		t.Run(p.name, func(t *testing.T) {
			r, err := compat.CheckJSON([]byte(p.a), []byte(p.b))
			if err != nil {
				t.Fatal(err)
			}
			if r.Verdict != p.want {
				t.Fatalf("verdict %v, want %v; reason: %s; diffs %v", r.Verdict, p.want, r.Reason, r.Differences)
			}
			all := r.Reason
			for _, d := range r.Differences {
				all += " | " + d.Pointer + " " + d.Reason
			}
			if p.reason != "" && !strings.Contains(all, p.reason) {
				t.Errorf("reason %q does not mention %q", all, p.reason)
			}
			if r.Verdict == I {
				wb, _ := json.Marshal(r.Witness)
				if compile(t, p.a).Validate(r.Witness) != nil {
					t.Errorf("witness %s is not valid under A", wb)
				}
				if compile(t, p.b).Validate(r.Witness) == nil {
					t.Errorf("witness %s is valid under B", wb)
				}
			}
			wb, _ := json.Marshal(r.Witness)
			t.Logf("%s ⊆ %s → %v: %s %s", p.a, p.b, r.Verdict, r.Reason, wb)
		})
	}
}

func TestCheckUnsupported(t *testing.T) {
	for _, c := range []struct{ a, b, want string }{
		{`{"type":"string"}`, `{"$defs":{"x":{"anyOf":[{"$ref":"#/$defs/x"},{"type":"integer"}]}},"$ref":"#/$defs/x"}`, ""},
		{`{"type":"integer","minimum":5}`, `{"$schema":"http://json-schema.org/draft-04/schema#","minimum":5,"exclusiveMinimum":true}`, "draft"},
		{`{"type":"integer"}`, `{"$defs":{"s":{"$id":"sub.json","$defs":{"x":{"type":"string"}},"$ref":"#/$defs/x"}},"$ref":"#/$defs/s"}`, "$id"},
		{`{"type":"string"}`, `{"$ref":"#anchor"}`, ""},
		{`{"type":"string"}`, `{"$ref":"http://example.com/s.json"}`, ""},
		{`{"type":"string"}`, `{"type":"strin"}`, "compile"},
	} {
		r, err := compat.CheckJSON([]byte(c.a), []byte(c.b))
		if err != nil {
			t.Fatal(err)
		}
		if r.Verdict == compat.Compatible || !strings.Contains(r.Reason, c.want) {
			t.Errorf("%s ⊆ %s: %v %s", c.a, c.b, r.Verdict, r.Reason)
		}
		t.Logf("%s ⊆ %s: %v: %s", c.a, c.b, r.Verdict, r.Reason)
	}
}

func TestCheckCrossFile(t *testing.T) {
	dec := func(s string) any {
		d, err := decodeDocErr(s)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	a := compat.Schema{Root: dec(`{"$ref":"common.json#/$defs/x"}`), Name: "orders.json",
		Files: map[string]any{"common.json": dec(`{"$defs":{"x":{"type":"integer"}}}`)}}
	sameB := compat.Schema{Root: dec(`{"type":"object","properties":{"n":{"$ref":"common.json#/$defs/x"}}}`), Name: "billing.json", Pointer: "/properties/n",
		Files: map[string]any{"common.json": dec(`{"$defs":{"x":{"type":"number"}}}`)}}
	otherB := compat.Schema{Root: dec(`{"$ref":"common.json#/$defs/x"}`), Name: "billing.json",
		Files: map[string]any{"common.json": dec(`{"$defs":{"x":{"type":"string"}}}`)}}
	if r := compat.Check(a, sameB); r.Verdict != compat.Compatible {
		t.Errorf("integer ⊆ number across files: %v %s", r.Verdict, r.Reason)
	}
	if r := compat.Check(a, otherB); r.Verdict != compat.Incompatible {
		t.Errorf("each side must resolve its own common.json: %v %s", r.Verdict, r.Reason)
	}
	missing := compat.Schema{Root: dec(`{"$ref":"nope.json#/x"}`)}
	if r := compat.Check(a, missing); r.Verdict != compat.Unproven {
		t.Errorf("missing file: %v %s", r.Verdict, r.Reason)
	}
	if r := compat.Check(a, compat.Schema{Root: dec(`{}`), Pointer: "/nope"}); r.Verdict != compat.Unproven {
		t.Errorf("missing pointer: %v %s", r.Verdict, r.Reason)
	}
}

func decodeDocErr(s string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	return v, err
}
