package workerpool_test

import (
	"fmt"
	"time"

	"github.com/jesus-go/jesus/channel/internal/workerpool"
)

func Example() {
	p := workerpool.New(10 * time.Second)
	done := make(chan string)
	p.Go(func() { done <- "handled" })
	fmt.Println(<-done)
	p.Stop()
	p.Wait()
	// Output: handled
}
