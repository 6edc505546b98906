package schema

import (
	"math"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"
)

// dividesFloat, where it answers, answers as exact arithmetic on jsonschema's value of the
// float (its shortest decimal form).
func checkDividesFloat(t *testing.T, mult string, f float64) {
	t.Helper()
	r, _ := new(big.Rat).SetString(mult)
	mu := newMultiple(r)
	if !mu.ok || mu.e > 0 || math.IsNaN(f) || math.IsInf(f, 0) {
		return
	}
	got, ok := mu.dividesFloat(f)
	if !ok {
		return
	}
	if want := new(big.Rat).Quo(ratOf(f), r).IsInt(); got != want {
		t.Fatalf("%v multipleOf %s: fast %v, exact %v", f, mult, got, want)
	}
}

func TestDividesFloat(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	mults := []string{"0.01", "0.05", "0.3333", "1", "0.5", "0.001", "0.25", "7", "0.1", "1e-10", "3e-22"}
	for range 20000 {
		var f float64
		switch rng.IntN(4) {
		case 0:
			f = float64(rng.Int64N(1e6)) / 100
		case 1:
			f = math.Nextafter(float64(rng.Int64N(1e17))/100, math.Inf(rng.IntN(2)*2-1))
		case 2:
			f = rng.NormFloat64() * math.Pow(10, float64(rng.IntN(30)-15))
		default:
			f = float64(rng.Int64N(1e16)) / math.Pow(10, float64(rng.IntN(20)))
		}
		for _, m := range mults {
			checkDividesFloat(t, m, f)
			checkDividesFloat(t, m, -f)
		}
	}
}

func FuzzDividesFloat(f *testing.F) {
	f.Add("0.01", 19.99)
	f.Add("0.05", 0.1+0.2)
	f.Add("0.3333", 0.6666)
	f.Fuzz(func(t *testing.T, mult string, x float64) {
		// Plain decimals only: an exponent like 1e999999999 makes the exact reference
		// arithmetic itself run out of time and memory.
		if len(mult) > 30 || strings.ContainsAny(mult, "eE") {
			return
		}
		if _, ok := new(big.Rat).SetString(mult); !ok {
			return
		}
		checkDividesFloat(t, mult, x)
	})
}
