// Package demoapi is the Go code that `jesus gen go` generates from the example
// descriptors in schemas/: types, typed clients and server interfaces of the orders,
// billing and audit services. Its tests check that it is up to date and that example
// messages survive a round trip through its types.
package demoapi

//go:generate go run ../.. gen go -o . --package demoapi ../../../../schemas
