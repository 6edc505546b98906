package compat_test

import (
	"strings"
	"testing"

	"github.com/jesus-go/jesus/schema"
	"github.com/jesus-go/jesus/schema/compat"
)

// TestRepoSchemas checks the example descriptors of the repository: every
// relation must be decided or explained, never fail on the documents.
func TestRepoSchemas(t *testing.T) {
	set, err := schema.LoadDir("../../schemas")
	if err != nil {
		t.Fatal(err)
	}
	rep := compat.CheckAll(set.Services())
	if len(rep.Items) == 0 {
		t.Fatal("no relation among the example descriptors")
	}
	for _, it := range rep.Items {
		if strings.Contains(it.Reason, "does not compile") || strings.Contains(it.Reason, "not supported") {
			t.Errorf("%v", it.Lines())
		}
	}
	t.Log("\n" + rep.String())
}
