package admin_test

import (
	"fmt"
	"io"
	"net/http"

	"github.com/jesus-go/jesus/jesus"
	"github.com/jesus-go/jesus/jesus/admin"
	"github.com/prometheus/client_golang/prometheus"
)

func Example() {
	s := jesus.NewServer("greeter")
	a := admin.New(prometheus.NewRegistry())
	a.AddServer(s) // /readyz fails once s drains
	addr, err := a.Listen("127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer a.Close()

	_ = s.Close()
	res, err := http.Get("http://" + addr + "/readyz")
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	fmt.Print(res.StatusCode, " ", string(body))
	// Output:
	// 503 not ready
	// server greeter: server greeter is draining
}
