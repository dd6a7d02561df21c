// Package procfs reads what svcnet's benchmarks report about processes and the
// machine from Linux's /proc: a process's resident memory and CPU time, the CPU
// model and the kernel release. It is for the benchmark programs under bench/,
// which share it instead of each keeping a copy; it deliberately reads nothing
// it does not need and runs no command.
package procfs

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// ClockTick is the unit of utime and stime in /proc/<pid>/stat (USER_HZ, 100 on Linux).
const ClockTick = 10 * time.Millisecond

// Memory is a process's resident set now and at its peak, and the resident set's
// anonymous (heap, stacks) and file-backed (mapped files) parts, in bytes.
type Memory struct {
	RSS, HWM, Anon, File int64
}

// ReadMemory reads the Memory of pid from /proc/<pid>/status.
func ReadMemory(pid int) (Memory, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return Memory{}, fmt.Errorf("read process status: %w", err)
	}
	return ParseStatus(string(b))
}

// ParseStatus takes VmRSS, VmHWM, RssAnon and RssFile from a /proc/<pid>/status
// text; VmRSS and VmHWM must be there.
func ParseStatus(status string) (Memory, error) {
	var m Memory
	fields := map[string]*int64{"VmRSS": &m.RSS, "VmHWM": &m.HWM, "RssAnon": &m.Anon, "RssFile": &m.File}
	seen := 0
	for _, line := range strings.Split(status, "\n") {
		name, rest, ok := strings.Cut(line, ":")
		dst, want := fields[name]
		if !ok || !want {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return Memory{}, fmt.Errorf("unexpected %s line %q", name, line)
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return Memory{}, fmt.Errorf("parse %s: %w", name, err)
		}
		*dst = kb << 10
		if name == "VmRSS" || name == "VmHWM" {
			seen++
		}
	}
	if seen != 2 {
		return Memory{}, errors.New("VmRSS or VmHWM missing from process status")
	}
	return m, nil
}

// ReadCPU returns the user plus system CPU time of pid.
func ReadCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("read process stat: %w", err)
	}
	return ParseStat(string(b))
}

// ParseStat returns utime+stime of a /proc/<pid>/stat line.
func ParseStat(stat string) (time.Duration, error) {
	// The command name may hold spaces and parentheses; fields resume after the last ')'.
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("malformed process stat")
	}
	f := strings.Fields(stat[i+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("process stat has %d fields after the name, want at least 13", len(f))
	}
	var ticks int64
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parse cpu ticks: %w", err)
		}
		ticks += n
	}
	return time.Duration(ticks) * ClockTick, nil
}

// CPUModel is the model name of the machine's first CPU.
func CPUModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

// Kernel is the running kernel's release.
func Kernel() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}

// LoadAverage is the machine's 1, 5 and 15 minute load averages, which tell
// whether other work shared it with a run ("unknown" when unreadable).
func LoadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
