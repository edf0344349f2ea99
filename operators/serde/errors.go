package serde

import (
	"errors"
	"fmt"

	"github.com/runnel/runnel/internal/sqlstate"
)

// The sentinels. Every error this package returns wraps one of them, so
// errors.Is(err, ErrDecode) works and sqlstate.Of finds the code through
// any wrapping.
var (
	// ErrUnsupported: a format name that Runnel does not know or does not
	// support yet (AVRO, PROTOBUF, ...), a type the format cannot carry, or
	// a property the format does not allow.
	ErrUnsupported = sqlstate.New(sqlstate.FeatureNotSupported, "serde: not supported")
	// ErrInvalidProps: a property with a bad value (VALUE_DELIMITER='ab').
	ErrInvalidProps = sqlstate.New(sqlstate.InvalidParameter, "serde: invalid format property")
	// ErrDecode: bytes that do not decode into the format's columns.
	ErrDecode = sqlstate.New(sqlstate.InvalidText, "serde: cannot decode")
	// ErrEncode: a row that does not fit the format's columns (wrong
	// length, a value of the wrong kind, an INT out of range).
	ErrEncode = sqlstate.New(sqlstate.DataException, "serde: cannot encode")
)

// errorf returns an error wrapping sentinel, its message the sentinel's
// and then the formatted one.
func errorf(sentinel *sqlstate.Error, format string, args ...any) error {
	return sentinel.Errorf("%s: %s", sentinel.Msg, fmt.Sprintf(format, args...))
}

// fieldError is a decode or encode failure inside one value; path grows
// as it travels up ("[2]", ".CITY") until the column wraps it.
type fieldError struct {
	path string
	msg  string
}

func (e *fieldError) Error() string {
	if e.path == "" {
		return e.msg
	}
	return e.path + ": " + e.msg
}

func failf(format string, args ...any) error {
	return &fieldError{msg: fmt.Sprintf(format, args...)}
}

// atPath prefixes a fieldError's path with p; other errors pass through.
func atPath(err error, p string) error {
	var fe *fieldError
	if errors.As(err, &fe) {
		return &fieldError{path: p + fe.path, msg: fe.msg}
	}
	return err
}

// decodeErr wraps a failure decoding column col into an ErrDecode.
func decodeErr(what, col string, err error) error {
	return errorf(ErrDecode, "%s column %s: %v", what, col, err)
}

// encodeErr wraps a failure encoding column col into an ErrEncode.
func encodeErr(what, col string, err error) error {
	return errorf(ErrEncode, "%s column %s: %v", what, col, err)
}
