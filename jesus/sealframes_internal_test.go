package jesus

import (
	"testing"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/codec/seal"
)

// sealedPair returns the server's and the caller's Reply of one sealed request.
func sealedPair(t testing.TB) (srv, cli *seal.Reply) {
	t.Helper()
	priv, _ := seal.GenerateKey()
	o, _ := seal.NewOpener(priv)
	s, _ := seal.NewSealer(o.PublicKey())
	req, cli, err := s.SealRequest(nil, []byte("x"), sealAAD("ledger.post", "orders"))
	if err != nil {
		t.Fatal(err)
	}
	if _, srv, err = o.OpenRequest(nil, req, sealAAD("ledger.post", "orders")); err != nil {
		t.Fatal(err)
	}
	return srv, cli
}

// TestSealedFrameTampering: what travels in the clear with a sealed error, ack or end is
// bound to it: another code, another type, a missing seal or a seal of another request
// is refused as unauthenticated; an unsealed error keeps its code only where a server
// can send it before it opened the request.
func TestSealedFrameTampering(t *testing.T) {
	srv, cli := sealedPair(t)
	_, other := sealedPair(t)
	sealedErr := func() *channel.Envelope {
		env := &channel.Envelope{Type: channel.TypeError, ErrCode: string(CodeNotFound)}
		if err := sealFrame(srv, env, 0, errorPlaintext("no account", []byte(`{"method":"ledger.post"}`))); err != nil {
			t.Fatal(err)
		}
		env.ErrMessage = sealedErrText
		return env
	}
	out := &outgoing{reply: cli}
	if e := out.remoteError(sealedErr(), "ledger.post"); e.Code != CodeNotFound || e.Message != "no account" || e.Method != "ledger.post" {
		t.Fatalf("sealed error: %+v", e)
	}
	for name, tamper := range map[string]func(*channel.Envelope){
		"another code":    func(e *channel.Envelope) { e.ErrCode = string(CodeAlreadyExists) },
		"seal removed":    func(e *channel.Envelope) { delete(e.Meta.Extra, sealExtra) },
		"not base64":      func(e *channel.Envelope) { e.Meta.Extra[sealExtra] = "%%" },
		"seal truncated":  func(e *channel.Envelope) { e.Meta.Extra[sealExtra] = e.Meta.Extra[sealExtra][:40] },
		"error as an ack": func(e *channel.Envelope) { e.Type = channel.TypeAck },
	} {
		env := sealedErr()
		tamper(env)
		var err *Error
		if env.Type == channel.TypeError {
			err = out.remoteError(env, "ledger.post")
		} else if e := out.checkControl(env, "ledger.post"); e != nil {
			err = e.(*Error)
		}
		if err == nil || err.Code != CodeUnauthenticated {
			t.Errorf("%s: %v (want unauthenticated)", name, err)
		}
	}
	// An ack sealed for another request does not open.
	ack := &channel.Envelope{Type: channel.TypeAck}
	if err := sealFrame(srv, ack, 0, nil); err != nil {
		t.Fatal(err)
	}
	if err := (&outgoing{reply: cli}).checkControl(ack, "m"); err != nil {
		t.Fatalf("sealed ack: %v", err)
	}
	if err := (&outgoing{reply: other}).checkControl(ack, "m"); err == nil {
		t.Fatal("an ack sealed for another request was accepted")
	}
	// Unsealed errors: a refusal before opening keeps its code, a handler's code does not.
	if e := out.remoteError(&channel.Envelope{Type: channel.TypeError, ErrCode: string(CodeUnavailable), ErrMessage: "shutting down"}, "m"); e.Code != CodeUnavailable {
		t.Fatalf("unsealed unavailable: %+v", e)
	}
	if e := out.remoteError(&channel.Envelope{Type: channel.TypeError, ErrCode: string(CodeNotFound), ErrMessage: "forged"}, "m"); e.Code != CodeUnauthenticated {
		t.Fatalf("unsealed not_found: %+v", e)
	}
}

