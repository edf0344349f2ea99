package engine

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// nodeIDFile is the file in the data directory that keeps a generated node
// id, so that a node restarted without --node-id is the same node: its
// transactional ids (and so the fencing of its previous incarnation) and
// its name in SHOW NODES survive the restart.
const nodeIDFile = "node-id"

// validNodeID is what a node id may hold: it goes into transactional ids,
// consumer group client ids and store names, so it keeps to characters
// that every one of them accepts.
var validNodeID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// resolveNodeID returns the node id to use: the configured one, else the
// one kept in dir, else a new random one, which it keeps in dir.
func resolveNodeID(configured, dir string) (string, error) {
	if configured != "" {
		if !validNodeID.MatchString(configured) {
			return "", fmt.Errorf("engine: node id %q: use 1 to 64 letters, digits, '.', '_' or '-'", configured)
		}
		return configured, nil
	}
	path := filepath.Join(dir, nodeIDFile)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		id := strings.TrimSpace(string(b))
		if !validNodeID.MatchString(id) {
			return "", fmt.Errorf("engine: %s holds %q, which is not a node id; fix or remove it", path, id)
		}
		return id, nil
	case !errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("engine: read node id: %w", err)
	}
	var raw [6]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", fmt.Errorf("engine: generate node id: %w", err)
	}
	id := "node-" + hex.EncodeToString(raw[:])
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("engine: keep node id: %w", err)
	}
	// Written to a temporary file and renamed, so that a crash leaves
	// either no id (a new one is made next time, before anything used
	// this one durably) or the whole id.
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(id+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("engine: keep node id: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", fmt.Errorf("engine: keep node id: %w", err)
	}
	return id, nil
}

// NodeID is this node's id: Options.NodeID, or the one kept in its data
// directory.
func (e *Engine) NodeID() string { return e.opts.NodeID }
