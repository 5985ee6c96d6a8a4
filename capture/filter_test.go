package capture

import (
	"bytes"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/bpf"
)

func mustParse(t testing.TB, spec string) Filter {
	t.Helper()
	f, err := ParseFilter(spec)
	if err != nil {
		t.Fatalf("ParseFilter(%q): %v", spec, err)
	}
	return f
}

// vmOf builds a bpf.VM for a raw program without ancillary loads.
func vmOf(t testing.TB, prog []bpf.RawInstruction) *bpf.VM {
	t.Helper()
	ins, ok := bpf.Disassemble(prog)
	if !ok {
		t.Fatalf("program does not disassemble: %v", prog)
	}
	vm, err := bpf.NewVM(ins)
	if err != nil {
		t.Fatalf("bpf.NewVM: %v", err)
	}
	return vm
}

func runVM(t testing.TB, vm *bpf.VM, frame []byte) bool {
	t.Helper()
	n, err := vm.Run(frame)
	if err != nil {
		t.Fatalf("VM.Run: %v", err)
	}
	return n > 0
}

func TestBuiltinFilters(t *testing.T) {
	for _, spec := range []string{"arp", "ndp", "arp+ndp"} {
		f := mustParse(t, spec)
		vm := vmOf(t, f.Program)
		for _, fr := range testFrames() {
			want := (fr.arp && strings.Contains(spec, "arp")) || (fr.ndp && strings.Contains(spec, "ndp"))
			if got := runVM(t, vm, fr.data); got != want {
				t.Errorf("%s program on %q = %v, want %v", spec, fr.name, got, want)
			}
			if got := f.Match(fr.data); got != want {
				t.Errorf("%s Match(%q) = %v, want %v", spec, fr.name, got, want)
			}
		}
	}
}

// tcpdumpDD compiles expr with tcpdump for Ethernet (no interface, so
// without ancillary loads) and parses its -dd output.
func tcpdumpDD(t *testing.T, expr string) []bpf.RawInstruction {
	t.Helper()
	tcpdump, err := exec.LookPath("tcpdump")
	if err != nil {
		t.Skip("skipping: tcpdump not found on PATH (CI installs it via .ci/run)")
	}
	out, err := exec.Command(tcpdump, "-s", "262144", "-y", "EN10MB", "-dd", expr).Output()
	if err != nil {
		t.Fatalf("tcpdump -dd %q: %v", expr, err)
	}
	var prog []bpf.RawInstruction
	for _, line := range strings.Split(string(out), "\n") {
		line = strings.Trim(strings.TrimSpace(line), "{},")
		if line == "" {
			continue
		}
		var v [4]uint64
		f := strings.Split(line, ",")
		if len(f) != 4 {
			t.Fatalf("tcpdump -dd line %q", line)
		}
		for i := range f {
			if v[i], err = strconv.ParseUint(strings.TrimSpace(f[i]), 0, 32); err != nil {
				t.Fatalf("tcpdump -dd line %q: %v", line, err)
			}
		}
		prog = append(prog, bpf.RawInstruction{Op: uint16(v[0]), Jt: uint8(v[1]), Jf: uint8(v[2]), K: uint32(v[3])})
	}
	return prog
}

// The built-in programs are not tcpdump's instruction for instruction (see
// etherProgram), but they decide like tcpdump's program for Filter.Text on
// every frame with at most one tag in the bytes. With two tags tcpdump's
// "vlan" looks at the wrong offset; ours accepts QinQ ARP and NDP.
func TestBuiltinFiltersAgreeWithTcpdump(t *testing.T) {
	for _, spec := range []string{"arp", "ndp", "arp+ndp"} {
		f := mustParse(t, spec)
		ours, theirs := vmOf(t, f.Program), vmOf(t, tcpdumpDD(t, f.Text))
		for _, fr := range testFrames() {
			o, th := runVM(t, ours, fr.data), runVM(t, theirs, fr.data)
			if o != th && !fr.tcpdumpDiffer {
				t.Errorf("%s on %q: ours %v, tcpdump %q %v", spec, fr.name, o, f.Text, th)
			}
		}
	}
}

