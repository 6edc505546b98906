package codec

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/vmihailenco/msgpack/v5"
)

// The types of the plan tests: every kind a plan covers, named and not, nested,
// recursive, with the field options it reads.

type planStatus string

type planLevel uint16

type planMoney struct {
	Amount   float64    `json:"amount"`
	Currency planStatus `json:"currency"`
}

type planLine struct {
	SKU    string     `json:"sku"`
	Qty    int        `json:"quantity"`
	Price  planMoney  `json:"unitPrice"`
	Note   *string    `json:"note,omitempty"`
	Tags   []string   `json:"tags,omitempty"`
	Price2 *planMoney `json:"price2,omitempty"`
}

type planNode struct {
	Name     string      `json:"name"`
	Children []*planNode `json:"children,omitempty"`
}

type planAll struct {
	B        bool              `json:"b"`
	I        int               `json:"i"`
	I8       int8              `json:"i8"`
	I16      int16             `json:"i16,omitempty"`
	I32      int32             `json:"i32"`
	I64      int64             `json:"i64"`
	U        uint              `json:"u"`
	U8       uint8             `json:"u8"`
	U16      planLevel         `json:"u16"`
	U32      uint32            `json:"u32,omitempty"`
	U64      uint64            `json:"u64"`
	F        float64           `json:"f"`
	S        string            `json:"s"`
	Raw      []byte            `json:"raw"`
	Lines    []planLine        `json:"lines"`
	Ptr      *planLine         `json:"ptr"`
	M        map[string]int    `json:"m,omitempty"`
	MS       map[string]string `json:"ms"`
	Tree     *planNode         `json:"tree,omitempty"`
	Untagged string
	Skipped  string `json:"-"`
	hidden   int
	Empty    struct{}   `json:"empty,omitempty"`
	Money    planMoney  `json:"money,omitempty"`
	Opt      *planMoney `json:"opt,omitempty"`
}

// libraryEncoder is the library configured as the serializer configures it.
func libraryMarshal(t testing.TB, v any) []byte {
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	enc.SetCustomStructTag("json")
	enc.UseCompactInts(true)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func randString(r *rand.Rand) string {
	n := []int{0, 1, 5, 31, 32, 255, 256, 300}[r.IntN(8)]
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + r.IntN(26))
	}
	return string(b)
}

func randInt(r *rand.Rand) int64 {
	switch r.IntN(6) {
	case 0:
		return 0
	case 1:
		return int64(r.IntN(256)) - 128
	case 2:
		return int64(r.Uint32()) - math.MaxUint32/2
	case 3:
		return math.MinInt64
	case 4:
		return math.MaxInt64
	}
	return int64(r.Uint64())
}

func randLine(r *rand.Rand) planLine {
	l := planLine{SKU: randString(r), Qty: int(randInt(r)), Price: planMoney{r.NormFloat64() * 1e6, planStatus(randString(r))}}
	if r.IntN(2) == 0 {
		s := randString(r)
		l.Note = &s
	}
	for range r.IntN(3) {
		l.Tags = append(l.Tags, randString(r))
	}
	if r.IntN(3) == 0 {
		l.Price2 = &planMoney{}
	}
	return l
}

// randAll returns a value with at most one entry per map, so that both encoders write
// the same bytes.
func randAll(r *rand.Rand) *planAll {
	v := &planAll{
		B: r.IntN(2) == 0, I: int(randInt(r)), I8: int8(randInt(r)), I16: int16(randInt(r)), I32: int32(randInt(r)), I64: randInt(r),
		U: uint(randInt(r)), U8: uint8(randInt(r)), U16: planLevel(randInt(r)), U32: uint32(randInt(r)), U64: uint64(randInt(r)),
		F: r.NormFloat64(), S: randString(r), Untagged: randString(r), Skipped: "x", hidden: 3,
	}
	switch r.IntN(3) {
	case 0:
		v.Raw = []byte{}
	case 1:
		v.Raw = []byte(randString(r))
	}
	for range r.IntN(4) {
		v.Lines = append(v.Lines, randLine(r))
	}
	if r.IntN(2) == 0 {
		l := randLine(r)
		v.Ptr = &l
	}
	if r.IntN(2) == 0 {
		v.M = map[string]int{randString(r): int(randInt(r))}
	}
	if r.IntN(2) == 0 {
		v.MS = map[string]string{}
	}
	if r.IntN(2) == 0 {
		v.Tree = &planNode{Name: "root", Children: []*planNode{{Name: "a"}, nil, {Name: "b", Children: []*planNode{{}}}}}
	}
	if r.IntN(2) == 0 {
		v.Money = planMoney{Amount: 1}
	}
	if r.IntN(2) == 0 {
		v.Opt = &planMoney{}
	}
	return v
}

