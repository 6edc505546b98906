package codes_test

import (
	"fmt"

	"github.com/jesus-go/jesus/channel/codes"
)

func Example() {
	c := codes.DeadlineExceeded
	fmt.Println(c, c.Valid(), c.HTTPStatus(), codes.FromHTTPStatus(429))
	fmt.Println(codes.Code("no_such_code").Valid())
	// Output:
	// deadline_exceeded true 504 resource_exhausted
	// false
}
