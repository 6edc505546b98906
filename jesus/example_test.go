package jesus_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/jesus-go/jesus/jesus"
)

func Example() {
	ctx := context.Background()

	// A server for the service "greeter" with one response-mode method.
	s := jesus.NewServer("greeter")
	jesus.Handle(s, "hello", func(ctx context.Context, name string) (string, error) {
		if name == "" {
			return "", jesus.NewError(jesus.CodeInvalidArgument, "name is empty")
		}
		return "hello, " + name, nil
	})
	bound, err := s.Listen(ctx, "tcp+msgpack+zstd://127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer s.Shutdown(ctx)

	// A client that sends every call to that channel.
	c := jesus.NewClient("example", jesus.WithTarget(bound.String()))
	defer c.Close()

	greeting, err := jesus.Call[string, string](ctx, c, "greeter.hello", "ada")
	fmt.Println(greeting, err)

	_, err = jesus.Call[string, string](ctx, c, "greeter.hello", "")
	fmt.Println(jesus.CodeOf(err), errors.Is(err, jesus.ErrInvalidArgument))
	// Output:
	// hello, ada <nil>
	// invalid_argument true
}

func ExampleStream() {
	ctx := context.Background()
	s := jesus.NewServer("counter")
	jesus.HandleStream(s, "upto", func(ctx context.Context, n int, send func(int) error) error {
		for i := 1; i <= n; i++ {
			if err := send(i); err != nil {
				return err
			}
		}
		return nil
	})
	bound, _ := s.Listen(ctx, "http+json://127.0.0.1:0")
	defer s.Close()
	c := jesus.NewClient("example", jesus.WithTarget(bound.String()))
	defer c.Close()

	for v, err := range jesus.Stream[int, int](ctx, c, "counter.upto", 3) {
		fmt.Println(v, err)
	}
	// Output:
	// 1 <nil>
	// 2 <nil>
	// 3 <nil>
}
