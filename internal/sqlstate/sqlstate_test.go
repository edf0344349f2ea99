package sqlstate

import (
	"errors"
	"fmt"
	"io"
	"testing"
)

func TestErrorsCarryTheirCode(t *testing.T) {
	sentinel := New(ProgramLimitExceeded, "limit exceeded")
	for _, tc := range []struct {
		name string
		err  error
		code Code
		is   error
		msg  string
	}{
		{"sentinel", sentinel, ProgramLimitExceeded, sentinel, "limit exceeded"},
		{"from sentinel", sentinel.Errorf("value of %d bytes is over the limit", 9), ProgramLimitExceeded, sentinel, "value of 9 bytes is over the limit"},
		{"wrapped by fmt", fmt.Errorf("query q1: %w", sentinel.Errorf("x")), ProgramLimitExceeded, sentinel, "query q1: x"},
		{"Errorf with %w", Errorf(DiskFull, "append: %w", io.ErrShortWrite), DiskFull, io.ErrShortWrite, "append: short write"},
		{"plain", io.EOF, "", io.EOF, "EOF"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Of(tc.err); got != tc.code {
				t.Errorf("Of = %q, want %q", got, tc.code)
			}
			if !errors.Is(tc.err, tc.is) {
				t.Errorf("errors.Is(%v, %v) = false", tc.err, tc.is)
			}
			if tc.err.Error() != tc.msg {
				t.Errorf("message %q, want %q", tc.err.Error(), tc.msg)
			}
		})
	}
}
