package registry

import "errors"

var (
	// ErrVersionExists reports that a different descriptor is already published under
	// the same service and version: published versions are immutable.
	ErrVersionExists = errors.New("registry: version already published with different content")
	// ErrNotFound reports that a descriptor or service is not in the registry.
	ErrNotFound = errors.New("registry: not found")
	// ErrNoInstance reports that no live instance of a service can take a call.
	ErrNoInstance = errors.New("registry: no live instance")
	// ErrUnavailable reports that etcd could not be reached within the configured timeout.
	ErrUnavailable = errors.New("registry: etcd unavailable")
	// ErrClosed reports a call on a closed Registry, Cache or Registration.
	ErrClosed = errors.New("registry: closed")
	// ErrInvalid reports a malformed name, version, descriptor or instance record.
	ErrInvalid = errors.New("registry: invalid")
)
