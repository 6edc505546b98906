package demo

// The data types of the example descriptors (schemas/common.defs.json, orders.json, ...).
type (
	// Money is common.defs Money.
	Money struct {
		Amount   float64 `json:"amount"`
		Currency string  `json:"currency"`
	}
	// Customer is common.defs Customer.
	Customer struct {
		ID    string `json:"id"`
		Name  string `json:"name,omitempty"`
		Email string `json:"email"`
	}
	// OrderLine is common.defs OrderLine.
	OrderLine struct {
		SKU       string   `json:"sku"`
		Title     string   `json:"title,omitempty"`
		Quantity  int      `json:"quantity"`
		UnitPrice Money    `json:"unitPrice"`
		Tags      []string `json:"tags,omitempty"`
	}
	// Order is orders' $defs Order.
	Order struct {
		ID       string      `json:"id,omitempty"`
		Customer Customer    `json:"customer"`
		Currency string      `json:"currency"`
		Lines    []OrderLine `json:"lines"`
		Note     string      `json:"note,omitempty"`
		Status   string      `json:"status,omitempty"`
	}
	// OrderRef is orders' $defs OrderRef.
	OrderRef struct {
		ID string `json:"id"`
	}
	// StatusChange is one item of orders.watch.
	StatusChange struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	// OrderEvent is the payload of order.created.
	OrderEvent struct {
		OrderID    string `json:"orderId"`
		CustomerID string `json:"customerId"`
		Total      Money  `json:"total"`
		At         string `json:"at"`
	}
	// ChargeRequest is billing.charge's request.
	ChargeRequest struct {
		OrderID    string `json:"orderId"`
		CustomerID string `json:"customerId"`
		Amount     Money  `json:"amount"`
	}
	// ChargeResponse is billing.charge's response.
	ChargeResponse struct {
		ChargeID string `json:"chargeId"`
		Status   string `json:"status"`
		Reason   string `json:"reason,omitempty"`
	}
	// LogRecord is the payload of log.
	LogRecord struct {
		Level   string         `json:"level"`
		Msg     string         `json:"msg"`
		At      string         `json:"at"`
		Service string         `json:"service,omitempty"`
		Attrs   map[string]any `json:"attrs,omitempty"`
	}
	// TailRequest is audit.tail's request.
	TailRequest struct {
		Kinds []string `json:"kinds,omitempty"`
		Limit int      `json:"limit,omitempty"`
	}
	// Entry is one item of audit.tail.
	Entry struct {
		Kind string         `json:"kind"`
		At   string         `json:"at"`
		Data map[string]any `json:"data,omitempty"`
	}
)

// ChargeLimit is the amount above which billing declines a charge.
const ChargeLimit = 5000
