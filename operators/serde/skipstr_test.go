package serde

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/runnel/runnel/sql/types"
)

// sameAsRawStr checks that skipStr accepts and refuses a string exactly
// as rawStr does: the same error, and the reader left at the same place.
func sameAsRawStr(t *testing.T, in []byte) {
	t.Helper()
	want := jsonReader{b: in}
	_, wantErr := want.rawStr()
	got := jsonReader{b: in}
	gotErr := got.skipStr()
	if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) || got.i != want.i {
		t.Fatalf("%q: skipStr = %v at %d, rawStr = %v at %d", in, gotErr, got.i, wantErr, want.i)
	}
	// What it notes of the string's escapes is canonicalJSON's verdict.
	if gotErr == nil {
		tok := in[:got.i]
		if got.strChecked != &in[0] {
			t.Fatalf("%q: skipStr noted nothing of it", in)
		}
		if c, want := got.canonical(&stringType, tok), canonicalJSON(&stringType, tok); c != want {
			t.Fatalf("%q: canonical after skipStr = %v, canonicalJSON = %v", in, c, want)
		}
	}
}

var stringType = types.String

func TestSkipStr(t *testing.T) {
	for _, in := range []string{
		`""`, `"abc"`, `"abc`, `"`, `"a\"b"`, `"a\\"`, `"\/\b\f\n\r\t"`, `"\x"`, `"\`,
		`"\u00e9"`, `"\u00E9x"`, `"\u00g9"`, `"\u12"`, `"\ud83d\ude00"`, `"\ud83d"`, `"\ud83d\u0041"`,
		`"\ud83d\uzzzz"`, `"\ude00\ud83d"`,
		"\"caf\xc3\xa9\"", "\"caf\xc3\"", "\"\xc3\\n\xa9\"", "\"\xff\"", "\"\xed\xa0\x80\"",
		"\"a\x01b\"", "\"a\\n\x1f\"", "\"\xc3\x01\"",
		// Nexmark's padding: an escape every forty bytes or so.
		`"sjfkdlsjfkdlsjfkldsjfklsdjfkldsjfklsdjf\"ksdjfklsdjfklsdjfklsdjfklsdjfkldsjfklsd\\fjskdl"`,
		"\"abcdefghijklmnopqrstuvwxyz0123456789\" , 1",
	} {
		sameAsRawStr(t, []byte(in))
	}
	// Random strings over the bytes that matter to either: quotes,
	// escapes, hex digits, control characters and pieces of UTF-8.
	alphabet := []byte("a\"\\u0dDbfnrt/x\x01\x1f\xc3\xa9\xed\xa0\x80\xff\xf0\x9f\x98")
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200_000 {
		in := make([]byte, 1+rng.IntN(24))
		in[0] = '"'
		for i := 1; i < len(in); i++ {
			in[i] = alphabet[rng.IntN(len(alphabet))]
		}
		sameAsRawStr(t, in)
	}
}

// FuzzSkipStr checks skipStr against rawStr on any input.
func FuzzSkipStr(f *testing.F) {
	for _, s := range []string{`"a\u00e9\n"`, "\"\xc3\\n\xa9\"", `"\ud83d\ude00"`, `"abc`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		sameAsRawStr(t, append([]byte{'"'}, b...))
	})
}
