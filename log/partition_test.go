package log

import "testing"

func TestMurmur2(t *testing.T) {
	// Vectors from Kafka's UtilsTest.testMurmur2 and from Akka's test that
	// checks against Kafka's Java implementation; together they cover every
	// tail length (0..3 bytes past a multiple of four).
	tests := []struct {
		in   string
		want int32
	}{
		{"21", -973932308},
		{"foobar", -790332482},
		{"a-little-bit-long-string", -985981536},
		{"a-little-bit-longer-string", -1486304829},
		{"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971},
		{"abc", 479470107},
		{"1", -1993445489},
		{"12", 126087238},
		{"123", -267702483},
		{"1234", -1614185708},
		{"12345", -1188365604},
	}
	for _, tc := range tests {
		if got := Murmur2([]byte(tc.in)); got != tc.want {
			t.Errorf("Murmur2(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestPartitionFor(t *testing.T) {
	tests := []struct {
		key  string
		n    int32
		want int32
	}{
		// -973932308 & 0x7fffffff = 1173551340.
		{"21", 1, 0},
		{"21", 3, 1173551340 % 3},
		{"21", 7, 1173551340 % 7},
		// 479470107 is positive already.
		{"abc", 10, 479470107 % 10},
		{"abc", 4, 479470107 % 4},
	}
	for _, tc := range tests {
		got := PartitionFor([]byte(tc.key), tc.n)
		if got != tc.want {
			t.Errorf("PartitionFor(%q, %d) = %d, want %d", tc.key, tc.n, got, tc.want)
		}
		if got < 0 || got >= tc.n {
			t.Errorf("PartitionFor(%q, %d) = %d out of range", tc.key, tc.n, got)
		}
	}
	// Empty key: a valid key (not nil), hashed like any other.
	if got := PartitionFor([]byte{}, 5); got < 0 || got >= 5 {
		t.Errorf("PartitionFor(empty, 5) = %d out of range", got)
	}
}