// TestPlanWritesTheLibrarysBytes: a plan writes exactly what the library writes, for
// values and pointers to values, and the library reads it back.
func TestPlanWritesTheLibrarysBytes(t *testing.T) {
	if planOf(reflect.TypeFor[planAll]()) == nil {
		t.Fatal("planAll has no plan")
	}
	s := NewMsgpack(Limits{})
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 2000 {
		v := randAll(r)
		for _, x := range []any{v, *v} {
			got, err := s.Marshal(nil, x)
			if err != nil {
				t.Fatal(err)
			}
			if want := libraryMarshal(t, x); !bytes.Equal(got, want) {
				t.Fatalf("value %d (%T): plan wrote\n%x\nthe library\n%x", i, x, got, want)
			}
		}
	}
	// Pointer-shaped values are held in the interface itself.
	type onePtr struct {
		P *planMoney `json:"p"`
	}
	type oneMap struct {
		M map[string]bool `json:"m"`
	}
	for _, x := range []any{onePtr{&planMoney{Amount: 2}}, onePtr{}, oneMap{map[string]bool{"k": true}}, map[string]string{"a": "b"}, []int{1, 2}, "s", 7, uint8(3)} {
		got, err := s.Marshal(nil, x)
		if err != nil {
			t.Fatal(err)
		}
		if want := libraryMarshal(t, x); !bytes.Equal(got, want) {
			t.Fatalf("%T: plan wrote %x, the library %x", x, got, want)
		}
	}
}

// TestPlanReadsAsTheLibrary: what a plan reads equals what the library reads, for the
// library's own bytes and for mutations of them; what one refuses the other refuses.
func TestPlanReadsAsTheLibrary(t *testing.T) {
	s := NewMsgpack(Limits{}).(*msgpackSerializer)
	r := rand.New(rand.NewPCG(3, 4))
	exact := 0
	for i := range 3000 {
		data := libraryMarshal(t, randAll(r))
		if i%2 == 0 { // the library's own bytes read through the plan alone
			var x planAll
			var d mpDec
			if err := d.decode(data, 64, planOf(reflect.TypeFor[planAll]()), unsafe.Pointer(&x)); err != nil {
				t.Fatalf("%x: the plan did not read the library's bytes: %v", data, err)
			}
			for _, l := range x.Lines { // no maps: read exactly
				var got planLine
				if ok, err := s.UnmarshalExact(libraryMarshal(t, l), &got); !ok || err != nil {
					t.Fatalf("the library's bytes of %+v: exact %v, %v", l, ok, err)
				}
				exact++
			}
		}
		if i%2 == 1 { // a mutation: most still parse, some do not fit
			data = bytes.Clone(data)
			for range 1 + r.IntN(3) {
				data[r.IntN(len(data))] = byte(r.Uint32())
			}
		}
		comparePlanRead[planAll](t, s, data)
		comparePlanRead[planLine](t, s, data)
	}
	if exact == 0 {
		t.Error("no lines were read")
	}
}

// TestPlanReadsExactly: a message read exactly (UnmarshalExact) writes back as itself,
// but for key order and number widths, over mutations of lines and trees.
func TestPlanReadsExactly(t *testing.T) {
	s := NewMsgpack(Limits{}).(*msgpackSerializer)
	r := rand.New(rand.NewPCG(9, 10))
	exact := 0
	for range 3000 {
		v := randAll(r)
		for _, data := range [][]byte{libraryMarshal(t, v.Lines), libraryMarshal(t, v.Tree)} {
			data = bytes.Clone(data)
			for range r.IntN(3) {
				data[r.IntN(len(data))] = byte(r.Uint32())
			}
			comparePlanRead[[]planLine](t, s, data)
			comparePlanRead[planNode](t, s, data)
			var x []planLine
			if ok, _ := s.UnmarshalExact(data, &x); ok {
				exact++
			}
		}
	}
	if exact == 0 {
		t.Error("nothing was read exactly")
	}
}