// TestSealedStreamOrder: a sealed stream's items open only in the order they were sent,
// and its end only after all of them: an item dropped, repeated or moved, or a stream cut
// short before its end, is refused as unauthenticated.
func TestSealedStreamOrder(t *testing.T) {
	srv, cli := sealedPair(t)
	var items [][]byte
	for i := range 3 {
		b, err := srv.SealWith(nil, []byte{byte('a' + i)}, seqAAD(uint32(i)))
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, b)
	}
	end := &channel.Envelope{Type: channel.TypeEnd}
	if err := sealFrame(srv, end, 3, nil); err != nil {
		t.Fatal(err)
	}
	recv := func(order []int) error {
		out := &outgoing{reply: cli}
		for _, i := range order {
			if _, err := openReply(cli, &channel.Envelope{Type: channel.TypeItem, Data: items[i]}, out.seq, "m"); err != nil {
				return err
			}
			out.seq++
		}
		return out.checkControl(end, "m")
	}
	if err := recv([]int{0, 1, 2}); err != nil {
		t.Fatalf("in order: %v", err)
	}
	for name, order := range map[string][]int{"dropped": {0, 2}, "repeated": {0, 0, 1, 2}, "moved": {1, 0, 2}, "cut short": {0, 1}} {
		if err := recv(order); CodeOf(err) != CodeUnauthenticated {
			t.Errorf("%s: %v (want unauthenticated)", name, err)
		}
	}
}

// FuzzSealedFrame: whatever arrives as an error, ack or end to a sealed request, the
// client answers with an error or accepts a genuine seal, and never panics.
func FuzzSealedFrame(f *testing.F) {
	srv, cli := sealedPair(f)
	env := &channel.Envelope{Type: channel.TypeError, ErrCode: "not_found"}
	_ = sealFrame(srv, env, 0, errorPlaintext("m", nil))
	f.Add(byte(channel.TypeError), "not_found", env.Meta.Extra[sealExtra], true)
	f.Add(byte(channel.TypeAck), "", "", false)
	f.Add(byte(channel.TypeEnd), "", "AAAA", true)
	out := &outgoing{reply: cli}
	f.Fuzz(func(t *testing.T, typ byte, code, v string, has bool) {
		e := &channel.Envelope{Type: channel.Type(typ), ErrCode: code}
		if has {
			e.Meta.Extra = map[string]string{sealExtra: v}
		}
		if e.Type == channel.TypeError {
			if r := out.remoteError(e, "m"); r == nil {
				t.Fatal("no error")
			}
			return
		}
		_ = out.checkControl(e, "m")
	})
}

// TestAckNamesItsService: an ack names the service that sent it, and a caller that found
// the instance in the registry takes an ack only from the service whose method it called
// (or from a server that names none); a caller that chose the address itself takes any.
func TestAckNamesItsService(t *testing.T) {
	req := &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeAck}
	req.Meta.CorrID = "c-1"
	c := &call{srv: &Server{name: "billing"}, env: req}
	ack := c.control(channel.TypeAck)
	if ack.Meta.From != "billing" || ack.Meta.CorrID != "c-1" {
		t.Fatalf("ack from %q with corrid %q, want billing and c-1", ack.Meta.From, ack.Meta.CorrID)
	}
	for _, tc := range []struct {
		from, method string
		ok           bool
	}{
		{"billing", "billing.event:order.created", true},
		{"", "billing.event:order.created", true},
		{"orders", "billing.event:order.created", false},
		{"billing2", "billing.charge", false},
		{"x", "nodot", true},
	} {
		ack := &channel.Envelope{Type: channel.TypeAck, Meta: Meta{From: tc.from}}
		err := (&outgoing{route: Route{Instance: "i-1"}}).checkControl(ack, tc.method)
		if tc.ok != (err == nil) || err != nil && CodeOf(err) != CodeUnavailable {
			t.Errorf("ack from %q to %s: %v", tc.from, tc.method, err)
		}
		if err := (&outgoing{}).checkControl(ack, tc.method); err != nil {
			t.Errorf("ack from %q to %s over a route of the caller's own: %v", tc.from, tc.method, err)
		}
	}
}
