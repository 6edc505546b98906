// Package registry keeps service descriptors and live service instances in etcd.
// Services publish immutable descriptors per semver version and register their instances
// under a lease that is kept alive and re-granted after etcd comes back; callers read a
// watch-fed in-memory Cache, so no call waits on etcd, and balance across live instances
// with its round-robin Pick. Package embedded (a subpackage) runs the etcd server itself,
// for one-machine setups and tests; a program that only talks to etcd does not link it.
package registry
