package backoff_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jesus-go/jesus/channel/backoff"
)

func Example() {
	attempts := 0
	try := func() error {
		attempts++
		if attempts < 3 {
			return errors.New("not yet")
		}
		return nil
	}
	b := backoff.Backoff{Min: time.Millisecond, Max: 10 * time.Millisecond}
	for try() != nil {
		if err := b.Wait(context.Background()); err != nil {
			return
		}
	}
	fmt.Println("succeeded after", attempts, "attempts")
	// Output: succeeded after 3 attempts
}
