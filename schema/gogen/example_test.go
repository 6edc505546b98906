package gogen_test

import (
	"fmt"
	"sort"
	"strings"

	"github.com/jesus-go/jesus/schema"
	"github.com/jesus-go/jesus/schema/gogen"
)

func ExampleGenerate() {
	set := schema.NewSet()
	err := set.Add("greeter.json", []byte(`{
		"service": "greeter", "version": "1.0.0",
		"channels": {"rpc": "tcp+msgpack"},
		"methods": {"hello": {"mode": "response", "channel": "rpc",
			"request": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}},
			"response": {"type": "string"}}}
	}`))
	if err != nil {
		panic(err)
	}
	files, err := gogen.Generate(set, gogen.Options{Package: "greeterapi"})
	if err != nil {
		panic(err)
	}
	var names []string
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Println(names)
	for _, line := range strings.Split(string(files["greeter.jesus.go"]), "\n") {
		if strings.HasPrefix(line, "func ") || strings.HasPrefix(line, "\tName") {
			fmt.Println(line)
		}
	}
	// Output:
	// [greeter.jesus.go]
	// func NewGreeterClient(c *jesus.Client) *GreeterClient { return &GreeterClient{c: c} }
	// func (x *GreeterClient) Hello(ctx context.Context, req GreeterHelloRequest) (string, error) {
	// func RegisterGreeter(srv *jesus.Server, h GreeterHandler, opts ...jesus.HandlerOption) {
	// 	Name string `json:"name"`
}
