package httpchan_test

import (
	"testing"

	"github.com/jesus-go/jesus/channel/channeltest"
	"github.com/jesus-go/jesus/channel/httpchan"
)

func TestConformance(t *testing.T) {
	channeltest.Run(t, channeltest.Factory{Transport: httpchan.New(), Addr: channeltest.Loopback})
}
