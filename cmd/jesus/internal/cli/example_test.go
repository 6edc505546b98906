package cli_test

import (
	"context"
	"fmt"
	"os"

	"github.com/jesus-go/jesus/cmd/jesus/internal/cli"
)

// Main runs a command line in-process, as "jesus schema lint ../../../../schemas/orders.json"
// would in a shell, and returns its exit code.
func ExampleMain() {
	code := cli.Main(context.Background(), []string{"schema", "lint", "../../../../schemas/orders.json"},
		cli.Env{Stdout: os.Stdout, Stderr: os.Stderr})
	fmt.Println("exit", code)
	// Output:
	// ok   orders@1.2.0 (../../../../schemas/orders.json)
	// exit 0
}

// A malformed JSON request is refused before anything is sent, with exit code 3.
func ExampleMain_badJSON() {
	code := cli.Main(context.Background(), []string{"call", "orders.get", `{"id":`},
		cli.Env{Stdout: os.Stdout, Stderr: os.Stdout})
	fmt.Println("exit", code)
	// Output:
	// jesus: call orders.get: the argument is not valid JSON: unexpected end of input (offset 6)
	// exit 3
}
