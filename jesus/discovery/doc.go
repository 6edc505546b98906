// Package discovery connects jesus clients and servers to the registry in etcd: Register
// publishes a server's descriptor and registers its channels under a lease; Discovery
// resolves "service.method" to a live instance from the registry's watch-fed cache (round
// robin, skipping for a moment an endpoint that failed) and validates against the
// receivers' published schemas; StartCompat proves at startup, and keeps proving, that a
// service agrees with its live peers. Package jesus itself knows nothing of etcd.
package discovery
