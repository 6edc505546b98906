// Package sidecar brings an application written in any language into a jesus system
// through a small HTTP/JSON API, served on TCP and on a unix socket: it calls methods and
// emits events on the application's behalf, validated against the schemas in the
// registry, and serves the application's own methods and events on the channels its
// descriptor declares, forwarding each validated request to the application's URL and
// keeping it registered only while its health check answers.
//
// The API is documented in PROTOCOL.md (section 10). A Sidecar is safe for concurrent
// use; it owns every goroutine it starts (per application: its server, its event bus
// and its health checker; per subscriber: nothing beyond the request that holds it),
// and Close stops them all and is repeat-safe.
package sidecar
