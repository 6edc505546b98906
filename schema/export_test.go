package schema

// ValidJS is jsonschema/v5's verdict alone, for the differential tests and benchmarks.
func (v *Validator) ValidJS(x any) bool { return v.validJS(x) }
