package codes_test

import (
	"testing"

	"github.com/jesus-go/jesus/channel/codes"
)

// Every code survives the trip to an HTTP status and back, except where two codes share
// a status (the guess then names the more general one).
func TestHTTPRoundTrip(t *testing.T) {
	shared := map[codes.Code]codes.Code{
		codes.Unknown:      codes.Internal,
		codes.Incompatible: codes.AlreadyExists,
		codes.BadResponse:  codes.Unavailable,
	}
	all := []codes.Code{codes.Canceled, codes.Unknown, codes.InvalidArgument, codes.DeadlineExceeded,
		codes.NotFound, codes.AlreadyExists, codes.PermissionDenied, codes.ResourceExhausted,
		codes.FailedPrecondition, codes.Unimplemented, codes.Internal, codes.Unavailable,
		codes.Unauthenticated, codes.Incompatible, codes.BadResponse}
	for _, c := range all {
		if !c.Valid() {
			t.Fatalf("%s not valid", c)
		}
		want := c
		if s, ok := shared[c]; ok {
			want = s
		}
		if got := codes.FromHTTPStatus(c.HTTPStatus()); got != want {
			t.Errorf("%s -> %d -> %s, want %s", c, c.HTTPStatus(), got, want)
		}
	}
	if codes.Code("").Valid() || codes.Code("x").HTTPStatus() != 500 {
		t.Fatal("a non-code is valid or not 500")
	}
}
