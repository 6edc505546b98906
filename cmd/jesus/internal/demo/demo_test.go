package demo_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jesus-go/jesus/cmd/jesus/internal/demo"
)

// FindSchemas finds the repository's schemas/ from any directory below it.
func ExampleFindSchemas() {
	dir, err := demo.FindSchemas("")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(filepath.Base(dir))
	// Output: schemas
}

// TestRunNamesTheFailingStep: descriptors without billing make step 2 fail, and nothing
// after it runs.
func TestRunNamesTheFailingStep(t *testing.T) {
	dir := t.TempDir()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "..", "schemas", "audit.json"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "audit.json"), b, 0o644)
	var out bytes.Buffer
	err = demo.Run(context.Background(), demo.Config{Schemas: dir, Out: &out})
	var se *demo.StepError
	if !errors.As(err, &se) || se.Step != 2 {
		t.Fatalf("want a StepError at step 2, got %v\n%s", err, out.String())
	}
	if strings.Contains(out.String(), "[ 3]") || !strings.Contains(out.String(), "demo: FAILED at step 2") {
		t.Fatalf("transcript:\n%s", out.String())
	}
}
