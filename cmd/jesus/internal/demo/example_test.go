package demo_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/jesus-go/jesus/cmd/jesus/internal/demo"
)

// Run is the whole demo: an embedded etcd, the three example services, every step. Its last
// line says whether every step behaved.
func ExampleRun() {
	var out bytes.Buffer
	err := demo.Run(context.Background(), demo.Config{Out: &out})
	last := ""
	for sc := bufio.NewScanner(&out); sc.Scan(); {
		if line := sc.Text(); strings.TrimSpace(line) != "" {
			last = line
		}
	}
	fmt.Println(err == nil, strings.HasPrefix(last, "demo: 15 steps, all as expected"))
	// Output: true true
}
