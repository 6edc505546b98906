// Package httpchan is the http transport of package channel: every call is one HTTP/1.1
// request "POST /<method>" with the payload as body and the envelope's meta in headers, so
// that plain curl can call a method. Replies map to status codes (200 response, 202 ack,
// 204 noResponse, errors by code with a JSON body), and streams to a body of length-prefixed
// binary envelopes (PROTOCOL.md, section 4).
package httpchan
