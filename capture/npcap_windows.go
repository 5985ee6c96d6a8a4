package capture

// A binding of Npcap's wpcap.dll, loaded at run time without cgo. Each
// symbol is looked up on first use; a missing DLL or symbol is one error
// sentence (ErrNoNpcap), never a panic. The gopacket fork's pcap package is
// not used: it resolves its symbols in init and panics when one is missing
// (Wine's wpcap.dll lacks pcap_setdirection).
//
// The C structures are walked by hand with the layouts of 64-bit Windows
// (LLP64: long is 32 bits, pointers 64):
//
//	pcap_if_t   {next, name, description, addresses *; flags uint32}
//	pcap_addr_t {next, addr, netmask, broadaddr, dstaddr *sockaddr}
//	pcap_pkthdr {tv_sec, tv_usec int32; caplen, len uint32}
//	bpf_program {bf_len uint32; (pad); bf_insns *bpf_insn}
//	bpf_insn    {code uint16; jt, jf uint8; k uint32} (= bpf.RawInstruction)
//	pcap_stat   {ps_recv, ps_drop, ps_ifdrop uint32; more on Windows}

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/windows"

	"github.com/arpbox/arpbox/internal/wine"
)

// errNoNpcapDevice: Npcap does not list the interface the configuration
// names (not yet, perhaps: an adapter being enabled).
var errNoNpcapDevice = errors.New("no Npcap device")

const npcapURL = "https://npcap.com/#download"

const (
	pcapErrbufSize   = 256
	pcapErrorBreak   = -2 // PCAP_ERROR_BREAK
	dltEN10MB        = 1
	npcapReadTimeout = 100 * time.Millisecond // frames wait at most this long in the driver
	afInet           = 2
	afInet6          = 23 // Windows' AF_INET6
)

// npcapLib holds wpcap.dll's entry points.
type npcapLib struct {
	findalldevs, freealldevs, create, setSnaplen, setPromisc, setTimeout,
	setBufferSize, activate, compile, freecode, setfilter, nextEx, stats,
	geterr, breakloop, setnonblock, close, libVersion, datalink uintptr

	// setImmediate is optional: 0 when wpcap.dll lacks it, and always 0
	// under Wine, whose wpcap stubs of such extras abort the process.
	// pcap_setmintocopy and pcap_getevent are never used for that reason.
	setImmediate uintptr

	// sendPacket (pcap_sendpacket) is optional too: only OpenARPProbe
	// needs it, so a capture does not fail without it.
	sendPacket uintptr
}

// loadNpcap loads wpcap.dll once per process; a failure is kept too (a
// service started before Npcap was installed needs a restart).
var loadNpcap = sync.OnceValues(loadNpcapLib)

func loadNpcapLib() (*npcapLib, error) {
	h, err := loadWpcap()
	if err != nil {
		return nil, fmt.Errorf("%w: wpcap.dll cannot be loaded (%v); install Npcap from %s", ErrNoNpcap, err, npcapURL)
	}
	l := &npcapLib{}
	for _, s := range []struct {
		name string
		p    *uintptr
	}{
		{"pcap_findalldevs", &l.findalldevs}, {"pcap_freealldevs", &l.freealldevs},
		{"pcap_create", &l.create}, {"pcap_set_snaplen", &l.setSnaplen},
		{"pcap_set_promisc", &l.setPromisc}, {"pcap_set_timeout", &l.setTimeout},
		{"pcap_set_buffer_size", &l.setBufferSize}, {"pcap_activate", &l.activate},
		{"pcap_compile", &l.compile}, {"pcap_freecode", &l.freecode},
		{"pcap_setfilter", &l.setfilter}, {"pcap_next_ex", &l.nextEx},
		{"pcap_stats", &l.stats}, {"pcap_geterr", &l.geterr},
		{"pcap_breakloop", &l.breakloop}, {"pcap_setnonblock", &l.setnonblock},
		{"pcap_close", &l.close}, {"pcap_lib_version", &l.libVersion},
		{"pcap_datalink", &l.datalink},
	} {
		a, err := windows.GetProcAddress(h, s.name)
		if err != nil {
			return nil, fmt.Errorf("%w: wpcap.dll has no %s (an old WinPcap?); install Npcap from %s", ErrNoNpcap, s.name, npcapURL)
		}
		*s.p = a
	}
	l.sendPacket, _ = windows.GetProcAddress(h, "pcap_sendpacket")
	if _, underWine := wine.Version(); !underWine {
		l.setImmediate, _ = windows.GetProcAddress(h, "pcap_set_immediate_mode")
	}
	return l, nil
}

