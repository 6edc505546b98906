package schema_test

import (
	"fmt"

	"github.com/jesus-go/jesus/schema"
)

// ExampleParseVersion shows semver precedence as used to order versions.
func ExampleParseVersion() {
	a, _ := schema.ParseVersion("1.2.0-rc.1")
	b, _ := schema.ParseVersion("1.2.0")
	fmt.Println(a.Compare(b), b.Compare(a), a.Pre)
	_, err := schema.ParseVersion("1.02.0")
	fmt.Println(err)
	// Output:
	// -1 1 [rc 1]
	// version "1.02.0": part 2 "02" is not a number without leading zeros
}
