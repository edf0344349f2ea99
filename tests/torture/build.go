package torture

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// Build compiles cmd/runnel into dir with the invariants build tag, so the
// server checks its own consistency while it is tortured, and with the
// race detector when race is set. It runs the go command of the toolchain
// running the tests (go test puts its GOROOT/bin first on PATH) from the current
// directory, which must be inside the module.
func Build(ctx context.Context, dir string, race bool) (string, error) {
	out := filepath.Join(dir, "runnel")
	args := []string{"build", "-tags", "invariants", "-o", out}
	if race {
		args = append(args, "-race")
	}
	args = append(args, "github.com/runnel/runnel/cmd/runnel")
	cmd := exec.CommandContext(ctx, goTool(), args...)
	cmd.Env = os.Environ()
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go %v: %w\n%s", args, err, msg)
	}
	return out, nil
}

// goTool is the go command: $GOROOT/bin/go when GOROOT is set, else the
// one on PATH.
func goTool() string {
	if root := os.Getenv("GOROOT"); root != "" {
		if p := filepath.Join(root, "bin", "go"); fileExists(p) {
			return p
		}
	}
	return "go"
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
