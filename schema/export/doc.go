// Package export writes documents for other tools from a set of service descriptors: an
// AsyncAPI 3.0 document (servers from channels, channels and operations from methods and
// events, messages with their schemas) and an OpenAPI 3.1 document of the methods served
// on http channels (POST /{service}.{method}, bodies, headers and the error body of the
// http transport). Output is deterministic: the same set gives the same bytes.
package export
