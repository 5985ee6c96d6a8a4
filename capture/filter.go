package capture

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/net/bpf"
)

// EtherTypes and ICMPv6 types the built-in filters look at.
const (
	etherTypeARP   = 0x0806
	etherTypeIPv6  = 0x86dd
	etherType8021Q = 0x8100
	etherTypeQinQ  = 0x88a8
	etherType9100  = 0x9100 // old, pre-802.1ad QinQ TPID; tcpdump's "vlan" accepts it too
	protoICMPv6    = 58
	icmp6NS        = 135
	icmp6NA        = 136

	// maxSnap is what the built-in programs return for a match: "keep up to
	// this many bytes", as tcpdump's default snaplen. Live lowers it to the
	// configured snaplen when it attaches the program.
	maxSnap = 262144
	// maxTags is how many 802.1Q/802.1ad tags in the frame bytes the
	// built-in filters look through.
	maxTags = 2
	// bpfMaxInsns is the kernel's limit on classic BPF program length.
	bpfMaxInsns = 4096
)

// Filter selects the frames a source delivers: a classic BPF program run by
// the kernel, plus the same decision in user space (Match).
//
// The built-in filters look through up to two VLAN tags in the frame bytes.
// On Linux the kernel strips the outer tag of a received frame before the
// filter runs (the tag travels as metadata, and Live writes it back into
// the frame as tcpdump does), so a tagged ARP frame shows EtherType 0x0806 at
// offset 12 to the kernel filter, and one inner tag of a QinQ frame stays in
// the bytes. Outgoing frames on a device without VLAN offload keep their
// tags in the bytes. Both views are matched without the SKF_AD_VLAN_TAG_PRESENT
// ancillary load libpcap uses (see arpProgram's comment), so user space and
// bpf.VM can run the very same logic.
type Filter struct {
	// Name is "arp", "ndp", "arp+ndp" or "bpf".
	Name string
	// Text says what the filter matches, as a tcpdump expression for the
	// built-ins or the raw program text for "bpf"; for pcapng if_filter.
	Text string
	// Program is the classic BPF program attached to the socket. Accepting
	// instructions return maxSnap (262144) for the built-ins.
	Program []bpf.RawInstruction

	kind filterKind
	vm   *bpf.VM // user-space copy of a raw program; nil if it cannot run there
}

type filterKind uint8

const (
	kindAll filterKind = iota // zero Filter: no filter
	kindARP
	kindNDP
	kindARPNDP
	kindRaw
)

// Equal reports whether f and g are the same filter. go-cmp uses it, so
// configs holding a Filter can be compared in tests.
func (f Filter) Equal(g Filter) bool {
	if f.Name != g.Name || f.Text != g.Text || len(f.Program) != len(g.Program) {
		return false
	}
	for i := range f.Program {
		if f.Program[i] != g.Program[i] {
			return false
		}
	}
	return true
}

// String returns the filter's name.
func (f Filter) String() string {
	if f.Name == "" {
		return "none"
	}
	return f.Name
}

