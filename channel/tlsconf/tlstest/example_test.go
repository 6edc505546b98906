package tlstest_test

import (
	"fmt"

	"github.com/jesus-go/jesus/channel/tlsconf/tlstest"
)

func ExampleCA_Pair() {
	ca := tlstest.NewCA("test ca")
	c := ca.Pair(tlstest.Localhost("orders", "example.org"))
	fmt.Println(c.Leaf.URIs[0], c.Leaf.DNSNames)
	// Output: spiffe://example.org/orders [localhost]
}