// comparePlanRead decodes data into a T with the serializer and with the library alone,
// and fails unless both agree.
func comparePlanRead[T any](t testing.TB, s *msgpackSerializer, data []byte) {
	t.Helper()
	var got, want T
	exact, errGot := s.UnmarshalExact(data, &got)
	d := s.decoder()
	errWant := s.libraryUnmarshal(d, data, &want)
	s.decoders.Put(d)
	if (errGot == nil) != (errWant == nil) {
		t.Fatalf("%x: serializer: %v; library: %v", data, errGot, errWant)
	}
	if errGot == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("%x: serializer read\n%+v\nthe library\n%+v", data, got, want)
	}
	if exact {
		checkExact(t, s, data, got)
	}
}

// checkExact fails t unless data holds what the serializer writes for got, but for the
// order of keys and the widths of numbers and headers: both read as the same JSON-ready
// value, or both fail to.
func checkExact(t testing.TB, s *msgpackSerializer, data []byte, got any) {
	t.Helper()
	again, err := s.Marshal(nil, got)
	if err != nil {
		t.Fatalf("%x: read exactly into %+v, which does not write: %v", data, got, err)
	}
	a, errA := s.UnmarshalValue(data)
	b, errB := s.UnmarshalValue(again)
	if (errA == nil) != (errB == nil) || errA == nil && !reflect.DeepEqual(a, b) {
		t.Fatalf("%x: read exactly, but writes as %x:\n%#v (%v)\n%#v (%v)", data, again, a, errA, b, errB)
	}
}

// TestPlanCoverage: the types a plan covers, and those left to the library.
func TestPlanCoverage(t *testing.T) {
	type embedded struct{ planMoney }
	type msgpackTag struct {
		A int `msgpack:"a"`
	}
	type stringOpt struct {
		A int `json:"a,string"`
	}
	type withTime struct {
		At time.Time `json:"at"`
	}
	type withAny struct {
		X any `json:"x"`
	}
	type withF32 struct {
		F float32 `json:"f"`
	}
	type dup struct {
		A int `json:"X"`
		X int
	}
	for _, c := range []struct {
		v    any
		plan bool
	}{
		{planAll{}, true}, {planNode{}, true}, {[]planLine{}, true}, {map[string]planMoney{}, true}, {"", true},
		{embedded{}, false}, {msgpackTag{}, false}, {stringOpt{}, false}, {withTime{}, false}, {withAny{}, false},
		{withF32{}, false}, {dup{}, false}, {[2]int{}, false}, {map[int]string{}, false}, {new(*int), false},
		{time.Duration(0), true}, {textBytes(nil), false},
	} {
		if got := planOf(reflect.TypeOf(c.v)) != nil; got != c.plan {
			t.Errorf("%T: plan %v, want %v", c.v, got, c.plan)
		}
	}
}

// textBytes is a named []byte with a TextMarshaler: the library's.
type textBytes []byte

func (j textBytes) MarshalText() ([]byte, error) { return j, nil }

// TestPlanCycle: a cycle through pointers is an error, not a crash.
func TestPlanCycle(t *testing.T) {
	n := &planNode{Name: "loop"}
	n.Children = []*planNode{n}
	if _, err := NewMsgpack(Limits{}).Marshal(nil, n); err == nil {
		t.Fatal("a cyclic value was written")
	}
}

// FuzzMsgpackPlan: any input reads the same through a plan as through the library.
func FuzzMsgpackPlan(f *testing.F) {
	r := rand.New(rand.NewPCG(5, 6))
	for range 20 {
		f.Add(libraryMarshal(f, randAll(r)))
	}
	f.Add([]byte{0x81, 0xa1, 'i', 0xcc, 0xff})
	f.Add([]byte{0xc0})
	s := NewMsgpack(Limits{MaxDepth: 32}).(*msgpackSerializer)
	f.Fuzz(func(t *testing.T, data []byte) {
		comparePlanRead[planAll](t, s, data)
		comparePlanRead[planLine](t, s, data)
		comparePlanRead[[]planNode](t, s, data)
	})
}