// tcpdump -i <veth> -ddd 'arp or (vlan and arp)' on Linux, with the
// SKF_AD_VLAN_TAG_PRESENT load (4294963248 = SKF_AD_OFF + 48).
const tcpdumpLiveARP = `11
40 0 0 12
21 7 0 2054
21 4 0 33024
21 3 0 34984
21 2 0 37120
48 0 0 4294963248
21 0 3 1
40 0 0 16
21 0 1 2054
6 0 0 262144
6 0 0 0`

func TestParseFilter(t *testing.T) {
	arpRaw := []bpf.RawInstruction{{Op: 0x28, K: 12}, {Op: 0x15, Jf: 1, K: 0x806}, {Op: 6, K: 262144}, {Op: 6}}
	tests := []struct {
		spec     string
		wantName string
		wantProg []bpf.RawInstruction // nil: not checked
		wantErr  string
	}{
		{spec: "", wantName: "arp"},
		{spec: " ARP ", wantName: "arp"},
		{spec: "ndp", wantName: "ndp"},
		{spec: "arp+ndp", wantName: "arp+ndp"},
		{spec: "bpf: 4\n40 0 0 12\n21 0 1 2054\n6 0 0 262144\n6 0 0 0\n", wantName: "bpf", wantProg: arpRaw},
		{spec: "BPF:4,40 0 0 12,21 0 1 2054,6 0 0 262144,6 0 0 0", wantName: "bpf", wantProg: arpRaw},
		{spec: "bpf: " + tcpdumpLiveARP, wantName: "bpf"},
		{spec: "ip", wantErr: `filter "ip": unknown`},
		{spec: "bpf:", wantErr: "empty program"},
		{spec: "bpf: 3\n40 0 0 12\n6 0 0 0", wantErr: "count says 3 instructions, found 2"},
		{spec: "bpf: 0", wantErr: "want a number from 1 to 4096"},
		{spec: "bpf: 5000", wantErr: "want a number from 1 to 4096"},
		{spec: "bpf: x", wantErr: "want a number"},
		{spec: "bpf: 1 2", wantErr: "want the instruction count alone"},
		{spec: "bpf: 1\n6 0 0", wantErr: `want 4 numbers`},
		{spec: "bpf: 1\n6 0 256 0", wantErr: "field 3"},
		{spec: "bpf: 1\n65536 0 0 0", wantErr: "field 1"},
		{spec: "bpf: 1\n40 0 0 12", wantErr: "must return"},
		{spec: "bpf: 2\n21 1 0 2054\n6 0 0 0", wantErr: "goes past the end"},
		{spec: "bpf: 2\n5 0 0 1\n6 0 0 0", wantErr: "goes past the end"},
		{spec: "bpf: 2\n255 0 0 0\n6 0 0 0", wantErr: "unknown opcode"},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			f, err := ParseFilter(tt.spec)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseFilter error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseFilter: %v", err)
			}
			if f.Name != tt.wantName || f.Text == "" || len(f.Program) == 0 {
				t.Errorf("ParseFilter = %+v, want Name %q and a Text and Program", f, tt.wantName)
			}
			if tt.wantProg != nil {
				if diff := cmp.Diff(tt.wantProg, f.Program); diff != "" {
					t.Errorf("Program (-want +got):\n%s", diff)
				}
			}
		})
	}
}

