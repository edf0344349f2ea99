package window

import "testing"

func TestStreamTime(t *testing.T) {
	var st StreamTime
	if st.Seen() || st.Now() != NoStreamTime {
		t.Fatalf("zero StreamTime: Seen=%v Now=%d, want false, NoStreamTime", st.Seen(), st.Now())
	}
	steps := []struct{ observe, want int64 }{
		{-5, -5}, // a first negative timestamp still counts
		{10, 10},
		{3, 10}, // out of order: never goes back
		{10, 10},
		{11, 11},
		{0, 11},
	}
	for _, s := range steps {
		if got := st.Observe(s.observe); got != s.want {
			t.Fatalf("Observe(%d) = %d, want %d", s.observe, got, s.want)
		}
		if got := st.Now(); got != s.want {
			t.Fatalf("Now() after Observe(%d) = %d, want %d", s.observe, got, s.want)
		}
	}
	if !st.Seen() {
		t.Fatal("Seen() = false after observations")
	}
}
