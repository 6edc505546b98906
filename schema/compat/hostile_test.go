package compat_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jesus-go/jesus/schema/compat"
)

// TestHostileSchemas: schemas built to blow up the search end within the
// budget as Unproven or with a real answer, never hang or panic.
func TestHostileSchemas(t *testing.T) {
	var anyOfs []string
	for i := 0; i < 12; i++ {
		anyOfs = append(anyOfs, fmt.Sprintf(`{"anyOf":[{"type":"integer","minimum":%d},{"type":"string","minLength":%d},{"type":"null"}]}`, i, i))
	}
	explode := `{"allOf":[` + strings.Join(anyOfs, ",") + `]}`
	deep := strings.Repeat(`{"type":"object","properties":{"a":`, 300) + `{"type":"integer"}` + strings.Repeat(`}}`, 300)
	deepB := strings.Repeat(`{"type":"object","properties":{"a":`, 300) + `{"type":"string"}` + strings.Repeat(`}}`, 300)
	var enum []string
	for i := 0; i < 5000; i++ {
		enum = append(enum, fmt.Sprint(i))
	}
	bigEnum := `{"enum":[` + strings.Join(enum, ",") + `]}`
	cases := []struct{ name, a, b string }{
		{"anyOf explosion", explode, `{"anyOf":[{"type":"integer","minimum":3},{"type":"string"}]}`},
		{"deep nesting", deep, deepB},
		{"big enum", bigEnum, `{"type":"integer","maximum":4000}`},
		{"huge bounds", `{"type":"string","minLength":1e18}`, `{"type":"string","maxLength":1e17}`},
		{"huge numbers", `{"type":"number","minimum":1e300,"multipleOf":1e-300}`, `{"type":"number","multipleOf":3e-300}`},
		{"nested repetition", `{"type":"string","pattern":"^((a|b){1,30}c){1,30}$"}`, `{"type":"string","pattern":"^((a|b){1,29}c){1,30}$"}`},
		{"unicode classes", `{"type":"string","pattern":"^\\p{L}+$"}`, `{"type":"string","pattern":"^[\\p{Lu}\\p{Ll}]+$"}`},
		{"many patterns", `{"type":"string","allOf":[{"pattern":"a.*b.*c"},{"pattern":"c.*b.*a"},{"pattern":"^.{0,40}$"},{"pattern":"(ab|ba)+"}]}`, `{"type":"string","pattern":"^[abc]*$"}`},
		{"state blow-up", `{"type":"string","pattern":"(a|b)*a(a|b){12}$"}`, `{"type":"string","pattern":"(a|b)*a(a|b){11}$"}`},
	}
	for _, c := range cases {
		start := time.Now()
		r, err := compat.CheckJSON([]byte(c.a), []byte(c.b))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if d := time.Since(start); d > 20*time.Second {
			t.Errorf("%s took %v", c.name, d)
		}
		t.Logf("%s: %v in %v: %.120s", c.name, r.Verdict, time.Since(start).Round(time.Millisecond), r.Reason)
	}
}
