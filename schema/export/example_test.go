package export_test

import (
	"encoding/json"
	"fmt"

	"github.com/jesus-go/jesus/schema"
	"github.com/jesus-go/jesus/schema/export"
)

func ExampleOpenAPI() {
	set := schema.NewSet()
	err := set.Add("greeter.json", []byte(`{
		"service": "greeter", "version": "1.0.0",
		"channels": {"web": "http+json"},
		"methods": {"hello": {"mode": "response", "channel": "web",
			"request": {"type": "string"}, "response": {"type": "string"}}}
	}`))
	if err != nil {
		panic(err)
	}
	b, err := export.OpenAPI(set, export.Options{})
	if err != nil {
		panic(err)
	}
	var doc struct {
		OpenAPI string
		Paths   map[string]map[string]struct {
			OperationID string `json:"operationId"`
		}
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		panic(err)
	}
	fmt.Println(doc.OpenAPI, doc.Paths["/greeter.hello"]["post"].OperationID)
	// Output: 3.1.0 greeter.hello
}
