package framed_test

import (
	"context"
	"fmt"
	"net"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// rawCodec lets grpc-go carry the same opaque bytes as the framed benchmark, so the
// comparison measures transports, not protobuf.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) { return *(v.(*[]byte)), nil }
func (rawCodec) Unmarshal(data []byte, v any) error {
	p := v.(*[]byte)
	*p = append((*p)[:0], data...)
	return nil
}
func (rawCodec) Name() string { return "raw" }

var grpcEcho = grpc.ServiceDesc{
	ServiceName: "bench.Echo",
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "Echo",
		Handler: func(_ any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
			var b []byte
			if err := dec(&b); err != nil {
				return nil, err
			}
			return &b, nil
		},
	}},
}

// BenchmarkGRPCRoundTrip is the yardstick for BenchmarkRoundTrip: grpc-go unary calls over
// loopback TCP with the same payloads and callers.
func BenchmarkGRPCRoundTrip(b *testing.B) {
	for _, callers := range []int{1, 64} {
		for _, size := range []int{256, 4 << 10} {
			b.Run(fmt.Sprintf("callers=%d/size=%d", callers, size), func(b *testing.B) {
				benchGRPC(b, callers, size)
			})
		}
	}
}

func benchGRPC(b *testing.B, callers, size int) {
	s := grpc.NewServer(grpc.ForceServerCodec(rawCodec{}))
	s.RegisterService(&grpcEcho, struct{}{})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(lis) }()
	defer func() { s.Stop(); <-served }()
	cc, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.ForceCodec(rawCodec{})))
	if err != nil {
		b.Fatal(err)
	}
	defer cc.Close()
	ctx := context.Background()
	data := make([]byte, size)
	call := func() error {
		var out []byte
		if err := cc.Invoke(ctx, "/bench.Echo/Echo", &data, &out); err != nil {
			return err
		}
		if len(out) != size {
			return fmt.Errorf("reply of %d bytes", len(out))
		}
		return nil
	}
	if err := call(); err != nil {
		b.Fatal(err)
	}
	runCalls(b, callers, size, call)
}
