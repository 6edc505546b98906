package framed_test

import (
	"testing"

	"github.com/jesus-go/jesus/channel/channeltest"
	"github.com/jesus-go/jesus/channel/framed"
)

var (
	tcpFactory  = channeltest.Factory{Transport: framed.TCP(), Addr: channeltest.Loopback}
	unixFactory = channeltest.Factory{Transport: framed.Unix(), Addr: channeltest.UnixSocket}
)

func TestConformanceTCP(t *testing.T)  { channeltest.Run(t, tcpFactory) }
func TestConformanceUnix(t *testing.T) { channeltest.Run(t, unixFactory) }

func TestOneWayConformance(t *testing.T) {
	channeltest.RunOneWay(t, tcpFactory)
	channeltest.RunOneWay(t, unixFactory)
}
