package procfs

import (
	"testing"
	"time"
)

func TestParseStatus(t *testing.T) {
	m, err := ParseStatus("Name:\tsvcnet\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\nRssAnon:\t 768 kB\nRssFile:\t 256 kB\n")
	if err != nil || m != (Memory{RSS: 1 << 20, HWM: 2 << 20, Anon: 768 << 10, File: 256 << 10}) {
		t.Errorf("ParseStatus = %+v, %v", m, err)
	}
	for _, bad := range []string{"VmHWM:\t  2048 kB\n", "VmRSS:\t 12 MB\nVmHWM:\t 1 kB\n", "VmRSS:\t x kB\nVmHWM:\t 1 kB\n"} {
		if _, err := ParseStatus(bad); err == nil {
			t.Errorf("ParseStatus(%q) accepted it", bad)
		}
	}
}

func TestParseStat(t *testing.T) {
	d, err := ParseStat("42 (a (b) c) R 1 42 42 0 -1 0 0 0 0 0 3 4 0 0 20 0 1 0")
	if err != nil || d != 70*time.Millisecond {
		t.Errorf("ParseStat = %v, %v; want 70ms", d, err)
	}
	for _, bad := range []string{"42 no paren", "42 (x) R 1 2", "42 (x) R 1 2 3 4 5 6 7 8 9 10 a b"} {
		if _, err := ParseStat(bad); err == nil {
			t.Errorf("ParseStat(%q) accepted it", bad)
		}
	}
}