// loadWpcap loads Npcap's wpcap.dll from System32\Npcap (with that
// directory on the process's DLL search path, as Npcap's guide says, for
// Packet.dll),
// else a wpcap.dll in System32 (Npcap's WinPcap-compatible mode, or Wine's
// builtin one).
func loadWpcap() (windows.Handle, error) {
	if sys, err := windows.GetSystemDirectory(); err == nil {
		dir := sys + `\Npcap`
		if _, err := os.Stat(dir + `\wpcap.dll`); err == nil {
			if err := windows.SetDllDirectory(dir); err == nil {
				if h, err := windows.LoadLibraryEx(dir+`\wpcap.dll`, 0, windows.LOAD_WITH_ALTERED_SEARCH_PATH); err == nil {
					return h, nil
				}
			}
		}
	}
	d := windows.NewLazySystemDLL("wpcap.dll")
	if err := d.Load(); err != nil {
		return 0, err
	}
	return windows.Handle(d.Handle()), nil
}

// call invokes a wpcap entry point.
func call(fn uintptr, args ...uintptr) uintptr {
	r, _, _ := syscall.SyscallN(fn, args...)
	return r
}

// cptr turns an address returned by wpcap.dll (memory Go does not manage)
// into a pointer.
func cptr(a uintptr) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&a)) }

// cstring copies a NUL-terminated C string; "" for a NULL pointer.
func cstring(a uintptr) string {
	if a == 0 {
		return ""
	}
	return windows.BytePtrToString((*byte)(cptr(a)))
}

// npcapVersion returns pcap_lib_version's text, e.g. "Npcap version 1.79,
// based on libpcap version 1.10.4".
func npcapVersion() (string, error) {
	l, err := loadNpcap()
	if err != nil {
		return "", err
	}
	return cstring(call(l.libVersion)), nil
}

// npcapDevice is one entry of pcap_findalldevs.
type npcapDevice struct {
	Name        string // \Device\NPF_{GUID}
	Description string
	Addrs       []netip.Addr
}

// npcapDevices lists the devices Npcap can capture on.
func npcapDevices() ([]npcapDevice, error) {
	l, err := loadNpcap()
	if err != nil {
		return nil, err
	}
	var errbuf [pcapErrbufSize]byte
	var all uintptr
	if int32(call(l.findalldevs, uintptr(unsafe.Pointer(&all)), uintptr(unsafe.Pointer(&errbuf[0])))) != 0 {
		return nil, fmt.Errorf("npcap: list devices: %s", cbuf(errbuf[:]))
	}
	defer call(l.freealldevs, all)
	var devs []npcapDevice
	for p, n := all, 0; p != 0 && n < 10000; n++ {
		ifc := (*[5]uintptr)(cptr(p)) // next, name, description, addresses, flags
		d := npcapDevice{Name: cstring(ifc[1]), Description: cstring(ifc[2])}
		for a, m := ifc[3], 0; a != 0 && m < 1000; m++ {
			pa := (*[5]uintptr)(cptr(a)) // next, addr, netmask, broadaddr, dstaddr
			if ip, ok := sockaddrIP(pa[1]); ok {
				d.Addrs = append(d.Addrs, ip)
			}
			a = pa[0]
		}
		devs = append(devs, d)
		p = ifc[0]
	}
	return devs, nil
}

// sockaddrIP reads the address of a sockaddr_in or sockaddr_in6.
func sockaddrIP(a uintptr) (netip.Addr, bool) {
	if a == 0 {
		return netip.Addr{}, false
	}
	switch *(*uint16)(cptr(a)) {
	case afInet: // family, port, addr[4]
		return netip.AddrFrom4(*(*[4]byte)(unsafe.Add(cptr(a), 4))), true
	case afInet6: // family, port, flowinfo, addr[16], scope id
		return netip.AddrFrom16(*(*[16]byte)(unsafe.Add(cptr(a), 8))), true
	}
	return netip.Addr{}, false
}

