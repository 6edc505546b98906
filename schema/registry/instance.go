package registry

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// maxInstanceSize bounds one instance record; a record is a few hundred bytes.
const maxInstanceSize = 64 << 10

// Instance is one running process of a service, as stored under
// <prefix>services/<service>/instances/<id> while its lease is alive.
//
// Instances handed out by a Cache share their Endpoints map with the cache:
// treat it as read-only.
type Instance struct {
	ID        string            `json:"id"`        // unique per service: [A-Za-z0-9._-]{1,128}
	Service   string            `json:"service"`   // service name
	Version   string            `json:"version"`   // descriptor version the instance serves
	Endpoints map[string]string `json:"endpoints"` // channel name -> "spec://address", e.g. "tcp+msgpack+zstd://127.0.0.1:4101"
	StartedAt time.Time         `json:"startedAt"` // RFC 3339 with nanoseconds
	// SealKey is the X25519 public key callers seal requests to on the instance's sealed
	// ("+seal") channels: 32 bytes in base64url without padding (43 characters).
	SealKey string `json:"sealKey,omitempty"`
}

// Endpoint returns the instance's address for the named channel.
func (in Instance) Endpoint(channel string) (string, bool) {
	ep, ok := in.Endpoints[channel]
	return ep, ok
}

// Validate checks names, version and endpoints, so that a record can be stored as one
// etcd key and read back by any client.
func (in Instance) Validate() error {
	if !validID(in.ID) {
		return fmt.Errorf("%w: instance id %q: want 1 to %d bytes of [A-Za-z0-9._-]", ErrInvalid, in.ID, maxIDLen)
	}
	if !ValidService(in.Service) {
		return fmt.Errorf("%w: instance %s: service %q: want ^[a-z][a-z0-9-]*$, at most %d bytes", ErrInvalid, in.ID, in.Service, maxServiceLen)
	}
	if err := checkVersion(in.Version); err != nil {
		return fmt.Errorf("instance %s: %w", in.ID, err)
	}
	if in.SealKey != "" && !validSealKey(in.SealKey) {
		return fmt.Errorf("%w: instance %s: sealKey %q: want 43 characters of base64url (32 bytes)", ErrInvalid, in.ID, in.SealKey)
	}
	if len(in.Endpoints) > maxEndpoints {
		return fmt.Errorf("%w: instance %s: %d endpoints, at most %d", ErrInvalid, in.ID, len(in.Endpoints), maxEndpoints)
	}
	for ch, ep := range in.Endpoints {
		if !validChannel(ch) {
			return fmt.Errorf("%w: instance %s: channel name %q: want ^[a-z][a-z0-9_-]*$", ErrInvalid, in.ID, ch)
		}
		if ep == "" || len(ep) > maxEndpointLen {
			return fmt.Errorf("%w: instance %s: endpoint of channel %q: want 1 to %d bytes", ErrInvalid, in.ID, ch, maxEndpointLen)
		}
		for i := 0; i < len(ep); i++ {
			if ep[i] < 0x21 || ep[i] == 0x7f {
				return fmt.Errorf("%w: instance %s: endpoint of channel %q contains a space or control byte", ErrInvalid, in.ID, ch)
			}
		}
	}
	return nil
}

// ParseInstance decodes and validates an instance record. Unknown fields are ignored so
// that newer writers can add some.
func ParseInstance(data []byte) (Instance, error) {
	var in Instance
	if len(data) > maxInstanceSize {
		return in, fmt.Errorf("%w: instance record of %d bytes exceeds %d", ErrInvalid, len(data), maxInstanceSize)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&in); err != nil {
		return Instance{}, fmt.Errorf("%w: instance record: %v", ErrInvalid, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Instance{}, fmt.Errorf("%w: instance record: trailing data after the object", ErrInvalid)
	}
	if err := in.Validate(); err != nil {
		return Instance{}, err
	}
	return in, nil
}

// validSealKey checks the published form of an X25519 key: 43 base64url characters
// whose last one carries no bits beyond the 256.
func validSealKey(k string) bool {
	b, err := base64.RawURLEncoding.Strict().DecodeString(k)
	return err == nil && len(b) == 32
}
