package kafka

import (
	"testing"

	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/log/logtest"
)

// TestConformance runs the shared log suite on one kfake cluster, with a
// fresh Log per subtest.
func TestConformance(t *testing.T) {
	c := newCluster(t)
	logtest.Run(t, func(t *testing.T) log.Log {
		return openLog(t, c, Options{})
	})
}
