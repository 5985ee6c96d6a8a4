package ring

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestCPUModel(t *testing.T) {
	tests := []struct{ name, cpuinfo, want string }{
		{"x86", "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) CPU E5-2680 v4 @ 2.40GHz\nprocessor\t: 1\nmodel name\t: other\n", "Intel(R) Xeon(R) CPU E5-2680 v4 @ 2.40GHz"},
		{"raspberry pi", "processor\t: 0\nBogoMIPS\t: 108.00\nHardware\t: BCM2835\nModel\t\t: Raspberry Pi 4 Model B Rev 1.4\n", "Raspberry Pi 4 Model B Rev 1.4"},
		{"power", "processor\t: 0\ncpu\t\t: POWER9 (architected), altivec supported\n", "POWER9 (architected), altivec supported"},
		{"nothing known", "processor\t: 0\nBogoMIPS\t: 50.00\n", ""},
		{"not cpuinfo", "\x00\x01garbage", ""},
	}
	for _, tt := range tests {
		if got := cpuModel(strings.NewReader(tt.cpuinfo)); got != tt.want {
			t.Errorf("%s: cpuModel = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// A segment's section header names the CPU model and the kernel as uname
// does, and an interface without an if_os of its own gets the kernel: as
// capinfos reads them.
func TestSegmentHostInfo(t *testing.T) {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		t.Fatal(err)
	}
	wantOS := "Linux " + unix.ByteSliceToString(u.Release[:])
	h := HostInfo()
	if h.OS != wantOS {
		t.Errorf("HostInfo().OS = %q, want %q", h.OS, wantOS)
	}
	if cpuinfo, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		if want := cleanHostString(cpuModel(bytes.NewReader(cpuinfo))); want != "" && h.Hardware != want {
			t.Errorf("HostInfo().Hardware = %q, want /proc/cpuinfo's %q", h.Hardware, want)
		}
	}

	dir := t.TempDir()
	clk := &fakeClock{t: t0}
	w := NewWriter(Config{Dir: dir}, []Interface{{Name: "eth1", Filter: "arp"}, {Name: "eth2", OS: "Linux 5.10 (given)"}}, Options{Now: clk.Now})
	if err := w.Open(); err != nil {
		t.Fatal(err)
	}
	if err := w.WritePacket(0, t0, 64, testFrame(60)); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Second)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if !haveTool(t, "capinfos") {
		return
	}
	out := string(capinfosOutput(t, segmentFiles(t, dir)[0]))
	for _, want := range []string{
		"Capture hardware:    " + h.Hardware + "\n",
		"Capture oper-sys:    " + h.OS + "\n",
		"Operating system = " + h.OS + "\n",
		"Operating system = Linux 5.10 (given)\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("capinfos lacks %q:\n%s", want, out)
		}
	}
}
