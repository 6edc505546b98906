package compat

// assertion lists the draft 2020-12 keywords that can make an instance
// invalid. Everything else (title, description, unknown keywords, ...) is an
// annotation the validator ignores, so it never affects containment.
var assertion = map[string]bool{
	"type": true, "enum": true, "const": true,
	"multipleOf": true, "maximum": true, "exclusiveMaximum": true, "minimum": true, "exclusiveMinimum": true,
	"maxLength": true, "minLength": true, "pattern": true, "format": true,
	"maxItems": true, "minItems": true, "uniqueItems": true, "maxContains": true, "minContains": true, "contains": true,
	"maxProperties": true, "minProperties": true, "required": true, "dependentRequired": true,
	"properties": true, "patternProperties": true, "additionalProperties": true, "propertyNames": true,
	"dependentSchemas": true, "items": true, "prefixItems": true, "unevaluatedItems": true, "unevaluatedProperties": true,
	"allOf": true, "anyOf": true, "oneOf": true, "not": true, "if": true, "then": true, "else": true,
	"$ref": true, "$dynamicRef": true, "$recursiveRef": true, "dependencies": true, "additionalItems": true,
}

func annotation(k string) bool { return !assertion[k] }

// unmodelled maps the assertion keywords the structural comparison does not
// reason about to the kinds of instance they constrain. On B's side such a
// keyword makes the comparison Unproven unless A carries the identical
// constraint (exempt); on A's side it is dropped, which only widens A.
var unmodelled = map[string]kinds{
	"uniqueItems": kArr, "contains": kArr, "minContains": kArr, "maxContains": kArr,
	"unevaluatedItems": kArr, "additionalItems": kArr,
	"dependentSchemas":  kObj,
	"patternProperties": kObj, "unevaluatedProperties": kObj, "dependencies": kObj,
	"$dynamicRef": kAll, "$recursiveRef": kAll,
}

// groups are keywords whose meaning depends on each other: they are exempt
// only when all members are equal on both sides.
var groups = map[string][]string{
	"contains": {"contains", "minContains", "maxContains"}, "minContains": {"contains", "minContains", "maxContains"},
	"maxContains": {"contains", "minContains", "maxContains"},
	"if":          {"if", "then", "else"}, "then": {"if", "then", "else"}, "else": {"if", "then", "else"},
}

// groupOwner names the keyword without which a group member does nothing.
var groupOwner = map[string]string{"then": "if", "else": "if", "minContains": "contains", "maxContains": "contains"}

// neverExempt keywords depend on sibling keywords or on dynamic scope, so an
// equal value on both sides proves nothing.
var neverExempt = map[string]bool{
	"unevaluatedItems": true, "unevaluatedProperties": true, "$dynamicRef": true, "$recursiveRef": true,
	"additionalItems": true, "dependencies": true,
}

// exempt reports whether B's unmodelled keyword kw is provably satisfied
// because one of A's conjuncts carries the identical constraint.
func exempt(a []node, bm map[string]any, kw string) bool {
	if neverExempt[kw] {
		return false
	}
	if kw == "patternProperties" {
		if _, ok := bm["additionalProperties"]; ok {
			return false
		}
	}
	members := groups[kw]
	if members == nil {
		members = []string{kw}
	}
	for _, m := range members {
		if hasRef(bm[m]) {
			return false
		}
	}
	for _, n := range a {
		am := n.obj()
		same := true
		for _, m := range members {
			bv, bok := bm[m]
			av, aok := am[m]
			if aok != bok || (bok && !jsonEqual(av, bv)) {
				same = false
				break
			}
		}
		if same {
			return true
		}
	}
	return false
}