// A raw program that tcpdump compiled for a live interface uses the VLAN
// ancillary load; Match runs it with "tag in metadata" = 0, as frames in
// user space carry their tags in the bytes.
func TestRawFilterMatch(t *testing.T) {
	live := mustParse(t, "bpf: "+tcpdumpLiveARP)
	plain := mustParse(t, "bpf: 4,40 0 0 12,21 0 1 2054,6 0 0 262144,6 0 0 0")
	// SKF_AD_RANDOM (56) cannot be judged in user space: Match accepts all.
	random := mustParse(t, "bpf: 2,32 0 0 4294963256,22 0 0 0")
	for _, fr := range testFrames() {
		wantLive := fr.arp && !fr.tcpdumpDiffer
		if got := live.Match(fr.data); got != wantLive {
			t.Errorf("live tcpdump program Match(%q) = %v, want %v", fr.name, got, wantLive)
		}
		wantPlain := len(fr.data) >= 14 && bytes.Equal(fr.data[12:14], []byte{8, 6})
		if got := plain.Match(fr.data); got != wantPlain {
			t.Errorf("plain arp program Match(%q) = %v, want %v", fr.name, got, wantPlain)
		}
		if !random.Match(fr.data) {
			t.Errorf("random-load program Match(%q) = false, want true", fr.name)
		}
	}
}

func TestFilterZeroMatchesAll(t *testing.T) {
	var f Filter
	if !f.Match(nil) || !f.Match(ether(0x0800, nil)) {
		t.Error("zero Filter rejects a frame; want it to match everything")
	}
	if f.String() != "none" {
		t.Errorf("zero Filter String() = %q, want none", f.String())
	}
}

func TestFilterEqualForCmp(t *testing.T) {
	a, b := mustParse(t, "arp"), mustParse(t, "arp")
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("two arp filters differ:\n%s", diff)
	}
	if cmp.Equal(a, mustParse(t, "ndp")) {
		t.Error("arp and ndp filters compare equal")
	}
}

func TestMatchDoesNotAllocate(t *testing.T) {
	frames := testFrames()
	for _, spec := range []string{"arp", "ndp", "arp+ndp", "bpf: " + tcpdumpLiveARP} {
		f := mustParse(t, spec)
		allocs := testing.AllocsPerRun(100, func() {
			for _, fr := range frames {
				f.Match(fr.data)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: Match allocates %v times per run, want 0", f.Name, allocs)
		}
	}
}

func TestWithSnapLen(t *testing.T) {
	f := mustParse(t, "arp")
	prog := withSnapLen(f.Program, 100)
	vm := vmOf(t, prog)
	if n, _ := vm.Run(arpFrame()); n != 100 {
		t.Errorf("arp program with snaplen 100 returns %d on ARP, want 100", n)
	}
	if n, _ := vm.Run(ether(0x0800, nil)); n != 0 {
		t.Errorf("arp program with snaplen 100 returns %d on IPv4, want 0", n)
	}
	if f.Program[len(f.Program)-2].K != maxSnap {
		t.Error("withSnapLen changed the filter's own program")
	}
}

func BenchmarkMatch(b *testing.B) {
	arp := arpFrame(tagQ)
	for _, spec := range []string{"arp", "bpf: " + tcpdumpLiveARP} {
		f := mustParse(b, spec)
		b.Run(f.Name, func(b *testing.B) {
			for b.Loop() {
				f.Match(arp)
			}
		})
	}
}

func FuzzParseFilter(f *testing.F) {
	f.Add("arp", []byte{})
	f.Add("bpf: "+tcpdumpLiveARP, arpFrame(tagQ))
	f.Add("bpf: 2,32 0 0 4294963256,22 0 0 0", arpFrame())
	f.Add("bpf: 3,177 0 0 14,80 0 0 0,22 0 0 0", ether(0x0800, ipv4UDPPayload()))
	f.Fuzz(func(t *testing.T, spec string, frame []byte) {
		flt, err := ParseFilter(spec)
		if err != nil {
			return
		}
		if len(flt.Program) == 0 || flt.Text == "" {
			t.Fatalf("ParseFilter(%q) = %+v without error", spec, flt)
		}
		flt.Match(frame) // must not panic
		if flt.Name == "bpf" {
			again, err := ParseFilter(flt.Text) // Text round-trips
			if err != nil || !again.Equal(flt) {
				t.Fatalf("ParseFilter(Text %q) = %+v, %v; want the same filter", flt.Text, again, err)
			}
		}
		_ = fmt.Sprint(flt)
	})
}
