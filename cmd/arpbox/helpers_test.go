package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// binPath is the arpbox binary the live tests run, built once by TestMain.
var binPath string

func TestMain(m *testing.M) {
	if runtime.GOOS != "linux" {
		os.Exit(m.Run()) // only the _linux live tests run the binary
	}
	dir, err := os.MkdirTemp("", "arpbox-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "arpbox")
	out, err := exec.Command("go", "build", "-race", "-o", binPath, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building arpbox for the live tests: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// capinfosCount runs capinfos on f and returns its packet count, failing
// the test when capinfos complains about anything.
func capinfosCount(t *testing.T, f string) int {
	t.Helper()
	out, err := exec.Command("capinfos", "-c", "-M", "-T", f).CombinedOutput()
	if err != nil {
		t.Fatalf("capinfos %s: %v\n%s", f, err, out)
	}
	// -T: tab separated "File name\tNumber of packets" header, then values.
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	fields := strings.Split(lines[len(lines)-1], "\t")
	n, err := strconv.Atoi(strings.TrimSpace(fields[len(fields)-1]))
	if err != nil {
		t.Fatalf("capinfos %s: cannot read packet count from %q", f, out)
	}
	return n
}

// frame is one packet as tshark decodes it.
type frame struct {
	No       int
	Time     float64 // epoch seconds
	Protos   string  // frame.protocols, e.g. "eth:ethertype:arp"
	EthSrc   string
	Op       int // ARP opcode, 0 when not ARP
	SPA, TPA string
	Comment  string
}

func (f frame) isARP() bool { return strings.HasSuffix(f.Protos, ":arp") }

// readFrames decodes f with tshark, once, failing the test when tshark
// complains about the file.
func readFrames(t *testing.T, f string) []frame {
	t.Helper()
	cmd := exec.Command("tshark", "-r", f, "-T", "fields", "-E", "separator=/t",
		"-e", "frame.number", "-e", "frame.time_epoch", "-e", "frame.protocols", "-e", "eth.src",
		"-e", "arp.opcode", "-e", "arp.src.proto_ipv4", "-e", "arp.dst.proto_ipv4", "-e", "frame.comment")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark -r %s: %v\n%s", f, err, stderr.String())
	}
	if s := strings.TrimSpace(stderr.String()); s != "" && !strings.Contains(s, "Running as user") {
		t.Fatalf("tshark complained about %s: %s", f, s)
	}
	var frames []frame
	for _, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		if line == "" {
			continue
		}
		c := strings.Split(line, "\t")
		for len(c) < 8 {
			c = append(c, "")
		}
		var fr frame
		fr.No, _ = strconv.Atoi(c[0])
		fr.Time, _ = strconv.ParseFloat(c[1], 64)
		fr.Protos, fr.EthSrc = c[2], c[3]
		fr.Op, _ = strconv.Atoi(c[4])
		fr.SPA, fr.TPA, fr.Comment = c[5], c[6], c[7]
		frames = append(frames, fr)
	}
	return frames
}

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "arpbox.yaml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func ringFiles(t *testing.T, dir string) (sealed, parts []string) {
	t.Helper()
	sealed, _ = filepath.Glob(filepath.Join(dir, "arp-*.pcapng"))
	parts, _ = filepath.Glob(filepath.Join(dir, "arp-*.pcapng.part"))
	return sealed, parts
}

func hasTool(name string) bool {
	_, err := exec.LookPath(name)
	return err == nil
}

// bundles lists published bundle directories, oldest first.
func bundles(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	sort.Strings(out)
	return out
}

func waitBundles(t *testing.T, dir string, n int, d time.Duration) []string {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if b := bundles(t, dir); len(b) >= n {
			// A bundle dir is published by rename when complete; the zip
			// follows right after.
			if _, err := os.Stat(b[n-1] + ".zip"); err == nil {
				return b
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("want %d bundles in %s within %s, have %v", n, dir, d, bundles(t, dir))
	return nil
}
