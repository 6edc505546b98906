package codec

// UnmarshalExact is Unmarshal that also reports whether data is what Marshal writes for
// the value it decoded, but for white space, escapes, the order of map keys and the
// spelling of numbers (see ExactUnmarshaler): a schema that checks the value Marshal
// writes gives the bytes its verdict. Only a zero target of a type with a compiled plan
// is ever read exactly, and only when every key is a field's own name, met once; every
// field Marshal writes is there and no field it leaves out; no null stands where Marshal
// writes something else; every float64 reads from a literal of at most 15 significant
// digits (its value is then that of the shortest decimal Marshal writes).
func (s *jsonSerializer) UnmarshalExact(data []byte, v any) (exact bool, err error) {
	if _, ok := v.(*any); ok {
		return false, s.Unmarshal(data, v)
	}
	if exact, done := s.unmarshalPlanned(data, v); done {
		return exact, nil
	}
	return false, s.libraryUnmarshal(data, v)
}
