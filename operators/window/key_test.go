package window

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"slices"
	"testing"
)

func TestTimeWindowedKey(t *testing.T) {
	tests := []struct {
		key   string
		start int64
		hex   string
	}{
		{"alice", 1000, "616c696365" + "00000000000003e8"},
		{"", 0, "0000000000000000"},
		{"k", 1_700_000_000_000, "6b" + "0000018bcfe56800"},
		{"\x00\x01", math.MaxInt64, "0001" + "7fffffffffffffff"},
	}
	for _, tt := range tests {
		b := AppendTimeWindowedKey(nil, []byte(tt.key), tt.start)
		if got := hex.EncodeToString(b); got != tt.hex {
			t.Errorf("AppendTimeWindowedKey(%q, %d) = %s, want %s", tt.key, tt.start, got, tt.hex)
		}
		key, start, err := ParseTimeWindowedKey(b)
		if err != nil || string(key) != tt.key || start != tt.start {
			t.Errorf("ParseTimeWindowedKey(%s) = %q, %d, %v; want %q, %d", tt.hex, key, start, err, tt.key, tt.start)
		}
	}
	// Appending keeps what dst holds.
	if got := AppendTimeWindowedKey([]byte("x"), []byte("a"), 1); !bytes.Equal(got, []byte("xa\x00\x00\x00\x00\x00\x00\x00\x01")) {
		t.Errorf("append to dst = %x", got)
	}
}

func TestSessionWindowedKey(t *testing.T) {
	tests := []struct {
		key string
		w   Window
		hex string
	}{
		// Kafka Streams' SessionKeySchema: key, then END, then START.
		{"alice", Window{Start: 1000, End: 5000}, "616c696365" + "0000000000001388" + "00000000000003e8"},
		{"", Window{Start: 7, End: 7}, "0000000000000007" + "0000000000000007"},
	}
	for _, tt := range tests {
		b := AppendSessionWindowedKey(nil, []byte(tt.key), tt.w)
		if got := hex.EncodeToString(b); got != tt.hex {
			t.Errorf("AppendSessionWindowedKey(%q, %v) = %s, want %s", tt.key, tt.w, got, tt.hex)
		}
		key, w, err := ParseSessionWindowedKey(b)
		if err != nil || string(key) != tt.key || w != tt.w {
			t.Errorf("ParseSessionWindowedKey(%s) = %q, %v, %v; want %q, %v", tt.hex, key, w, err, tt.key, tt.w)
		}
	}
}

