package seal_test

import (
	"fmt"

	"github.com/jesus-go/jesus/codec/seal"
)

func Example() {
	// The receiver holds the private key and publishes the public one.
	priv, _ := seal.GenerateKey()
	opener, _ := seal.NewOpener(priv)
	published := seal.PublicKeyString(opener.PublicKey())

	// A sender seals to the published key; the method and caller stay readable and are
	// bound to the payload.
	pub, _ := seal.ParsePublicKey(published)
	sealer, _ := seal.NewSealer(pub)
	aad := []byte("ledger.post\x00orders")
	sealed, _ := sealer.Seal(nil, []byte(`{"amount":5}`), aad)

	plain, err := opener.Open(nil, sealed, aad)
	fmt.Println(string(plain), err)
	_, err = opener.Open(nil, sealed, aad)
	fmt.Println(err)
	// Output:
	// {"amount":5} <nil>
	// seal: replayed: this payload was opened before
}