// ParseFilter parses a filter spec: "arp" (also the empty spec), "ndp"
// (IPv6 neighbor solicitation and advertisement), "arp+ndp", or
// "bpf: <tcpdump -ddd output>" — the instruction count, then one
// "code jt jf k" line per instruction; lines may also be separated by commas
// or semicolons, so the program fits on one YAML line.
func ParseFilter(spec string) (Filter, error) {
	s := strings.TrimSpace(spec)
	switch strings.ToLower(s) {
	case "", "arp":
		return builtin(kindARP), nil
	case "ndp":
		return builtin(kindNDP), nil
	case "arp+ndp", "ndp+arp":
		return builtin(kindARPNDP), nil
	}
	if rest, ok := cutPrefixFold(s, "bpf:"); ok {
		return parseRaw(rest)
	}
	return Filter{}, fmt.Errorf("filter %q: unknown; want arp, ndp, arp+ndp or \"bpf: <tcpdump -ddd output>\"", spec)
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

func builtin(k filterKind) Filter {
	arp := k == kindARP || k == kindARPNDP
	ndp := k == kindNDP || k == kindARPNDP
	prog, err := bpf.Assemble(etherProgram(arp, ndp))
	if err != nil {
		// The built-in programs are fixed; a test assembles each one.
		panic("capture: built-in filter does not assemble: " + err.Error())
	}
	f := Filter{kind: k, Program: prog}
	switch k {
	case kindARP:
		f.Name, f.Text = "arp", textARP
	case kindNDP:
		f.Name, f.Text = "ndp", textNDP
	case kindARPNDP:
		f.Name, f.Text = "arp+ndp", textARPNDP
	}
	return f
}

// The tcpdump expressions the built-in programs agree with (a test compiles
// them with tcpdump and runs both programs over the same frames). They look
// through one tag, as tcpdump's "vlan" does; the programs look through two.
// libpcap's "vlan" shifts the offsets of every term after it, so the
// untagged terms come first.
const (
	exprNDP    = "(ip6 and ip6[6] == 58 and (ip6[40] == 135 or ip6[40] == 136))"
	textARP    = "arp or (vlan and arp)"
	textNDP    = exprNDP + " or (vlan and " + exprNDP + ")"
	textARPNDP = "arp or " + exprNDP + " or (vlan and (arp or " + exprNDP + "))"
)

// etherProgram builds the classic BPF program of a built-in filter:
//
//	level k = 0, 1, 2 (tags in the bytes before the EtherType):
//	    ldh [12+4k]
//	    jeq #0x806  -> accept                      (arp)
//	    jeq #0x86dd -> ndp_k                       (ndp)
//	    jeq #0x8100 / #0x88a8 / #0x9100 -> level k+1 (k < 2)
//	    -> reject
//	ndp_k: ldb [14+4k+6] == 58 (next header ICMPv6, no extension headers,
//	    as RFC 4861 messages are sent) and ldb [14+4k+40] in {135, 136}
//
// It differs from what tcpdump compiles for a live Linux interface
// ("arp or (vlan and arp)"): libpcap adds "ldb [vlanp]; jeq #1" and then
// loads the EtherType from [16] although the kernel already removed that
// tag from the bytes, which can accept a non-ARP frame whose bytes 16-17
// happen to be 0x0806 and adds nothing: a frame with its tag stripped shows
// 0x0806 at [12] and is accepted at level 0. Without ancillary loads the
// program also runs unchanged in bpf.VM and matches what Match does.
func etherProgram(arp, ndp bool) []bpf.Instruction {
	var a labelAsm
	for k := 0; k <= maxTags; k++ {
		a.label(fmt.Sprint("level", k))
		a.emit(bpf.LoadAbsolute{Off: uint32(12 + 4*k), Size: 2})
		if arp {
			a.jeq(etherTypeARP, "accept", "")
		}
		if ndp {
			a.jeq(etherTypeIPv6, fmt.Sprint("ndp", k), "")
		}
		if k < maxTags {
			next := fmt.Sprint("level", k+1)
			a.jeq(etherType8021Q, next, "")
			a.jeq(etherTypeQinQ, next, "")
			a.jeq(etherType9100, next, "reject")
		} else {
			a.jump("reject")
		}
	}
	if ndp {
		for k := 0; k <= maxTags; k++ {
			l3 := uint32(14 + 4*k)
			a.label(fmt.Sprint("ndp", k))
			a.emit(bpf.LoadAbsolute{Off: l3 + 6, Size: 1})
			a.jeq(protoICMPv6, "", "reject")
			a.emit(bpf.LoadAbsolute{Off: l3 + 40, Size: 1})
			a.jeq(icmp6NS, "accept", "")
			a.jeq(icmp6NA, "accept", "reject")
		}
	}
	a.label("accept")
	a.emit(bpf.RetConstant{Val: maxSnap})
	a.label("reject")
	a.emit(bpf.RetConstant{Val: 0})
	return a.resolve()
}

// labelAsm is a tiny assembler with forward labels for the built-in programs.
type labelAsm struct {
	ins    []bpf.Instruction
	labels map[string]int
	fixups []fixup
}

type fixup struct {
	at         int
	jt, jf, ja string
}

func (a *labelAsm) emit(in bpf.Instruction) { a.ins = append(a.ins, in) }

func (a *labelAsm) label(name string) {
	if a.labels == nil {
		a.labels = map[string]int{}
	}
	a.labels[name] = len(a.ins)
}

// jeq compares A with val and jumps to label t or f ("" = next instruction).
func (a *labelAsm) jeq(val uint32, t, f string) {
	a.fixups = append(a.fixups, fixup{at: len(a.ins), jt: t, jf: f})
	a.emit(bpf.JumpIf{Cond: bpf.JumpEqual, Val: val})
}

func (a *labelAsm) jump(to string) {
	a.fixups = append(a.fixups, fixup{at: len(a.ins), ja: to})
	a.emit(bpf.Jump{})
}

func (a *labelAsm) resolve() []bpf.Instruction {
	skip := func(from int, label string) uint32 {
		if label == "" {
			return 0
		}
		to, ok := a.labels[label]
		if !ok || to <= from {
			panic("capture: bad label " + label)
		}
		return uint32(to - from - 1)
	}
	for _, f := range a.fixups {
		switch in := a.ins[f.at].(type) {
		case bpf.JumpIf:
			in.SkipTrue = uint8(skip(f.at, f.jt))
			in.SkipFalse = uint8(skip(f.at, f.jf))
			a.ins[f.at] = in
		case bpf.Jump:
			in.Skip = skip(f.at, f.ja)
			a.ins[f.at] = in
		}
	}
	return a.ins
}

// parseRaw parses the text after "bpf:".
func parseRaw(text string) (Filter, error) {
	lines := strings.FieldsFunc(text, func(r rune) bool { return r == '\n' || r == '\r' || r == ',' || r == ';' })
	var fields [][]string
	for _, l := range lines {
		if f := strings.Fields(l); len(f) > 0 {
			fields = append(fields, f)
		}
	}
	if len(fields) == 0 {
		return Filter{}, errors.New("filter bpf: empty program; want tcpdump -ddd output")
	}
	if len(fields[0]) != 1 {
		return Filter{}, fmt.Errorf("filter bpf: first line %q: want the instruction count alone (tcpdump -ddd output)", strings.Join(fields[0], " "))
	}
	n, err := strconv.Atoi(fields[0][0])
	if err != nil || n < 1 || n > bpfMaxInsns {
		return Filter{}, fmt.Errorf("filter bpf: instruction count %q: want a number from 1 to %d", fields[0][0], bpfMaxInsns)
	}
	if got := len(fields) - 1; got != n {
		return Filter{}, fmt.Errorf("filter bpf: count says %d instructions, found %d", n, got)
	}
	prog := make([]bpf.RawInstruction, n)
	for i, f := range fields[1:] {
		if len(f) != 4 {
			return Filter{}, fmt.Errorf("filter bpf: instruction %d %q: want 4 numbers \"code jt jf k\"", i, strings.Join(f, " "))
		}
		var v [4]uint64
		for j, bits := range []int{16, 8, 8, 32} {
			v[j], err = strconv.ParseUint(f[j], 0, bits)
			if err != nil {
				return Filter{}, fmt.Errorf("filter bpf: instruction %d %q: field %d: %w", i, strings.Join(f, " "), j+1, err)
			}
		}
		prog[i] = bpf.RawInstruction{Op: uint16(v[0]), Jt: uint8(v[1]), Jf: uint8(v[2]), K: uint32(v[3])}
	}
	if err := checkRaw(prog); err != nil {
		return Filter{}, fmt.Errorf("filter bpf: %w", err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "bpf: %d", n)
	for _, in := range prog {
		fmt.Fprintf(&b, ",%d %d %d %d", in.Op, in.Jt, in.Jf, in.K)
	}
	return Filter{Name: "bpf", Text: b.String(), Program: prog, kind: kindRaw, vm: userVM(prog)}, nil
}

// checkRaw does the checks the kernel's sk_chk_filter does that matter for
// a clear error message: known opcodes, jumps inside the program, a return
// at the end. The kernel checks again when Live attaches the program.
func checkRaw(prog []bpf.RawInstruction) error {
	for i, raw := range prog {
		if _, unknown := raw.Disassemble().(bpf.RawInstruction); unknown {
			return fmt.Errorf("instruction %d {%#x %d %d %#x}: unknown opcode", i, raw.Op, raw.Jt, raw.Jf, raw.K)
		}
		left := len(prog) - i - 1
		const classJmp, opJA = 0x05, 0x00
		if raw.Op&0x07 == classJmp {
			if raw.Op&0xf0 == opJA {
				if uint64(raw.K) >= uint64(left) {
					return fmt.Errorf("instruction %d: jump %d goes past the end", i, raw.K)
				}
			} else if int(raw.Jt) >= left || int(raw.Jf) >= left {
				return fmt.Errorf("instruction %d: jump %d/%d goes past the end", i, raw.Jt, raw.Jf)
			}
		}
	}
	switch prog[len(prog)-1].Disassemble().(type) {
	case bpf.RetA, bpf.RetConstant:
	default:
		return fmt.Errorf("instruction %d: the last instruction must return", len(prog)-1)
	}
	return nil
}

// userVM builds the user-space copy of a raw program, for frames as Match
// sees them: VLAN tags are in the bytes, so "tag in metadata" loads read 0
// (as in a program tcpdump compiles for a file) and the protocol load reads
// the EtherType at [12]. It returns nil if the program uses another
// ancillary load bpf.VM cannot run; Match then accepts every frame.
func userVM(prog []bpf.RawInstruction) *bpf.VM {
	ins := make([]bpf.Instruction, len(prog))
	for i, raw := range prog {
		in := raw.Disassemble()
		if ext, ok := in.(bpf.LoadExtension); ok {
			switch ext.Num {
			case bpf.ExtLen:
			case bpf.ExtVLANTagPresent, bpf.ExtVLANTag, bpf.ExtVLANProto:
				in = bpf.LoadConstant{Dst: bpf.RegA, Val: 0}
			case bpf.ExtProto:
				in = bpf.LoadAbsolute{Off: 12, Size: 2}
			default:
				return nil
			}
		}
		ins[i] = in
	}
	vm, err := bpf.NewVM(ins)
	if err != nil {
		return nil
	}
	return vm
}

// Match reports whether frame (an Ethernet frame, VLAN tags in the bytes)
// passes f. It does not allocate. The zero Filter matches everything, and
// so does a raw program that uses an ancillary load other than the VLAN,
// protocol and length ones, which cannot be judged outside the kernel.
func (f Filter) Match(frame []byte) bool {
	switch f.kind {
	case kindARP:
		return matchEther(frame, true, false)
	case kindNDP:
		return matchEther(frame, false, true)
	case kindARPNDP:
		return matchEther(frame, true, true)
	case kindRaw:
		if f.vm == nil {
			return true
		}
		n, err := f.vm.Run(frame)
		return err == nil && n > 0
	}
	return true
}

// matchEther is etherProgram in Go.
func matchEther(b []byte, arp, ndp bool) bool {
	off := 12
	for k := 0; k <= maxTags; k++ {
		if len(b) < off+2 {
			return false
		}
		switch uint16(b[off])<<8 | uint16(b[off+1]) {
		case etherTypeARP:
			return arp
		case etherTypeIPv6:
			l3 := off + 2
			return ndp && len(b) > l3+40 && b[l3+6] == protoICMPv6 && (b[l3+40] == icmp6NS || b[l3+40] == icmp6NA)
		case etherType8021Q, etherTypeQinQ, etherType9100:
			off += 4
		default:
			return false
		}
	}
	return false
}

// withSnapLen returns f's program with every "accept n bytes" return
// lowered to at most snap bytes, as libpcap does for the snaplen.
func withSnapLen(prog []bpf.RawInstruction, snap int) []bpf.RawInstruction {
	out := make([]bpf.RawInstruction, len(prog))
	copy(out, prog)
	for i, in := range out {
		if r, ok := in.Disassemble().(bpf.RetConstant); ok && r.Val > uint32(snap) {
			out[i].K = uint32(snap)
		}
	}
	return out
}
