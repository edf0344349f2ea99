package torture

import (
	"strings"
	"testing"
	"time"
)

func TestLedger(t *testing.T) {
	l := newLedger()
	a := l.allocate(3) // ids 1..3
	b := l.allocate(1) // id 4
	c := l.allocate(2) // ids 5..6
	if a != 1 || b != 4 || c != 5 {
		t.Fatalf("first ids %d, %d, %d; want 1, 4, 5", a, b, c)
	}
	if n := l.count(pending); n != 6 {
		t.Fatalf("%d pending, want 6", n)
	}
	l.settle(a, 3, acked)
	l.settle(b, 1, unknown)
	l.settle(c, 2, refused)
	want := []outcome{neverSent, acked, acked, acked, unknown, refused, refused}
	got := l.snapshot()
	if len(got) != len(want) {
		t.Fatalf("snapshot %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("snapshot %v, want %v", got, want)
		}
	}
	for o, n := range map[outcome]int64{pending: 0, acked: 3, unknown: 1, refused: 2, neverSent: 0} {
		if l.count(o) != n {
			t.Errorf("%d %s, want %d", l.count(o), o, n)
		}
	}
	// The snapshot is a copy.
	got[1] = refused
	if l.snapshot()[1] != acked {
		t.Fatal("snapshot shares the ledger's memory")
	}
}

func TestRowsAreAFunctionOfTheID(t *testing.T) {
	users, regionsSeen, passed := map[string]bool{}, map[string]bool{}, 0
	for id := int64(1); id <= 10000; id++ {
		if a := amountOf(id); a < 0 || a >= 1000 {
			t.Fatalf("amount %d of id %d out of 0..999", a, id)
		}
		users[userOf(id, 64)] = true
		regionsSeen[regionOf(id)] = true
		if passes(id) {
			passed++
		}
		if windowOf(rowtimeOf(id))%windowMs != 0 || rowtimeOf(id)-windowOf(rowtimeOf(id)) >= windowMs {
			t.Fatalf("window of id %d", id)
		}
	}
	// Every key and region is used, and the filter keeps about 4 in 5.
	if len(users) != 64 || len(regionsSeen) != regions {
		t.Fatalf("%d users and %d regions used, want 64 and %d", len(users), len(regionsSeen), regions)
	}
	if passed < 7500 || passed > 8500 {
		t.Fatalf("%d of 10000 pass the filter, want about 8000", passed)
	}
}

func TestSummarize(t *testing.T) {
	ms := func(ns ...int) []time.Duration {
		var d []time.Duration
		for _, n := range ns {
			d = append(d, time.Duration(n)*time.Millisecond)
		}
		return d
	}
	for _, tc := range []struct {
		in   []time.Duration
		want durationStats
	}{
		{nil, durationStats{}},
		{ms(5), durationStats{5 * time.Millisecond, 5 * time.Millisecond, 5 * time.Millisecond, 5 * time.Millisecond}},
		{ms(9, 1, 5), durationStats{1 * time.Millisecond, 5 * time.Millisecond, 9 * time.Millisecond, 9 * time.Millisecond}},
		{ms(10, 1, 2, 3, 4, 5, 6, 7, 8, 9, 100), durationStats{1 * time.Millisecond, 6 * time.Millisecond, 10 * time.Millisecond, 100 * time.Millisecond}},
	} {
		if got := summarize(tc.in); got != tc.want {
			t.Errorf("summarize(%v) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

func TestOptions(t *testing.T) {
	var o Options
	o.Binary = "runnel"
	o.EnsureDefaults()
	if err := o.Validate(); err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}
	if o.Kills != 10 || o.Writers != 2 || o.EarlyKills != 0.1 || o.Seed == 0 {
		t.Fatalf("defaults %+v", o)
	}
	for _, tc := range []struct {
		name string
		set  func(*Options)
		want string
	}{
		{"no binary", func(o *Options) { o.Binary = "" }, "no runnel binary"},
		{"negative kills", func(o *Options) { o.Kills = -1 }, "Kills"},
		{"early over 1", func(o *Options) { o.EarlyKills = 1.5 }, "EarlyKills"},
		{"rate under the writers", func(o *Options) { o.Rate = 1; o.Writers = 4 }, "Rate 1"},
		{"users", func(o *Options) { o.Users = 5000 }, "Users"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := Options{Binary: "runnel"}
			tc.set(&o)
			o.EnsureDefaults()
			err := o.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate() = %v, want an error about %q", err, tc.want)
			}
		})
	}
	// A negative EarlyKills means none.
	o = Options{Binary: "runnel", EarlyKills: -1}
	o.EnsureDefaults()
	if o.EarlyKills != 0 {
		t.Fatalf("EarlyKills -1 became %g, want 0", o.EarlyKills)
	}
}

func TestItoa(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 590000: "590,000", 1234567: "1,234,567", -1234: "-1,234"} {
		if got := itoa(n); got != want {
			t.Errorf("itoa(%d) = %q, want %q", n, got, want)
		}
	}
}
