package jesus_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jesus-go/jesus/jesus"
)

// TestServiceAPI: a server answers $ping, $info and $stats with no handler of its own,
// on every transport that carries replies.
func TestServiceAPI(t *testing.T) {
	for _, tr := range []string{"tcp", "unix", "http"} {
		t.Run(tr, func(t *testing.T) {
			leakCheck(t)
			s := jesus.NewServer("calc")
			jesus.Handle(s, "div", func(_ context.Context, r [2]int) (int, error) {
				if r[1] == 0 {
					return 0, jesus.NewError(jesus.CodeInvalidArgument, "division by zero")
				}
				return r[0] / r[1], nil
			})
			jesus.HandleOneWay(s, "note", func(context.Context, string) error { return nil })
			c := startServer(t, s, listenAddr(t, tr, "json"))
			ctx := ctxT(t)
			for i := 0; i < 9; i++ {
				if _, err := jesus.Call[[2]int, int](ctx, c, "calc.div", [2]int{6, 3}); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := jesus.Call[[2]int, int](ctx, c, "calc.div", [2]int{1, 0}); jesus.CodeOf(err) != jesus.CodeInvalidArgument {
				t.Fatal(err)
			}

			p, err := jesus.Call[any, jesus.Ping](ctx, c, "calc.$ping", nil)
			if err != nil {
				t.Fatal(err)
			}
			if p.Service != "calc" || p.ID != s.ID() || p.ID == "" || p.Started.IsZero() || p.Uptime == "" {
				t.Fatalf("ping: %+v", p)
			}
			if bare, err := jesus.Call[any, jesus.Ping](ctx, c, "$ping", nil); err != nil || bare.ID != p.ID {
				t.Fatalf("bare $ping: %+v %v", bare, err)
			}

			in, err := jesus.Call[any, jesus.Info](ctx, c, "calc.$info", nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(in.Methods) != 2 || in.Methods[0].Name != "calc.div" || strings.Join(in.Methods[0].Modes, ",") != "response" ||
				in.Methods[1].Name != "calc.note" || strings.Join(in.Methods[1].Modes, ",") != "noResponse,ack" {
				t.Fatalf("info methods: %+v", in.Methods)
			}
			if len(in.Endpoints) != 1 {
				t.Fatalf("info endpoints: %+v", in.Endpoints)
			}
			for _, ep := range in.Endpoints {
				if !strings.HasPrefix(ep, tr+"+json://") {
					t.Fatalf("endpoint %q", ep)
				}
			}

			st, err := jesus.Call[any, jesus.Stats](ctx, c, "calc.$stats", nil)
			if err != nil {
				t.Fatal(err)
			}
			div := st.Methods[0]
			if div.Name != "calc.div" || div.Requests != 10 || div.Errors != 1 ||
				!strings.HasPrefix(div.LastError, "invalid_argument: division by zero") || div.LastErrorAt.IsZero() {
				t.Fatalf("div stats: %+v", div)
			}
			if div.AvgNanos <= 0 || div.P99Nanos < div.AvgNanos/2 || time.Duration(div.P99Nanos) > 20*time.Second {
				t.Fatalf("div times: avg %d p99 %d", div.AvgNanos, div.P99Nanos)
			}
			if st.Methods[1].Requests != 0 || st.Methods[1].Errors != 0 {
				t.Fatalf("note stats: %+v", st.Methods[1])
			}
			if _, err := jesus.Call[any, jesus.Ping](ctx, c, "calc.$nope", nil); jesus.CodeOf(err) != jesus.CodeUnimplemented {
				t.Fatalf("unknown $ method: %v", err)
			}
			if err := jesus.Send(ctx, c, "calc.$ping", 1); err != nil { // not in noResponse: dropped, counted
				t.Fatal(err)
			}
		})
	}
}
