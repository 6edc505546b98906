package cli

import (
	"runtime/debug"
	"testing"
)

func TestVersionOf(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.4.0"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.time", Value: "2026-12-01T10:00:00Z"}, {Key: "vcs.modified", Value: "true"},
	}}
	if got, want := versionOf(bi), "v1.4.0 (commit 0123456789ab, 2026-12-01T10:00:00Z, modified, go1.26.8)"; got != want {
		t.Fatalf("versionOf = %q, want %q", got, want)
	}
	if got, want := versionOf(&debug.BuildInfo{GoVersion: "go1.26.8"}), "(devel) (go1.26.8)"; got != want {
		t.Fatalf("versionOf = %q, want %q", got, want)
	}
}
