package demoapi_test

import (
	"context"
	"fmt"

	"github.com/jesus-go/jesus/cmd/jesus/internal/demoapi"
	"github.com/jesus-go/jesus/jesus"
)

// billing is a server of billing written against the generated interface.
type billing struct{}

func (billing) Charge(ctx context.Context, r demoapi.ChargeRequest) (demoapi.ChargeResponse, error) {
	if r.Amount.Amount > 100 {
		return demoapi.ChargeResponse{ChargeID: "ch-" + r.OrderID, Status: demoapi.ChargeResponseStatusDeclined}, nil
	}
	return demoapi.ChargeResponse{ChargeID: "ch-" + r.OrderID, Status: demoapi.ChargeResponseStatusAccepted}, nil
}

func ExampleNewBillingClient() {
	ctx := context.Background()
	srv := jesus.NewServer(demoapi.BillingService)
	demoapi.RegisterBilling(srv, billing{})
	bound, err := srv.Listen(ctx, "tcp+msgpack://127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer srv.Close()

	c := jesus.NewClient("example", jesus.WithTarget(bound.String()))
	defer c.Close()
	bc := demoapi.NewBillingClient(c)
	res, err := bc.Charge(ctx, demoapi.ChargeRequest{OrderID: "o-1", CustomerID: "c-1",
		Amount: demoapi.Money{Amount: 12.5, Currency: demoapi.CurrencyEUR}})
	fmt.Println(res.ChargeID, res.Status, err)
	// Output: ch-o-1 accepted <nil>
}
