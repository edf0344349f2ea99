package engine

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestResolveNodeID(t *testing.T) {
	dir := t.TempDir()
	first, err := resolveNodeID("", dir)
	if err != nil {
		t.Fatal(err)
	}
	if !validNodeID.MatchString(first) || !strings.HasPrefix(first, "node-") {
		t.Fatalf("generated id %q", first)
	}
	again, err := resolveNodeID("", dir)
	if err != nil || again != first {
		t.Fatalf("second resolve = %q, %v; want the kept %q", again, err, first)
	}
	if other, err := resolveNodeID("", t.TempDir()); err != nil || other == first {
		t.Fatalf("another directory's id = %q, %v; want a new one", other, err)
	}
	for _, tc := range []struct {
		id, wantErr string
	}{
		{"n1", ""},
		{"a.b_c-9", ""},
		{"has space", "node id"},
		{"slash/no", "node id"},
		{strings.Repeat("x", 65), "node id"},
	} {
		got, err := resolveNodeID(tc.id, dir)
		if tc.wantErr == "" {
			if err != nil || got != tc.id {
				t.Errorf("resolveNodeID(%q) = %q, %v", tc.id, got, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("resolveNodeID(%q) error = %v, want %q", tc.id, err, tc.wantErr)
		}
	}
	bad := t.TempDir()
	if err := os.WriteFile(filepath.Join(bad, nodeIDFile), []byte("no good\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := resolveNodeID("", bad); err == nil {
		t.Fatal("a corrupt node-id file was accepted")
	}
}
