package slt

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// edit replaces a query's expected results in the file's bytes.
type edit struct {
	span  resultSpan
	lines []string
}

// applyEdits returns data with each edit applied; edits are in file order
// and do not overlap. Bytes outside the edited result blocks are kept.
func applyEdits(data []byte, edits []edit) []byte {
	var b strings.Builder
	prev := 0
	for _, e := range edits {
		b.Write(data[prev:e.span.start])
		if e.span.start > 0 && data[e.span.start-1] != '\n' {
			b.WriteByte('\n') // the file ended without a newline
		}
		if !e.span.separator {
			b.WriteString("----\n")
		}
		for _, l := range e.lines {
			b.WriteString(l)
			b.WriteByte('\n')
		}
		prev = e.span.end
	}
	b.Write(data[prev:])
	return []byte(b.String())
}

// writeFile replaces path's content atomically, keeping its mode.
func writeFile(path string, data []byte) error {
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("slt: rewrite %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".slt-rewrite-*")
	if err != nil {
		return fmt.Errorf("slt: rewrite %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // no-op once renamed
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("slt: rewrite %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("slt: rewrite %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), st.Mode().Perm()); err != nil {
		return fmt.Errorf("slt: rewrite %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("slt: rewrite %s: %w", path, err)
	}
	return nil
}
