package slt

import "errors"

var (
	// ErrParse is wrapped by every *ParseError.
	ErrParse = errors.New("slt: parse error")
	// ErrRecordsFailed is wrapped by the error RunFile returns when records
	// of the file did not pass.
	ErrRecordsFailed = errors.New("slt: records failed")
	// ErrNoConnect is returned by New when Options has neither Connect nor
	// DSN.
	ErrNoConnect = errors.New("slt: Options needs Connect or DSN")
)
