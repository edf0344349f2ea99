package serde

import (
	"errors"
	"fmt"
)

// Error is an error with a PostgreSQL SQLSTATE code. The sentinels below
// are *Error values; every error this package returns wraps one of them,
// so errors.Is(err, ErrDecode) works and errors.As finds the code through
// any wrapping.
type Error struct {
	Code, Msg string
}

func (e *Error) Error() string { return e.Msg }

// SQLState returns the SQLSTATE code, e.g. "0A000".
func (e *Error) SQLState() string { return e.Code }

// The sentinels.
var (
	// ErrUnsupported: a format name that Runnel does not know or does not
	// support yet (AVRO, PROTOBUF, ...), a type the format cannot carry, or
	// a property the format does not allow.
	ErrUnsupported = &Error{Code: "0A000", Msg: "serde: not supported"}
	// ErrInvalidProps: a property with a bad value (VALUE_DELIMITER='ab').
	ErrInvalidProps = &Error{Code: "22023", Msg: "serde: invalid format property"}
	// ErrDecode: bytes that do not decode into the format's columns.
	ErrDecode = &Error{Code: "22P02", Msg: "serde: cannot decode"}
	// ErrEncode: a row that does not fit the format's columns (wrong
	// length, a value of the wrong kind, an INT out of range).
	ErrEncode = &Error{Code: "22000", Msg: "serde: cannot encode"}
)

// codedError is an error carrying its own message and the sentinel it
// belongs to.
type codedError struct {
	sentinel *Error
	msg      string
}

func (e *codedError) Error() string { return e.sentinel.Msg + ": " + e.msg }

// Unwrap returns the sentinel, for errors.Is.
func (e *codedError) Unwrap() error { return e.sentinel }

// SQLState returns the sentinel's code.
func (e *codedError) SQLState() string { return e.sentinel.Code }

// errorf returns an error wrapping sentinel with a formatted message.
func errorf(sentinel *Error, format string, args ...any) error {
	return &codedError{sentinel: sentinel, msg: fmt.Sprintf(format, args...)}
}

// SQLState returns the SQLSTATE of an error from this package (found with
// errors.As through any wrapping), or "" when it carries none.
func SQLState(err error) string {
	var s interface{ SQLState() string }
	if errors.As(err, &s) {
		return s.SQLState()
	}
	return ""
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
