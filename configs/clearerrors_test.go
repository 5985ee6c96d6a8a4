package configs

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestClearErrors is issue 10's list of configurations that misbehaved
// silently or failed in Go's words: each now fails at its file, line and
// field, with a message that says what to write instead.
func TestClearErrors(t *testing.T) {
	const trig = "triggers:\n  - name: a\n    check: icmp\n    target: 10.0.0.1\n"
	tests := []struct {
		name, yaml, want string
	}{
		{"duplicate interfaces", "capture:\n  interfaces: [eth0, eth1, eth0]\n",
			`bad.yaml:2: capture.interfaces[2]: "eth0" is also capture.interfaces[0]: every frame would be recorded twice`},
		{"interval of nanoseconds", trig + "    interval: 2ns\n",
			"bad.yaml:5: triggers[0].interval: 2ns is below the minimum of 100ms"},
		{"timeout of nanoseconds", trig + "    timeout: 50ms\n",
			"bad.yaml:5: triggers[0].timeout: 50ms is below the minimum of 100ms"},
		// 1ns used to say "timeout: must be positive, got 0s": the default
		// timeout is half the interval, which rounds 1ns down to 0.
		{"1ns blames the interval, not an unset timeout", trig + "    interval: 1ns\n",
			"bad.yaml:5: triggers[0].interval: 1ns is below the minimum of 100ms"},
		{"second document", "ring:\n  dir: /x\n---\nring:\n  dir: /y\n",
			"bad.yaml:3: a second YAML document (after ---): arpbox reads one document per file; remove the --- and what follows, or merge it into the first"},
		{"trailing document marker", "ring:\n  dir: /x\n---\n",
			"bad.yaml:3: a second YAML document (after ---): arpbox reads one document per file; remove the --- and what follows, or merge it into the first"},
		{"triggers as a mapping", "triggers:\n  name: a\n  check: icmp\n",
			"bad.yaml:2: triggers: want a list, got a mapping"},
		{"interfaces as a string", "capture:\n  interfaces: eth0\n",
			`bad.yaml:2: capture.interfaces: want a list, got "eth0"`},
		{"number as a word", "capture:\n  snaplen: lots\n",
			`bad.yaml:2: capture.snaplen: want a whole number, got "lots"`},
		{"section as a list", "ring: [a, b]\n",
			"bad.yaml:1: ring: want a mapping of keys to values, got a list"},
		{"field of the second trigger", trig + "  - name: b\n    check: icmp\n    target: 10.0.0.2\n    fail_after: [3]\n",
			"bad.yaml:8: triggers[1].fail_after: want a whole number, got a list"},
		{"quoted one-line bpf program", "capture:\n  filter: \"bpf: 4\n    40 0 0 12\n    21 0 1 2054\n    6 0 0 262144\n    6 0 0 0\"\n",
			`bad.yaml:2: capture.filter: filter bpf: first line "4 40 0 0 12 21 0 1 2054 6 0 0 262144 6 0 0 0": want the instruction count alone (tcpdump -ddd output); the program arrived on one line (a quoted YAML string folds its line breaks into spaces): write it as a block, ` + "`filter: |`" + ` then ` + "`bpf:`" + ` and tcpdump -ddd's lines indented below it, or separate the instructions with commas`},
		{"relative ring dir", "ring:\n  dir: ring\n",
			`bad.yaml:2: ring.dir: "ring" is relative: write an absolute path (beside this file that is ` + abs(t, "ring") + `), as for data_dir`},
		{"relative snapshots dir", "snapshots:\n  dir: ./bundles\n",
			`bad.yaml:2: snapshots.dir: "./bundles" is relative: write an absolute path (beside this file that is ` + abs(t, "bundles") + `), as for data_dir`},
		{"relative trigger file", "control:\n  trigger_file: trigger\n",
			`bad.yaml:2: control.trigger_file: "trigger" is relative: write an absolute path (beside this file that is ` + abs(t, "trigger") + `), as for data_dir`},
	}
	if runtime.GOOS != "windows" {
		tests = append(tests, []struct{ name, yaml, want string }{
			{"relative control socket", "control:\n  socket: arpbox.sock\n",
				`bad.yaml:2: control.socket: "arpbox.sock" is relative: write an absolute path (beside this file that is ` + abs(t, "arpbox.sock") + `), as for data_dir`},
			{"control mode for everyone", "control:\n  mode: 0666\n",
				"bad.yaml:2: control.mode: mode 0666 gives access beyond the owner and control.group (want 0600, 0660 or between)"},
			{"control mode not octal", "control:\n  mode: rw-rw----\n",
				`bad.yaml:2: control.mode: "rw-rw----": want an octal mode like 0660`},
		}...)
	} else {
		tests = append(tests, struct{ name, yaml, want string }{"control group on Windows", "control:\n  group: arpbox\n",
			"bad.yaml:2: control.group: control.group and control.mode are for the unix socket; on Windows the control file's DACL admits LocalSystem, Administrators and arpbox's account"})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("bad.yaml", []byte(tt.yaml))
			if err == nil {
				t.Fatal("no error")
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("error:\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

func abs(t *testing.T, name string) string {
	p, err := filepath.Abs(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestMinFreeOverTheDisk: Load (not Parse, which reads nothing but the
// text) refuses a min_free larger than the file system the ring would
// live on, found from the nearest existing parent of ring.dir.
func TestMinFreeOverTheDisk(t *testing.T) {
	dir := t.TempDir()
	ringDir := filepath.Join(dir, "not", "yet", "ring")
	file := filepath.Join(dir, "arpbox.yaml")
	if err := os.WriteFile(file, []byte("ring:\n  dir: "+ringDir+"\n  min_free: 1000TiB\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(file)
	if runtime.GOOS != "linux" && runtime.GOOS != "windows" {
		t.Skip("skipping: no file system size on this platform")
	}
	want := file + ":3: ring.min_free: 1000 TiB is more than the whole file system of " + ringDir
	if err == nil || !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), "at "+dir+")") {
		t.Fatalf("Load = %v\nwant %s… (…, at %s)", err, want, dir)
	}
	t.Log(err)
	if _, err := Parse(file, []byte("ring:\n  dir: "+ringDir+"\n  min_free: 1000TiB\n")); err != nil {
		t.Errorf("Parse looked at the host: %v", err)
	}
	// A size that fits is fine.
	if err := os.WriteFile(file, []byte("ring:\n  dir: "+ringDir+"\n  min_free: 1MiB\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(file); err != nil {
		t.Errorf("min_free 1MiB: %v", err)
	}
}
