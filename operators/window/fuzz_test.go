package window

import (
	"bytes"
	"testing"
)

// FuzzParseWindowedKey feeds arbitrary bytes to every key parser: none may
// panic, and whatever parses must re-encode to the same bytes.
func FuzzParseWindowedKey(f *testing.F) {
	f.Add(AppendTimeWindowedKey(nil, []byte("alice"), 1000))
	f.Add(AppendSessionWindowedKey(nil, []byte("alice"), Window{Start: 1000, End: 5000}))
	f.Add(AppendStoreKey(nil, []byte("a\x00b"), -1))
	f.Add(AppendSessionStoreKey(nil, []byte("\x00"), Window{Start: -3, End: 4}))
	f.Add([]byte{})
	f.Add([]byte{0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		if key, start, err := ParseTimeWindowedKey(b); err == nil {
			if got := AppendTimeWindowedKey(nil, key, start); !bytes.Equal(got, b) {
				t.Fatalf("time-windowed %x re-encodes to %x", b, got)
			}
		}
		if key, w, err := ParseSessionWindowedKey(b); err == nil {
			if got := AppendSessionWindowedKey(nil, key, w); !bytes.Equal(got, b) {
				t.Fatalf("session-windowed %x re-encodes to %x", b, got)
			}
		}
		if key, start, err := ParseStoreKey(b); err == nil {
			if got := AppendStoreKey(nil, key, start); !bytes.Equal(got, b) {
				t.Fatalf("store key %x re-encodes to %x", b, got)
			}
		}
		if key, w, err := ParseSessionStoreKey(b); err == nil {
			if got := AppendSessionStoreKey(nil, key, w); !bytes.Equal(got, b) {
				t.Fatalf("session store key %x re-encodes to %x", b, got)
			}
		}
	})
}
