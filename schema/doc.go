// Package schema loads service descriptors (one JSON file per service: channels, methods,
// events, listens, calls), checks them against the descriptor meta-schema and the semantic
// rules of the project, and compiles every embedded JSON Schema (draft 2020-12) into a
// validator. Validation runs on a compiled tree of checks for the common keywords and falls
// back to santhosh-tekuri/jsonschema/v5 for anything else, so the verdict is always the one
// jsonschema/v5 gives; ValidateMsgpack and ValidateJSON run it on encoded messages directly,
// and AcceptsMsgpack on a Go value as codec's msgpack serializer would write it (a check
// compiled per type, which only ever accepts what the bytes would pass).
package schema
