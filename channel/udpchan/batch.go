package udpchan

import (
	"net"
	"net/netip"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// Batches: where the platform has recvmmsg and sendmmsg (Linux), a listener reads and a
// Conn writes several datagrams per system call; elsewhere x/net falls back to one per
// call. On loopback a system call costs about as much as the datagram it carries, so
// this is most of what separates a per-datagram loop from the socket's real rate.
const (
	readBatch  = 32 // datagrams a listener takes per recvmmsg
	writeBatch = 64 // queued datagrams a Conn hands to one sendmmsg
	// batchBytes bounds the read buffers a listener keeps for one batch, so that a large
	// MaxDatagram shrinks the batch instead of pinning megabytes.
	batchBytes = 1 << 20
)

// batchConn is the batch interface of x/net's ipv4 and ipv6 packet conns; both take the
// same socket.Message type.
type batchConn interface {
	ReadBatch(ms []ipv4.Message, flags int) (int, error)
	WriteBatch(ms []ipv4.Message, flags int) (int, error)
}

func newBatchConn(uc *net.UDPConn) batchConn {
	if a, ok := uc.LocalAddr().(*net.UDPAddr); ok && a.IP.To4() == nil {
		return ipv6.NewPacketConn(uc)
	}
	return ipv4.NewPacketConn(uc)
}

// readBatchSize is how many datagrams of up to limit+1 bytes a listener reads at once.
func readBatchSize(limit int) int {
	return max(1, min(readBatch, batchBytes/(limit+1)))
}

// addrPort converts the source address x/net reports; AF_INET gives a 4-byte IP, so the
// result equals what ReadFromUDPAddrPort returns on the same socket.
func addrPort(a net.Addr) netip.AddrPort {
	ua, ok := a.(*net.UDPAddr)
	if !ok {
		return netip.AddrPort{}
	}
	ip, _ := netip.AddrFromSlice(ua.IP)
	return netip.AddrPortFrom(ip.WithZone(ua.Zone), uint16(ua.Port))
}
