package registry

import (
	"fmt"

	"github.com/jesus-go/jesus/schema"
)

// Name limits. They keep etcd keys short and reject hostile records early.
const (
	maxServiceLen  = 63
	maxIDLen       = 128
	maxChannelLen  = 63
	maxEndpointLen = 1024
	maxEndpoints   = 64
)

// ValidService reports whether s is a valid service name: ^[a-z][a-z0-9-]*$, at most 63 bytes.
func ValidService(s string) bool {
	if s == "" || len(s) > maxServiceLen || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// validChannel reports whether s is a valid channel name: ^[a-z][a-z0-9_-]*$.
func validChannel(s string) bool {
	if s == "" || len(s) > maxChannelLen || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// validID reports whether s is a valid instance id: 1 to 128 bytes of [A-Za-z0-9._-],
// not "." or "..", so that it is one safe etcd key segment.
func validID(s string) bool {
	if s == "" || len(s) > maxIDLen || s == "." || s == ".." {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// checkVersion checks a version against semver 2.0.0 (schema.ParseVersion), as ErrInvalid.
func checkVersion(v string) error {
	if _, err := schema.ParseVersion(v); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return nil
}
