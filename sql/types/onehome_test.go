package types

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestOneHome keeps the value system's text forms in this package: a
// second Java-double formatter, decimal formatter or type-name parser
// elsewhere in the module would drift from these (two copies once
// disagreed on Double.MIN_VALUE). It looks for their declarations by
// name in the module's non-test Go files.
func TestOneHome(t *testing.T) {
	root := filepath.Join("..", "..")
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found from %s: %v", root, err)
	}
	decl := regexp.MustCompile(`(?mi)^func (\([^)]*\) )?((append|format)(java)?(double|decimal)|[a-z]*parse[a-z]*type)\(`)
	// Allowed: this package, and sql.ParseType, which positions the
	// errors of this package's parser in a statement.
	allowed := map[string]bool{filepath.Join("sql", "types.go"): true}
	checked := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			if path != root && (rel == filepath.Join("sql", "types") || strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") || allowed[rel] {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		checked++
		for _, m := range decl.FindAllString(string(src), -1) {
			t.Errorf("%s declares %s...: format and parse through sql/types (AppendDouble, AppendDecimal, ParsePrefix) instead", rel, m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 50 {
		t.Fatalf("checked only %d files: is the walk rooted at the module?", checked)
	}
}
