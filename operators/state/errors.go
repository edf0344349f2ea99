package state

import "errors"

var (
	// ErrStoreOpen is returned by Open and Drop for a store that is open.
	ErrStoreOpen = errors.New("state: store is open")
	// ErrClosed is returned by a TaskStore after Close.
	ErrClosed = errors.New("state: store closed")
	// ErrNeedsRestore is returned by a TaskStore whose local copy may no
	// longer match its changelog (a failed commit in changelog mode). The
	// task must Close it and Open it again, which restores it.
	ErrNeedsRestore = errors.New("state: store needs restore")
)
