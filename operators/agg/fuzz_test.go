package agg

import (
	"bytes"
	"testing"
)

// FuzzDecode feeds arbitrary bytes to every kind of accumulator decoder:
// none may panic, and whatever decodes must re-encode to the same bytes
// and keep working.
func FuzzDecode(f *testing.F) {
	funcs := allFuncs(f)
	for _, c := range aggCases() {
		fn := funcs[0]
		for _, g := range funcs {
			if g.Name() == c.fn {
				fn = g
			}
		}
		a := fn.New()
		for _, r := range c.rows {
			_ = a.Add(argsOf(c, r))
		}
		f.Add(a.AppendEncode(nil))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, fn := range funcs {
			a, err := fn.Decode(b)
			if err != nil {
				continue
			}
			if enc := a.AppendEncode(nil); !bytes.Equal(enc, b) {
				// Non-canonical input (e.g. a padded varint) may decode;
				// its re-encoding must then be stable.
				a2, err := fn.Decode(enc)
				if err != nil || !bytes.Equal(a2.AppendEncode(nil), enc) {
					t.Fatalf("%s: unstable re-encoding of %x", fn.Name(), b)
				}
			}
			_ = a.Result()
		}
		_, _, _ = DecodeValue(b)
	})
}
