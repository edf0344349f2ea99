package sqlstate

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// codeLike matches a string that reads as a SQLSTATE: a class of a digit
// and a digit or letter (00 to 5x), or one of PostgreSQL's lettered
// classes (XX, P0, HV, F0), then three digits or capitals.
var codeLike = regexp.MustCompile(`^([0-9][0-9A-Z]|XX|P0|HV|F0)[0-9A-Z]{3}$`)

// TestOneHomeForCodes keeps this package the one home of the SQLSTATE
// codes: no Go source outside it (tests aside, which assert what a client
// sees) spells a code as a string literal, so every code has a name here
// and a grep for the name finds every use.
func TestOneHomeForCodes(t *testing.T) {
	root := moduleRoot(t)
	here, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			// Not Go source of the module: hidden directories, test data,
			// vendored and npm packages, a local data directory.
			skip := strings.HasPrefix(name, ".") || name == "testdata" || name == "vendor" ||
				name == "node_modules" || name == "runnel-data"
			if path != root && skip || path == here {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			if s, err := strconv.Unquote(lit.Value); err == nil && codeLike.MatchString(s) {
				rel, _ := filepath.Rel(root, fset.Position(lit.Pos()).Filename)
				t.Errorf("%s:%d: the SQLSTATE %q is spelled inline; name it in internal/sqlstate and use the name",
					rel, fset.Position(lit.Pos()).Line, s)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// moduleRoot is the directory of the go.mod above the test's directory.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test")
		}
		dir = parent
	}
}

func TestClass(t *testing.T) {
	for _, tc := range []struct{ code, class Code }{
		{UnableToConnect, ConnectionException},
		{ProtocolViolation, ConnectionException},
		{AdminShutdown, "57000"},
		{Internal, "XX000"},
		{"", ""},
		{"08", ""},
	} {
		if got := tc.code.Class(); got != tc.class {
			t.Errorf("Code(%q).Class() = %q, want %q", tc.code, got, tc.class)
		}
	}
}