// cbuf returns the NUL-terminated text in an error buffer.
func cbuf(b []byte) string {
	if i := strings.IndexByte(string(b), 0); i >= 0 {
		b = b[:i]
	}
	return strings.TrimSpace(string(b))
}

// resolveNpcapDevice maps what the configuration names — a device name
// (\Device\NPF_{GUID}), a friendly name ("Ethernet 2"), a device
// description, or an IPv4 address — to an Npcap device name.
func resolveNpcapDevice(name string) (string, error) {
	devs, err := npcapDevices()
	if err != nil {
		return "", err
	}
	var friendly []adapterName
	if !strings.HasPrefix(name, `\Device\`) {
		friendly, _ = adapterNames() // an error leaves the other ways
	}
	return pickNpcapDevice(name, devs, friendly)
}

// adapterName is an adapter's friendly name, its GUID ("{…}") and its
// interface index.
type adapterName struct {
	Friendly, GUID string
	Index          int
}

// npcapIfIndex returns the interface index of an Npcap device
// (\Device\NPF_{GUID}), 0 if unknown.
func npcapIfIndex(device string) int {
	names, err := adapterNames()
	if err != nil {
		return 0
	}
	for _, a := range names {
		if strings.HasSuffix(strings.ToUpper(device), `_`+strings.ToUpper(a.GUID)) {
			return a.Index
		}
	}
	return 0
}

// adapterNames lists the adapters' friendly names with GetAdaptersAddresses.
func adapterNames() ([]adapterName, error) {
	size := uint32(15 << 10)
	for range 3 {
		buf := make([]byte, size)
		first := (*windows.IpAdapterAddresses)(unsafe.Pointer(&buf[0]))
		err := windows.GetAdaptersAddresses(windows.AF_UNSPEC, windows.GAA_FLAG_SKIP_ANYCAST|windows.GAA_FLAG_SKIP_MULTICAST|windows.GAA_FLAG_SKIP_DNS_SERVER, 0, first, &size)
		if errors.Is(err, windows.ERROR_BUFFER_OVERFLOW) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("GetAdaptersAddresses: %w", err)
		}
		var out []adapterName
		for a := first; a != nil; a = a.Next {
			out = append(out, adapterName{Friendly: windows.UTF16PtrToString(a.FriendlyName), GUID: windows.BytePtrToString(a.AdapterName), Index: int(a.IfIndex)})
		}
		return out, nil
	}
	return nil, errors.New("GetAdaptersAddresses: the adapter list keeps growing")
}

// pickNpcapDevice is resolveNpcapDevice's choice, in this order: the exact
// device name; a friendly name (case-insensitive) whose GUID Npcap lists;
// a device description; an IPv4 address one device holds.
func pickNpcapDevice(name string, devs []npcapDevice, adapters []adapterName) (string, error) {
	for _, d := range devs {
		if d.Name == name {
			return d.Name, nil
		}
	}
	for _, a := range adapters {
		if !strings.EqualFold(a.Friendly, name) {
			continue
		}
		for _, d := range devs {
			if strings.HasSuffix(strings.ToUpper(d.Name), `_`+strings.ToUpper(a.GUID)) {
				return d.Name, nil
			}
		}
		return "", fmt.Errorf("interface %q (%s): Npcap does not list it (is the Npcap driver bound to it?): %w", name, a.GUID, errNoNpcapDevice)
	}
	for _, d := range devs {
		if d.Description != "" && strings.EqualFold(d.Description, name) {
			return d.Name, nil
		}
	}
	if ip, err := netip.ParseAddr(name); err == nil && ip.Is4() {
		for _, d := range devs {
			for _, a := range d.Addrs {
				if a == ip {
					return d.Name, nil
				}
			}
		}
		return "", fmt.Errorf("interface %s: %w has this address", name, errNoNpcapDevice)
	}
	known := make([]string, 0, len(devs))
	for _, d := range devs {
		known = append(known, fmt.Sprintf("%s (%s)", d.Name, d.Description))
	}
	return "", fmt.Errorf("interface %q: %w, friendly name, description or address matches; Npcap lists %s", name, errNoNpcapDevice, strings.Join(known, ", "))
}

// npcapHandle is one activated Npcap capture. next, setNonblock, the
// filter setters and close belong to one goroutine (the owner); interrupt
// and stats may be called from any goroutine until close.
type npcapHandle struct {
	lib    *npcapLib
	p      uintptr // pcap_t*
	device string
	mu     sync.Mutex // orders close against interrupt and stats
	closed bool
}

// openNpcap opens and activates a capture on cfg.Iface (any name
// resolveNpcapDevice accepts) with cfg's snaplen, promiscuity, buffer size
// and filter (its classic BPF program, installed with pcap_setfilter).
func openNpcap(cfg LiveConfig) (*npcapHandle, error) {
	cfg = cfg.withDefaults()
	l, err := loadNpcap()
	if err != nil {
		return nil, err
	}
	dev, err := resolveNpcapDevice(cfg.Iface)
	if err != nil {
		return nil, err
	}
	cdev, err := windows.BytePtrFromString(dev)
	if err != nil {
		return nil, fmt.Errorf("interface %q: %w", dev, err)
	}
	var errbuf [pcapErrbufSize]byte
	p := call(l.create, uintptr(unsafe.Pointer(cdev)), uintptr(unsafe.Pointer(&errbuf[0])))
	if p == 0 {
		return nil, fmt.Errorf("npcap: open %s: %s", dev, cbuf(errbuf[:]))
	}
	h := &npcapHandle{lib: l, p: p, device: dev}
	fail := func(what string, rc uintptr) (*npcapHandle, error) {
		err := fmt.Errorf("npcap: %s on %s: %s (%d)", what, dev, h.geterr(), int32(rc))
		h.close()
		return nil, err
	}
	promisc := uintptr(0)
	if cfg.Promiscuous {
		promisc = 1
	}
	for _, s := range []struct {
		what string
		fn   uintptr
		arg  uintptr
	}{
		{"set snaplen", l.setSnaplen, uintptr(cfg.SnapLen)},
		{"set promiscuous mode", l.setPromisc, promisc},
		{"set read timeout", l.setTimeout, uintptr(npcapReadTimeout / time.Millisecond)},
		{"set buffer size", l.setBufferSize, uintptr(cfg.BufferBytes)},
	} {
		if rc := call(s.fn, p, s.arg); int32(rc) != 0 {
			return fail(s.what, rc)
		}
	}
	if l.setImmediate != 0 {
		if rc := call(l.setImmediate, p, 1); int32(rc) != 0 {
			return fail("set immediate mode", rc)
		}
	}
	if rc := int32(call(l.activate, p)); rc < 0 {
		return fail("activate", uintptr(rc))
	}
	if dlt := int32(call(l.datalink, p)); dlt != dltEN10MB {
		return fail(fmt.Sprintf("link type %d is not Ethernet", dlt), uintptr(dlt))
	}
	if err := h.setProgram(cfg.Filter.Program); err != nil {
		h.close()
		return nil, fmt.Errorf("npcap: filter %s on %s: %w", cfg.Filter, dev, err)
	}
	return h, nil
}

// bpfProgram is struct bpf_program.
type bpfProgram struct {
	len   uint32
	insns *bpf.RawInstruction
}

// setProgram installs a classic BPF program (bpf_insn has
// bpf.RawInstruction's layout); pcap_setfilter copies it.
func (h *npcapHandle) setProgram(prog []bpf.RawInstruction) error {
	if len(prog) == 0 || len(prog) > bpfMaxInsns {
		return fmt.Errorf("program of %d instructions (want 1..%d)", len(prog), bpfMaxInsns)
	}
	bp := bpfProgram{len: uint32(len(prog)), insns: &prog[0]}
	rc := int32(call(h.lib.setfilter, h.p, uintptr(unsafe.Pointer(&bp))))
	runtime.KeepAlive(prog)
	if rc != 0 {
		return fmt.Errorf("pcap_setfilter: %s", h.geterr())
	}
	return nil
}

// setExpr compiles a tcpdump expression with pcap_compile and installs it.
func (h *npcapHandle) setExpr(expr string) error {
	cexpr, err := windows.BytePtrFromString(expr)
	if err != nil {
		return fmt.Errorf("filter %q: %w", expr, err)
	}
	var bp struct {
		len   uint32
		insns uintptr // filled in by wpcap.dll
	}
	const netmaskUnknown = 0xffffffff // PCAP_NETMASK_UNKNOWN
	if int32(call(h.lib.compile, h.p, uintptr(unsafe.Pointer(&bp)), uintptr(unsafe.Pointer(cexpr)), 1, netmaskUnknown)) != 0 {
		return fmt.Errorf("filter %q: pcap_compile: %s", expr, h.geterr())
	}
	defer call(h.lib.freecode, uintptr(unsafe.Pointer(&bp)))
	if int32(call(h.lib.setfilter, h.p, uintptr(unsafe.Pointer(&bp)))) != 0 {
		return fmt.Errorf("filter %q: pcap_setfilter: %s", expr, h.geterr())
	}
	return nil
}

func (h *npcapHandle) geterr() string { return cstring(call(h.lib.geterr, h.p)) }

// errNpcapBreak is what next returns after interrupt.
var errNpcapBreak = errors.New("npcap: capture interrupted")

// next returns the next frame: its timestamp, length on the wire and
// captured bytes. data points into Npcap's buffer and stays valid until
// the next call of next or close. With no frame within the read timeout it
// returns nil data and a nil error (Npcap does; under Wine, libpcap's
// TPACKET_V3 ignores the timeout on an empty ring and next blocks until a
// frame arrives or interrupt). After interrupt it returns errNpcapBreak.
func (h *npcapHandle) next() (ts time.Time, wireLen int, data []byte, err error) {
	var hdr, pkt uintptr
	rc := int32(call(h.lib.nextEx, h.p, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&pkt))))
	switch rc {
	case 1:
	case 0:
		return time.Time{}, 0, nil, nil
	case pcapErrorBreak:
		return time.Time{}, 0, nil, errNpcapBreak
	default:
		return time.Time{}, 0, nil, fmt.Errorf("npcap: read %s: %s", h.device, h.geterr())
	}
	ph := (*[4]uint32)(cptr(hdr)) // tv_sec, tv_usec, caplen, len
	ts = time.Unix(int64(int32(ph[0])), int64(ph[1])*int64(time.Microsecond))
	if ph[2] > 0 && pkt != 0 {
		data = unsafe.Slice((*byte)(cptr(pkt)), ph[2])
	}
	return ts, int(ph[3]), data, nil
}

// interrupt makes a next blocked in another goroutine return errNpcapBreak,
// or the next call of next if none is blocked (pcap_breakloop).
func (h *npcapHandle) interrupt() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.closed {
		call(h.lib.breakloop, h.p)
	}
}

// stats returns the driver's counters: frames received and dropped.
func (h *npcapHandle) stats() (received, dropped uint64, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return 0, 0, fmt.Errorf("npcap: stats %s: handle closed", h.device)
	}
	var st [8]uint32 // ps_recv, ps_drop, ps_ifdrop, then Windows extras
	if int32(call(h.lib.stats, h.p, uintptr(unsafe.Pointer(&st[0])))) != 0 {
		return 0, 0, fmt.Errorf("npcap: stats %s: %s", h.device, h.geterr())
	}
	return uint64(st[0]), uint64(st[1]) + uint64(st[2]), nil
}

// setNonblock switches between blocking and non-blocking reads (then next
// returns nil data at once when no frame is waiting).
func (h *npcapHandle) setNonblock(on bool) error {
	v := uintptr(0)
	if on {
		v = 1
	}
	var errbuf [pcapErrbufSize]byte
	if int32(call(h.lib.setnonblock, h.p, v, uintptr(unsafe.Pointer(&errbuf[0])))) != 0 {
		return fmt.Errorf("npcap: set non-blocking on %s: %s", h.device, cbuf(errbuf[:]))
	}
	return nil
}

// close releases the capture; later calls do nothing.
func (h *npcapHandle) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.closed = true
	call(h.lib.close, h.p)
}
