package framed_test

import (
	"path/filepath"
	"testing"

	"github.com/jesus-go/jesus/channel/channeltest"
	"github.com/jesus-go/jesus/channel/framed"
)

func TestConformanceTCP(t *testing.T) {
	channeltest.Run(t, channeltest.Factory{
		Transport: framed.TCP(),
		Addr:      func(testing.TB) string { return "127.0.0.1:0" },
	})
}

func TestConformanceUnix(t *testing.T) {
	channeltest.Run(t, channeltest.Factory{
		Transport: framed.Unix(),
		Addr:      func(t testing.TB) string { return filepath.Join(t.TempDir(), "s.sock") },
	})
}

func TestOneWayConformance(t *testing.T) {
	channeltest.RunOneWay(t, channeltest.Factory{
		Transport: framed.TCP(),
		Addr:      func(testing.TB) string { return "127.0.0.1:0" },
	})
	channeltest.RunOneWay(t, channeltest.Factory{
		Transport: framed.Unix(),
		Addr:      func(t testing.TB) string { return filepath.Join(t.TempDir(), "s.sock") },
	})
}