func BenchmarkMsgpackPlan(b *testing.B) {
	v := randAll(rand.New(rand.NewPCG(7, 8)))
	v.Lines = []planLine{{SKU: "ABC-1234", Qty: 2, Price: planMoney{12.5, "EUR"}}, {SKU: "XYZ-99999", Qty: 1, Price: planMoney{3, "EUR"}}}
	s := NewMsgpack(Limits{}).(*msgpackSerializer)
	data := libraryMarshal(b, v)
	b.Run("marshal/plan", func(b *testing.B) {
		buf := make([]byte, 0, 4096)
		for b.Loop() {
			buf, _ = s.Marshal(buf[:0], v)
		}
	})
	b.Run("marshal/library", func(b *testing.B) {
		e := msgpack.NewEncoder(nil)
		e.SetCustomStructTag("json")
		e.UseCompactInts(true)
		var w appendWriter
		e.Reset(&w)
		for b.Loop() {
			w.b = w.b[:0]
			e.Encode(v)
		}
	})
	b.Run("unmarshal/plan", func(b *testing.B) {
		for b.Loop() {
			var x planAll
			if err := s.Unmarshal(data, &x); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("unmarshal/library", func(b *testing.B) {
		d := s.decoder()
		for b.Loop() {
			var x planAll
			if err := s.libraryUnmarshal(d, data, &x); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestPlanArrayHeaderBomb: an array header may declare as many items as there are bytes
// left, and a one-byte item may decode into a large element: a message that fails at its
// second item must not have cost the memory of all the items it declared.
func TestPlanArrayHeaderBomb(t *testing.T) {
	data := headerBomb()
	var out []planLine
	var err error
	got := allocated(func() { err = NewMsgpack(Limits{}).Unmarshal(data, &out) })
	if err == nil {
		t.Fatal("a string read as a planLine")
	}
	if got > 8<<20 {
		t.Fatalf("a %d-byte message that fails at its second item allocated %d bytes (the declared items would take %d)",
			len(data), got, uintptr(bombItems)*reflect.TypeFor[planLine]().Size())
	}
}

// bombItems is the number of items headerBomb declares.
const bombItems = 1 << 20

// headerBomb is an array of bombItems items of one byte each (nil), but for the second,
// a string: a message that declares much and fails early.
func headerBomb() []byte {
	data := binary.BigEndian.AppendUint32([]byte{0xdd}, bombItems)
	data = append(data, 0xc0, 0xa1, 'x')
	return append(data, bytes.Repeat([]byte{0xc0}, bombItems-2)...)
}

// allocated returns the bytes f allocates.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// libLine has no plan (time.Time): the library reads it.
type libLine struct {
	At   time.Time `json:"at"`
	Name string    `json:"name"`
	Pad  [12]int64 `json:"pad"`
}

// TestLibraryArrayHeaderBomb: the library makes room for all the items a header declares
// before it reads one. A message whose headers could make it set aside more than
// maxLibraryPrealloc is refused as too large before the library sees it; an ordinary
// array of the same type still reads.
func TestLibraryArrayHeaderBomb(t *testing.T) {
	if planOf(reflect.TypeFor[libLine]()) != nil {
		t.Fatal("libLine has a plan")
	}
	data := headerBomb()
	s := NewMsgpack(Limits{})
	var out []libLine
	var err error
	got := allocated(func() { err = s.Unmarshal(data, &out) })
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("want ErrTooLarge, got %v", err)
	}
	if got > 8<<20 {
		t.Fatalf("a %d-byte message allocated %d bytes", len(data), got)
	}
	lines := make([]libLine, 300)
	for i := range lines {
		lines[i] = libLine{At: time.Unix(int64(i), 0).UTC(), Name: "x"}
	}
	ok, err := s.Marshal(nil, lines)
	if err != nil {
		t.Fatal(err)
	}
	var back []libLine
	if err := s.Unmarshal(ok, &back); err != nil || len(back) != 300 || !back[299].At.Equal(lines[299].At) {
		t.Fatalf("an ordinary array: %d items, %v", len(back), err)
	}
}

// TestPlanStringsShareChunks: the short strings of a message are cut from a few shared
// allocations, copied out of the input (which is reused), and a long one has its own.
func TestPlanStringsShareChunks(t *testing.T) {
	s := NewMsgpack(Limits{}).(*msgpackSerializer)
	lines := make([]planLine, 50)
	for i := range lines {
		lines[i] = planLine{SKU: fmt.Sprintf("ABC-%04d", i), Qty: i, Price: planMoney{1, "EUR"}}
	}
	data := libraryMarshal(t, lines)
	// The plan's read alone: the serializer's pooled decoders are not counted, which the
	// garbage collector may empty at any time.
	plan := planOf(reflect.TypeFor[[]planLine]())
	var d mpDec
	allocs := testing.AllocsPerRun(20, func() {
		var got []planLine
		if err := d.decode(data, 64, plan, unsafe.Pointer(&got)); err != nil {
			t.Fatal(err)
		}
	})
	// The slice, its header and chunks of 256, 512 and 1024 bytes: far from one a string.
	if allocs > 6 {
		t.Errorf("%.0f allocations to read 100 strings", allocs)
	}
	var got []planLine
	if err := s.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	clear(data) // the input is not kept
	if got[49].SKU != "ABC-0049" || got[0].Price.Currency != "EUR" {
		t.Errorf("read %+v", got[49])
	}
	long := strings.Repeat("x", arenaString+1)
	var one planLine
	if err := s.Unmarshal(libraryMarshal(t, planLine{SKU: long}), &one); err != nil || one.SKU != long {
		t.Fatalf("long string: %v", err)
	}
}

// TestPlanWritesHeldValues: however an interface holds the value (a pointer, nil or
// not; a map or a struct of one pointer, in its data word; anything else behind it),
// the plan writes the library's bytes, without an allocation for reading it.
func TestPlanWritesHeldValues(t *testing.T) {
	type onePointer struct {
		P *planMoney `json:"p"`
	}
	s := NewMsgpack(Limits{})
	m := planMoney{Amount: 2, Currency: "EUR"}
	var nilLine *planLine
	for _, v := range []any{&m, nilLine, m, map[string]int{"a": 1}, onePointer{&m}, onePointer{}, []planMoney{m}, "s", 7} {
		got, err := s.Marshal(nil, v)
		if want := libraryMarshal(t, v); err != nil || !bytes.Equal(got, want) {
			t.Errorf("%T %v: %x, %v; the library writes %x", v, v, got, err, want)
		}
	}
	// The plan's write alone: the serializer's pooled encoders are not counted, which the
	// garbage collector may empty at any time.
	buf := make([]byte, 0, 64)
	var v any = &m
	plan := planOf(reflect.TypeOf(v))
	if n := testing.AllocsPerRun(50, func() { buf, _ = plan.encodeHeld(buf[:0], v) }); n != 0 {
		t.Errorf("%.0f allocations to write a pointer", n)
	}
}

// TestArenaKeepsEarlierStrings: a decoder's small chunk serves its next messages, which
// never write over the strings handed out before (msgpack and json plans alike), and a
// small message allocates no chunk of its own.
func TestArenaKeepsEarlierStrings(t *testing.T) {
	for _, ser := range []Serializer{NewMsgpack(Limits{}), NewJSON(Limits{})} {
		var kept []planLine
		for i := range 200 {
			in := planLine{SKU: fmt.Sprintf("SKU-%04d", i), Qty: i, Price: planMoney{1, planStatus(fmt.Sprintf("C%02d", i%100))}}
			data, err := ser.Marshal(nil, in)
			if err != nil {
				t.Fatal(err)
			}
			var got planLine
			if err := ser.Unmarshal(data, &got); err != nil {
				t.Fatal(err)
			}
			kept = append(kept, got)
		}
		for i, got := range kept {
			if got.SKU != fmt.Sprintf("SKU-%04d", i) || string(got.Price.Currency) != fmt.Sprintf("C%02d", i%100) {
				t.Fatalf("%s: message %d reads %+v after the later ones", ser.Name(), i, got)
			}
		}
	}
	plan := planOf(reflect.TypeFor[planLine]())
	data := libraryMarshal(t, planLine{SKU: "ABC-0001", Price: planMoney{1, "EUR"}})
	var d mpDec
	got := new(planLine)
	allocs := testing.AllocsPerRun(100, func() {
		*got = planLine{}
		if err := d.decode(data, 64, plan, unsafe.Pointer(got)); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 0.1 { // one chunk of 256 bytes for every 20-odd messages
		t.Errorf("%.2f allocations to read a small message", allocs)
	}
}
