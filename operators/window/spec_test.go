package window

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestSpecValidate(t *testing.T) {
	tests := []struct {
		name string
		spec Spec
		want string // substring of the error; "" means valid
	}{
		{"tumbling", Spec{Kind: Tumbling, Size: time.Minute}, ""},
		{"tumbling advance equal size", Spec{Kind: Tumbling, Size: time.Minute, Advance: time.Minute}, ""},
		{"tumbling with advance", Spec{Kind: Tumbling, Size: time.Minute, Advance: time.Second}, "TUMBLING windows take no ADVANCE BY"},
		{"tumbling zero size", Spec{Kind: Tumbling}, "SIZE must be at least 1 millisecond"},
		{"tumbling sub-ms size", Spec{Kind: Tumbling, Size: time.Microsecond}, "SIZE must be at least 1 millisecond"},
		{"tumbling negative size", Spec{Kind: Tumbling, Size: -time.Second}, "SIZE must be at least 1 millisecond"},
		{"hopping", Spec{Kind: Hopping, Size: time.Minute, Advance: 10 * time.Second}, ""},
		{"hopping advance equals size", Spec{Kind: Hopping, Size: time.Minute, Advance: time.Minute}, ""},
		{"hopping advance larger", Spec{Kind: Hopping, Size: time.Minute, Advance: 2 * time.Minute}, "ADVANCE BY (2m0s) must not be larger than its SIZE (1m0s)"},
		{"hopping no advance", Spec{Kind: Hopping, Size: time.Minute}, "ADVANCE BY must be at least 1 millisecond"},
		{"session", Spec{Kind: Session, Gap: 5 * time.Minute}, ""},
		{"session zero gap", Spec{Kind: Session}, "inactivity gap must be at least 1 millisecond"},
		{"unknown kind", Spec{Kind: Kind(7), Size: time.Second}, "unknown window kind 7"},
		{"negative grace", Spec{Kind: Tumbling, Size: time.Second, Grace: -time.Second, HasGrace: true}, "GRACE PERIOD must not be negative"},
		{"negative grace ignored without HasGrace", Spec{Kind: Tumbling, Size: time.Second, Grace: -time.Second}, ""},
		{"negative retention", Spec{Kind: Tumbling, Size: time.Second, Retention: -time.Second}, "RETENTION must not be negative"},
		{"retention exactly size+grace", Spec{Kind: Tumbling, Size: time.Hour, Grace: time.Hour, HasGrace: true, Retention: 2 * time.Hour}, ""},
		{"retention below size+grace", Spec{Kind: Tumbling, Size: time.Hour, Grace: time.Hour, HasGrace: true, Retention: 2*time.Hour - time.Millisecond}, "RETENTION (1h59m59.999s) must be no smaller than the window SIZE plus the GRACE PERIOD (1h0m0s + 1h0m0s)"},
		{"retention below default grace", Spec{Kind: Tumbling, Size: time.Hour, Retention: 2 * time.Hour}, "set GRACE PERIOD explicitly"},
		{"retention of a day with default grace", Spec{Kind: Tumbling, Size: time.Hour, Retention: 24 * time.Hour}, ""},
		{"session retention below gap+grace", Spec{Kind: Session, Gap: time.Minute, Grace: time.Minute, HasGrace: true, Retention: time.Minute}, "session inactivity gap plus the GRACE PERIOD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.spec.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want error containing %q", tt.want)
			}
			if !errors.Is(err, ErrInvalidSpec) {
				t.Errorf("error %v does not wrap ErrInvalidSpec", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate() = %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestSpecDefaults(t *testing.T) {
	const day = int64(24 * 60 * 60 * 1000)
	tests := []struct {
		name                 string
		spec                 Spec
		grace, retention     int64
		size, advance, gapMs int64
	}{
		{"tumbling 1h default grace", Spec{Kind: Tumbling, Size: time.Hour}, day - 3_600_000, day, 3_600_000, 3_600_000, 0},
		{"tumbling 2 days default grace is 0", Spec{Kind: Tumbling, Size: 48 * time.Hour}, 0, 2 * day, 2 * day, 2 * day, 0},
		{"tumbling explicit zero grace", Spec{Kind: Tumbling, Size: time.Second, HasGrace: true}, 0, 1000, 1000, 1000, 0},
		{"hopping explicit grace", Spec{Kind: Hopping, Size: 30 * time.Second, Advance: 10 * time.Second, Grace: time.Minute, HasGrace: true}, 60_000, 90_000, 30_000, 10_000, 0},
		{"hopping explicit retention", Spec{Kind: Hopping, Size: 30 * time.Second, Advance: 10 * time.Second, Grace: 30 * time.Minute, HasGrace: true, Retention: 7 * 24 * time.Hour}, 1_800_000, 7 * day, 30_000, 10_000, 0},
		{"session default grace", Spec{Kind: Session, Gap: time.Minute}, day - 60_000, day, 60_000, 0, 60_000},
		{"session explicit grace", Spec{Kind: Session, Gap: time.Minute, Grace: time.Second, HasGrace: true}, 1000, 61_000, 60_000, 0, 60_000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.spec
			if err := s.Validate(); err != nil {
				t.Fatal(err)
			}
			if got := s.GraceMs(); got != tt.grace {
				t.Errorf("GraceMs() = %d, want %d", got, tt.grace)
			}
			if got := s.RetentionMs(); got != tt.retention {
				t.Errorf("RetentionMs() = %d, want %d", got, tt.retention)
			}
			if got := s.SizeMs(); got != tt.size {
				t.Errorf("SizeMs() = %d, want %d", got, tt.size)
			}
			if got := s.AdvanceMs(); got != tt.advance {
				t.Errorf("AdvanceMs() = %d, want %d", got, tt.advance)
			}
			if got := s.GapMs(); got != tt.gapMs {
				t.Errorf("GapMs() = %d, want %d", got, tt.gapMs)
			}
		})
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{Tumbling: "TUMBLING", Hopping: "HOPPING", Session: "SESSION", Kind(9): "Kind(9)"} {
		if got := k.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int(k), got, want)
		}
	}
}
