package main

import (
	"strings"
	"testing"
)

func TestGCSettings(t *testing.T) {
	const cache = 256 << 20
	env := func(vars map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
	}
	for _, tc := range []struct {
		name    string
		vars    map[string]string
		percent int
		limit   int64
		desc    []string
	}{
		{"unset", nil, gcPercent, gcLimitBase + 2*cache, []string{"GOGC=400", "soft memory limit 1536 MiB"}},
		{"empty counts as unset", map[string]string{"GOGC": "", "GOMEMLIMIT": ""}, gcPercent, gcLimitBase + 2*cache, []string{"GOGC=400"}},
		{"GOGC set", map[string]string{"GOGC": "50"}, 0, gcLimitBase + 2*cache, []string{"GOGC=50 (from the environment)", "soft memory limit"}},
		{"GOMEMLIMIT set", map[string]string{"GOMEMLIMIT": "4GiB"}, gcPercent, 0, []string{"GOGC=400", "GOMEMLIMIT=4GiB (from the environment)"}},
		{"both set", map[string]string{"GOGC": "off", "GOMEMLIMIT": "2GiB"}, 0, 0, []string{"GOGC=off (from the environment)", "GOMEMLIMIT=2GiB"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			percent, limit, desc := gcSettings(cache, env(tc.vars))
			if percent != tc.percent || limit != tc.limit {
				t.Errorf("gcSettings = %d, %d; want %d, %d", percent, limit, tc.percent, tc.limit)
			}
			for _, want := range tc.desc {
				if !strings.Contains(desc, want) {
					t.Errorf("description %q lacks %q", desc, want)
				}
			}
		})
	}
}
