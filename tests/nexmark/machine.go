package nexmark

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/runnel/runnel/internal/cputime"
)

// Machine describes where a benchmark ran, for its report.
type Machine struct {
	// CPUs is runtime.NumCPU; Procs is GOMAXPROCS, the cores the process
	// may use, which "per core" figures divide by.
	CPUs, Procs int
	// Model is the CPU's model name, when /proc/cpuinfo tells it.
	Model string
	// OS, Arch and Go are runtime.GOOS, GOARCH and Version.
	OS, Arch, Go string
	// LoadAvg is the 1-minute load average when the run began (Linux).
	LoadAvg float64
}

// ThisMachine describes the machine this process runs on.
func ThisMachine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), Procs: runtime.GOMAXPROCS(0), OS: runtime.GOOS, Arch: runtime.GOARCH, Go: runtime.Version()}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.Model = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 0 {
			m.LoadAvg, _ = strconv.ParseFloat(f[0], 64)
		}
	}
	return m
}

func (m Machine) String() string {
	model := ""
	if m.Model != "" {
		model = " (" + m.Model + ")"
	}
	return fmt.Sprintf("%d cores%s, GOMAXPROCS %d, %s/%s, %s", m.CPUs, model, m.Procs, m.OS, m.Arch, m.Go)
}

// cpuClock reads how much CPU time the whole machine and this process
// have used, to tell how much other processes took during a run: on a
// shared machine, a wall-clock rate alone cannot say whether it was slow
// or starved.
type cpuClock struct {
	at      time.Time
	busy    time.Duration // all CPUs, all processes (/proc/stat); 0 if unknown
	process time.Duration // this process (getrusage)
	faults  int64         // this process's minor page faults (getrusage)
}

// userHz is the unit of /proc/stat: USER_HZ, 100 on every Linux build
// that matters (it is fixed by the kernel ABI, not by CONFIG_HZ).
const userHz = 100

func readCPUClock() cpuClock {
	c := cpuClock{at: time.Now(), process: cputime.Process(), faults: cputime.MinorFaults()}
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return c
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return c
	}
	var busy int64
	for i, s := range f[1:] {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return c
		}
		// Fields: user nice system idle iowait irq softirq steal guest
		// guest_nice. Idle and iowait are not busy; guest time is already
		// counted in user.
		if i == 3 || i == 4 || i >= 8 {
			continue
		}
		busy += v
	}
	c.busy = time.Duration(busy) * time.Second / userHz
	return c
}

// Usage is how CPUs were used between two clock readings.
type Usage struct {
	Wall time.Duration
	// Process is the CPU time this process used.
	Process time.Duration
	// Faults is the minor page faults this process took: fresh memory
	// touched for the first time, tens of microseconds each on this
	// kind of machine, charged to whichever code touched it.
	Faults int64
	// Others is the CPU time every other process used; negative when
	// unknown (no /proc/stat).
	Others time.Duration
}

func usageSince(a cpuClock) Usage {
	b := readCPUClock()
	u := Usage{Wall: b.at.Sub(a.at), Process: b.process - a.process, Faults: b.faults - a.faults, Others: -1}
	if a.busy > 0 && b.busy > 0 {
		u.Others = max(b.busy-a.busy-u.Process, 0)
	}
	return u
}

// OtherCores is how many cores other processes kept busy on average, or
// -1 when unknown.
func (u Usage) OtherCores() float64 {
	if u.Others < 0 || u.Wall <= 0 {
		return -1
	}
	return u.Others.Seconds() / u.Wall.Seconds()
}
