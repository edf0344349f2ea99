package window

import "errors"

// Sentinel errors of the package. Errors returned by this package wrap one
// of them, so callers test with errors.Is.
var (
	// ErrInvalidSpec reports a window specification ksqlDB would reject
	// (a non-positive SIZE, ADVANCE BY larger than SIZE, a RETENTION shorter
	// than SIZE plus GRACE PERIOD, ...).
	ErrInvalidSpec = errors.New("window: invalid window specification")
	// ErrShortKey reports a windowed or store key too short to hold its
	// window suffix.
	ErrShortKey = errors.New("window: windowed key too short")
	// ErrInvalidWindow reports a decoded window that Kafka Streams would
	// refuse: a negative start, or a session whose end precedes its start.
	ErrInvalidWindow = errors.New("window: invalid window bounds")
	// ErrBadStoreKey reports a state store key that is not in the layout
	// AppendStoreKey writes.
	ErrBadStoreKey = errors.New("window: malformed store key")
)