func TestParseWindowedKeyErrors(t *testing.T) {
	mustHex := func(s string) []byte {
		b, err := hex.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if _, _, err := ParseTimeWindowedKey(mustHex("00000000000003")); !errors.Is(err, ErrShortKey) {
		t.Errorf("7-byte time-windowed key: err = %v, want ErrShortKey", err)
	}
	if _, _, err := ParseTimeWindowedKey(mustHex("61ffffffffffffffff")); !errors.Is(err, ErrInvalidWindow) {
		t.Errorf("negative start: err = %v, want ErrInvalidWindow", err)
	}
	if _, _, err := ParseSessionWindowedKey(mustHex("000000000000000100000000000000")); !errors.Is(err, ErrShortKey) {
		t.Errorf("15-byte session key: err = %v, want ErrShortKey", err)
	}
	// end 1 < start 2
	if _, _, err := ParseSessionWindowedKey(mustHex("61" + "0000000000000001" + "0000000000000002")); !errors.Is(err, ErrInvalidWindow) {
		t.Errorf("end before start: err = %v, want ErrInvalidWindow", err)
	}
}

func TestParsedKeyDoesNotClobber(t *testing.T) {
	b := AppendTimeWindowedKey(nil, []byte("ab"), 9)
	key, _, err := ParseTimeWindowedKey(b)
	if err != nil {
		t.Fatal(err)
	}
	// The key is capped: appending to it must not overwrite the suffix.
	_ = append(key, 'z')
	if _, start, _ := ParseTimeWindowedKey(b); start != 9 {
		t.Fatalf("append to parsed key changed the source: start = %d", start)
	}
}

func TestStoreKeyRoundTrip(t *testing.T) {
	keys := []string{"", "a", "alice", "\x00", "a\x00b", "\x00\x00\xff\x01", "\xff"}
	starts := []int64{math.MinInt64, -1000, -1, 0, 1, 1000, math.MaxInt64}
	for _, k := range keys {
		for _, s := range starts {
			b := AppendStoreKey(nil, []byte(k), s)
			key, start, err := ParseStoreKey(b)
			if err != nil || string(key) != k || start != s {
				t.Errorf("ParseStoreKey(AppendStoreKey(%q, %d)) = %q, %d, %v", k, s, key, start, err)
			}
			if !bytes.HasPrefix(b, AppendStoreKeyPrefix(nil, []byte(k))) {
				t.Errorf("store key %x lacks its prefix", b)
			}
			w := Window{Start: s, End: s / 2}
			b = AppendSessionStoreKey(nil, []byte(k), w)
			key, got, err := ParseSessionStoreKey(b)
			if err != nil || string(key) != k || got != w {
				t.Errorf("ParseSessionStoreKey(AppendSessionStoreKey(%q, %v)) = %q, %v, %v", k, w, key, got, err)
			}
		}
	}
}

func TestStoreKeyBytes(t *testing.T) {
	tests := []struct {
		key   string
		start int64
		hex   string
	}{
		{"alice", 1000, "616c696365" + "0001" + "80000000000003e8"},
		{"a\x00b", 0, "6100ff62" + "0001" + "8000000000000000"},
		{"", -1, "0001" + "7fffffffffffffff"},
	}
	for _, tt := range tests {
		if got := hex.EncodeToString(AppendStoreKey(nil, []byte(tt.key), tt.start)); got != tt.hex {
			t.Errorf("AppendStoreKey(%q, %d) = %s, want %s", tt.key, tt.start, got, tt.hex)
		}
	}
	if got := hex.EncodeToString(AppendStoreKeyPrefixEnd(nil, []byte("alice"))); got != "616c696365"+"0002" {
		t.Errorf("AppendStoreKeyPrefixEnd(alice) = %s", got)
	}
}

// TestStoreKeyOrder checks that byte order of store keys is (key, start)
// order, across negative and positive starts and keys that prefix each
// other or hold 0x00 bytes, and that a key's prefix range holds exactly its
// own windows.
func TestStoreKeyOrder(t *testing.T) {
	type entry struct {
		key   string
		start int64
	}
	keys := []string{"", "\x00", "\x00\x00", "\x00\x01", "a", "a\x00", "a\x00\x00", "a\x01", "ab", "b", "\xff"}
	starts := []int64{math.MinInt64, -86_400_000, -1, 0, 1, 999, 1000, math.MaxInt64}
	var entries []entry
	for _, k := range keys {
		for _, s := range starts {
			entries = append(entries, entry{k, s})
		}
	}
	logical := slices.Clone(entries)
	slices.SortFunc(logical, func(a, b entry) int {
		if c := bytes.Compare([]byte(a.key), []byte(b.key)); c != 0 {
			return c
		}
		switch {
		case a.start < b.start:
			return -1
		case a.start > b.start:
			return 1
		}
		return 0
	})
	encoded := slices.Clone(entries)
	slices.SortFunc(encoded, func(a, b entry) int {
		return bytes.Compare(AppendStoreKey(nil, []byte(a.key), a.start), AppendStoreKey(nil, []byte(b.key), b.start))
	})
	if !slices.Equal(logical, encoded) {
		t.Fatalf("byte order differs from (key, start) order:\n got %v\nwant %v", encoded, logical)
	}
	for _, k := range keys {
		lo, hi := AppendStoreKeyPrefix(nil, []byte(k)), AppendStoreKeyPrefixEnd(nil, []byte(k))
		for _, e := range entries {
			b := AppendStoreKey(nil, []byte(e.key), e.start)
			in := bytes.Compare(b, lo) >= 0 && bytes.Compare(b, hi) < 0
			if in != (e.key == k) {
				t.Errorf("key %q range [%x, %x) contains %q/%d = %v", k, lo, hi, e.key, e.start, in)
			}
			if bytes.HasPrefix(b, lo) != (e.key == k) {
				t.Errorf("prefix of %q matches entry of %q", k, e.key)
			}
		}
	}
}

func TestSessionStoreKeyOrder(t *testing.T) {
	// Sessions of one key sort by end, then start.
	ws := []Window{{-5, -2}, {-10, 0}, {0, 0}, {3, 8}, {1, 9}, {5, 9}}
	for i := 1; i < len(ws); i++ {
		a := AppendSessionStoreKey(nil, []byte("k"), ws[i-1])
		b := AppendSessionStoreKey(nil, []byte("k"), ws[i])
		if bytes.Compare(a, b) >= 0 {
			t.Errorf("session %v does not sort before %v", ws[i-1], ws[i])
		}
	}
}

func TestParseStoreKeyErrors(t *testing.T) {
	bad := []string{
		"",
		"alice",                              // no terminator
		"616c" + "00",                        // 0x00 at the end
		"61" + "0003" + "8000000000000000",   // bad escape
		"61" + "0001" + "80000000",           // short suffix
		"61" + "0001" + "800000000000000000", // long suffix
		"6100ff",                             // escape but no terminator
	}
	for _, h := range bad {
		b, err := hex.DecodeString(h)
		if err != nil {
			b = []byte(h)
		}
		if _, _, err := ParseStoreKey(b); !errors.Is(err, ErrBadStoreKey) {
			t.Errorf("ParseStoreKey(%x) err = %v, want ErrBadStoreKey", b, err)
		}
		if _, _, err := ParseSessionStoreKey(b); !errors.Is(err, ErrBadStoreKey) {
			t.Errorf("ParseSessionStoreKey(%x) err = %v, want ErrBadStoreKey", b, err)
		}
	}
}
