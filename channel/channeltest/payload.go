package channeltest

import (
	"bytes"
	"fmt"
)

// encodePayload returns the bytes the suite sends under codec name. Until the codec
// package can build pipelines, the payload is a fixed byte pattern tagged with the name.
func encodePayload(name string) ([]byte, error) {
	return append([]byte(name+":"), payload(512, 5)...), nil
}

// checkPayload verifies a payload that came back under codec name.
func checkPayload(name string, b []byte) error {
	want, _ := encodePayload(name)
	if !bytes.Equal(b, want) {
		return fmt.Errorf("payload of %d bytes differs from the %d sent", len(b), len(want))
	}
	return nil
}
