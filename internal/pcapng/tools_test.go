package pcapng

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The real tools read what the codec writes: capinfos finds no error and
// the header fields, tshark reads every packet with its time (to the
// nanosecond), interface, lengths and comment, plain and gzip-compressed.
func TestToolsReadWritten(t *testing.T) {
	s := newSample()
	s.sec.Reserve = 40
	b := s.bytes(t)
	dir := t.TempDir()
	plain := filepath.Join(dir, "sample.pcapng")
	if err := os.WriteFile(plain, b, 0o644); err != nil {
		t.Fatal(err)
	}
	zipped := filepath.Join(dir, "sample.pcapng.gz")
	if err := os.WriteFile(zipped, gz(t, b), 0o644); err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, p := range s.packets {
		want = append(want, fmt.Sprintf("%d.%09d\t%d\t%d\t%d\t%s", p.Timestamp/1e9, p.Timestamp%1e9, p.Interface, p.Length, len(p.Data), p.Comment))
	}
	ran := false
	if _, err := exec.LookPath("tshark"); err == nil {
		ran = true
		for _, path := range []string{plain, zipped} {
			cmd := exec.Command("tshark", "-n", "-r", path, "-T", "fields", "-e", "frame.time_epoch", "-e", "frame.interface_id",
				"-e", "frame.len", "-e", "frame.cap_len", "-e", "frame.comment", "-E", "separator=/t")
			cmd.Env = append(os.Environ(), "HOME="+dir)
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("tshark -r %s: %v", filepath.Base(path), err)
			}
			got := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("tshark -r %s:\n%s\nwant:\n%s", filepath.Base(path), strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		}
	} else {
		t.Log("skipping the tshark check: tshark not found on PATH")
	}
	if _, err := exec.LookPath("capinfos"); err == nil {
		ran = true
		for _, path := range []string{plain, zipped} {
			out, err := exec.Command("capinfos", path).CombinedOutput()
			if err != nil || strings.Contains(string(out), "capinfos:") {
				t.Fatalf("capinfos %s: %v\n%s", filepath.Base(path), err, out)
			}
			for _, w := range []string{
				"Number of packets:   7", "Capture hardware:    x86_64", "Capture oper-sys:    Linux 6.1.0",
				"Capture application: arpbox 1.0.0", "Capture comment:     captured on host gw1",
				"Number of interfaces in file: 2", "Name = eth1", "Description = uplink", "Filter string = arp",
				"Operating system = Linux", "Capture length = 262144", "Time precision = nanoseconds (9)",
				"Name = eth2", "Filter string = arp or (ether proto 0x86dd)", "Capture length = 1500",
				"Number of stat entries = 2",
			} {
				if !strings.Contains(string(out), w) {
					t.Errorf("capinfos %s lacks %q:\n%s", filepath.Base(path), w, out)
				}
			}
		}
	} else {
		t.Log("skipping the capinfos check: capinfos not found on PATH")
	}
	if !ran {
		t.Skip("neither tshark nor capinfos on PATH")
	}
}
