package serde

import (
	"math/rand/v2"
	"testing"

	"github.com/runnel/runnel/sql/types"
)

// TestQuickKey checks quickKey against the slow path it stands in for
// in row: the member name read out (rawStr) and compared with the
// column's name exactly, then ignoring case. Where quickKey matches, the
// slow path must match the same way and end at the same place; where it
// does not, the slow path must not match the name exactly, nor fold to
// it when the name is plain ASCII.
func TestQuickKey(t *testing.T) {
	names := []string{"DATETIME", "auction", "Price", "a", "ÉTÉ", `we"ird`, "X_1", "KELVIN", "emailAddress", "SEVENCH", "Eight_ch", "at@[x]"}
	cols := make([]types.Column, len(names))
	for i, n := range names {
		cols[i] = col(n, types.Bigint)
	}
	c, err := newJSONCodec(cols, true)
	if err != nil {
		t.Fatal(err)
	}
	check1 := func(member int, in string) {
		t.Helper()
		b := []byte(in)
		r := jsonReader{b: b}
		idx, m := c.quickKey(&r, member)
		slow := jsonReader{b: b}
		key, err := slow.rawStr()
		name := names[member]
		var want uint8 = matchNone
		if err == nil {
			switch {
			case string(key) == name:
				want = matchExact
			case equalFold(key, name):
				want = matchFold
			}
		}
		if idx >= 0 {
			if idx != member || m != want || r.i != slow.i {
				t.Fatalf("%q against %q: quickKey %d, %d at %d; slow path %d at %d (%v)", in, name, idx, m, r.i, want, slow.i, err)
			}
			return
		}
		if r.i != 0 {
			t.Fatalf("%q against %q: no match, but moved to %d", in, name, r.i)
		}
		if want == matchExact && c.quick[member].q != "" {
			t.Fatalf("%q against %q: quickKey missed an exact match", in, name)
		}
		if want == matchFold && c.quick[member].q != "" && isASCII(key) {
			t.Fatalf("%q against %q: quickKey missed a match ignoring case", in, name)
		}
	}
	// Each input alone, where quickKey compares bytes, and followed by
	// more of a record, where it compares words.
	check := func(member int, in string) {
		t.Helper()
		check1(member, in)
		check1(member, in+`:1234567890,"next":2}`)
	}
	for member, n := range names {
		for _, in := range []string{
			`"` + n + `"`, `"` + n + `":1`, `"` + n, `"` + n + `x"`, `"x` + n + `"`,
			`"dateTime"`, `"DateTime"`, `"datetime"`, `"DATETIMe"`, `"date_ime"`, `"datet1me"`,
			`"auction"`, `"AUCTION"`, `"price"`, `"PRICE"`, `"A"`, `"@"`, `"a\u0041"`, `"x_1"`, `"X_1"`, `"x?1"`,
			`"kelvin"`, "\"\u212aELVIN\"", `"été"`, `"we\"ird"`, `""`, `"`,
			`"emailaddress"`, `"EMAILADDRESS"`, `"emailAddresS"`, `"emailAddres"`, `"emailAddresss"`, `"emailAddre@s"`, `"emailAddress`,
			"\"X\x7f1\"", "\"X_\x11\"", "\"a\x02", "\"Price\x02:1", "\"at`{x}\"", "\"AT@[X]\"", "\"at@[x]\x02",
			`"sevench"`, `"SEVENCh"`, `"SEVENC"`, `"SEVENCHx"`, `"eight_CH"`, `"Eight_c"`, `"Eight-ch"`, `"Eight_ch\"`,
		} {
			check(member, in)
		}
	}
	// Random spellings over letters of both cases and their neighbours
	// 0x20 apart ('@' and '`', '[' and '{', '_' and DEL, '1' and 0x11,
	// '"' and 0x02), which fold by bits but are not letters.
	alphabet := []byte("aAdDeEtTiImMsSvVnNcChHgG@`[{]}_\x7f?1\x11\x02xX\\\"")
	rng := rand.New(rand.NewPCG(5, 6))
	for range 100_000 {
		in := make([]byte, 2+rng.IntN(13))
		in[0], in[len(in)-1] = '"', '"'
		for i := 1; i < len(in)-1; i++ {
			in[i] = alphabet[rng.IntN(len(alphabet))]
		}
		check(rng.IntN(len(names)), string(in))
	}
}
