package compat_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jesus-go/jesus/schema/compat"
)

// TestRepoSchemas checks the example descriptors of the repository: every
// relation must be decided or explained, never fail on the documents.
func TestRepoSchemas(t *testing.T) {
	paths, _ := filepath.Glob("../../schemas/*.json")
	files := map[string][]byte{}
	for _, p := range paths {
		b, _ := os.ReadFile(p)
		files[filepath.Base(p)] = b
	}
	descs, err := compat.ParseSet(files)
	if err != nil {
		t.Fatal(err)
	}
	if len(descs) == 0 {
		t.Skip("no example descriptors")
	}
	rep := compat.CheckAll(descs)
	for _, it := range rep.Items {
		if strings.Contains(it.Reason, "does not compile") || strings.Contains(it.Reason, "not supported") {
			t.Errorf("%v", it.Lines())
		}
	}
	t.Log("\n" + rep.String())
}
