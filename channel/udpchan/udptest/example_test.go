package udptest_test

import (
	"fmt"
	"net"
	"time"

	"github.com/jesus-go/jesus/channel/udpchan/udptest"
)

// A proxy in front of a UDP service: clients send to p.Addr() instead of the service,
// and the proxy drops the chosen share of datagrams either way. In a test, use
// NewLossyProxy(t, ...), which stops the proxy when the test ends.
func ExampleStart() {
	svc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer svc.Close()

	p, err := udptest.Start(svc.LocalAddr().String(), 0, 1) // no loss, to show the path
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()

	c, err := net.Dial("udp", p.Addr())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	c.Write([]byte("hello"))

	buf := make([]byte, 16)
	svc.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, from, err := svc.ReadFromUDP(buf)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("service got %q, not from the client itself: %v\n", buf[:n], from.String() != c.LocalAddr().String())
	// Output: service got "hello", not from the client itself: true
}
