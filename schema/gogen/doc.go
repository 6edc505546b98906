// Package gogen generates Go code from a set of service descriptors: a type for every
// request, response, stream item and event payload, and per service a typed client
// (XxxClient, one method per declared method) and a server interface (XxxHandler) with
// RegisterXxx, in the shape of connect-go's generated code. A schema that several files
// reach through $ref becomes one shared type; the output is gofmt'ed and the same set
// always gives the same bytes, so regenerating from go:generate leaves no diff.
package gogen
