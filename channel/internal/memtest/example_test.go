package memtest_test

import (
	"fmt"
	"time"

	"github.com/jesus-go/jesus/channel/internal/memtest"
)

func Example() {
	m := memtest.Start(time.Millisecond)
	held := make([][]byte, 0, 64)
	for i := 0; i < 64; i++ {
		held = append(held, make([]byte, 64<<10))
	}
	m.Sample()
	f := m.Stop()
	fmt.Println(len(held), f.HeapGrowth() >= 4<<20)
	// Output: 64 true
}
