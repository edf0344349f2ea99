package planner

import "fmt"

// Error is a planning error with its SQLSTATE.
type Error struct {
	Code string
	Msg  string
}

func (e *Error) Error() string    { return e.Msg }
func (e *Error) SQLState() string { return e.Code }

// SQLSTATE codes the planner reports.
const (
	CodeFeatureNotSupported = "0A000"
	CodeSyntax              = "42601"
	CodeUndefinedTable      = "42P01"
	CodeDuplicateColumn     = "42701"
	CodeDatatypeMismatch    = "42804"
	CodeInvalidColumnRef    = "42P10"
	CodeGrouping            = "42803"
	CodeInvalidParameter    = "22023"
	CodeWrongObjectType     = "42809"
)

func errorf(code, format string, args ...any) error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...)}
}

func unsupported(format string, args ...any) error {
	return errorf(CodeFeatureNotSupported, format, args...)
}
