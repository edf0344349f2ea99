package slt

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
)

// HashValues returns the MD5, in lower-case hex, of values as the C
// sqllogictest computes it: each rendered value followed by '\n', in order
// (after the query's sort mode is applied).
func HashValues(values []string) string {
	h := md5.New()
	for _, v := range values {
		_, _ = io.WriteString(h, v)
		_, _ = io.WriteString(h, "\n")
	}
	return hex.EncodeToString(h.Sum(nil))
}

// hashedLine is the single result line that stands for values when they
// are more than the hash threshold.
func hashedLine(values []string) string {
	return fmt.Sprintf("%d values hashing to %s", len(values), HashValues(values))
}
