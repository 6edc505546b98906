package schema

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/jesus-go/jesus/codec"
)

// streamOrder returns an orders.create request with n lines, as msgpack.
func streamOrder(t testing.TB, n int) []byte {
	var b strings.Builder
	b.WriteString(`{"id":"o-2002","customer":{"id":"c-42","name":"Ada","email":"ada@example.com"},"currency":"EUR","status":"new","lines":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"sku":"SKU-%04d","quantity":%d,"unitPrice":{"amount":%d.5,"currency":"EUR"},"tags":["a%d","b"]}`, 1000+i, 1+i%7, 3+i, i)
	}
	b.WriteString(`]}`)
	x, err := codec.NewJSON(codec.DefaultLimits()).UnmarshalValue([]byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	data, err := codec.NewMsgpack(codec.DefaultLimits()).Marshal(nil, x)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func streamValidator(t testing.TB) *Validator {
	s, err := LoadDir("../schemas")
	if err != nil {
		t.Fatal(err)
	}
	v, err := s.Validator("orders", "1.2.0", PartRequest, "create")
	if err != nil {
		t.Fatal(err)
	}
	if !v.fast.stream {
		t.Fatal("orders.create is not streamable")
	}
	return v
}

// tapeValid is ValidateMsgpack's tape walk alone.
func tapeValid(v *Validator, data []byte) bool {
	t := getTape(data)
	defer putTape(t)
	return t.readMsgpack(v.decodeDepth()) && v.fast.validT(t, 0, 0)
}

// TestStreamAgreesWithTape: the stream walker accepts valid orders on its own, and
// accepts nothing that the tape walk refuses, however the bytes are changed.
func TestStreamAgreesWithTape(t *testing.T) {
	v := streamValidator(t)
	r := rand.New(rand.NewPCG(11, 12))
	accepted, refused := 0, 0
	for _, n := range []int{1, 2, 9, 60} {
		data := streamOrder(t, n)
		if !v.fast.validStream(data, v.decodeDepth()) {
			t.Fatalf("%d lines: a valid order was not accepted by the stream walker", n)
		}
		for range 3000 {
			m := append([]byte(nil), data...)
			for range 1 + r.IntN(3) {
				m[r.IntN(len(m))] = byte(r.Uint32())
			}
			s := v.fast.validStream(m, v.decodeDepth())
			if s && !tapeValid(v, m) {
				t.Fatalf("%x: the stream walker accepts what the tape refuses", m)
			}
			if s {
				accepted++
			} else {
				refused++
			}
		}
	}
	t.Logf("mutations: %d accepted, %d refused or left to the tape", accepted, refused)
}

// FuzzValidateStream: on any input, the stream walker accepts only what the tape walk
// accepts.
func FuzzValidateStream(f *testing.F) {
	v := streamValidator(f)
	for _, n := range []int{1, 3} {
		f.Add(streamOrder(f, n))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if v.fast.validStream(data, v.decodeDepth()) && !tapeValid(v, data) {
			t.Fatalf("%x: the stream walker accepts what the tape refuses", data)
		}
	})
}

func BenchmarkValidateWalkers(b *testing.B) {
	v := streamValidator(b)
	for _, n := range []int{1, 60} {
		data := streamOrder(b, n)
		b.Run(fmt.Sprintf("lines%d/stream", n), func(b *testing.B) {
			for b.Loop() {
				if !v.fast.validStream(data, v.decodeDepth()) {
					b.Fatal("refused")
				}
			}
		})
		b.Run(fmt.Sprintf("lines%d/tape", n), func(b *testing.B) {
			for b.Loop() {
				if !tapeValid(v, data) {
					b.Fatal("refused")
				}
			}
		})
	}
}
