package ring

import (
	"runtime"
	"strings"
)

// Host is what a capture file says about the machine it was made on, as
// dumpcap says it: the section header's shb_hardware (the CPU model) and
// shb_os (the kernel and its version), which is also each interface's
// if_os.
type Host struct {
	Hardware string // e.g. "Intel(R) Xeon(R) CPU E5-2680 v4 @ 2.40GHz"
	OS       string // e.g. "Linux 6.1.0-18-amd64", "Windows 10.0 (build 19045)"
}

// HostInfo describes this machine. What the OS does not tell falls back to
// runtime.GOARCH and runtime.GOOS, so neither field is ever empty.
func HostInfo() Host {
	h := hostInfo()
	h.Hardware = cleanHostString(h.Hardware)
	h.OS = cleanHostString(h.OS)
	if h.Hardware == "" {
		h.Hardware = runtime.GOARCH
	}
	if h.OS == "" {
		h.OS = runtime.GOOS
	}
	return h
}

// cleanHostString collapses runs of white space (CPU model strings are
// padded) and drops control characters, and keeps at most 256 bytes.
func cleanHostString(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 256 {
		s = s[:256]
	}
	return s
}

// hostInfo is what the Writer's section headers say about the host: the
// Options, or else HostInfo (read once). On the packet clock (replay) the
// frames were not captured here: only what the Options say (the file's).
func (w *Writer) hostInfo() Host {
	if w.packetClock() {
		return Host{Hardware: w.opts.Hardware, OS: w.opts.OS}
	}
	if w.host.OS == "" {
		h := HostInfo()
		if w.opts.Hardware != "" {
			h.Hardware = w.opts.Hardware
		}
		if w.opts.OS != "" {
			h.OS = w.opts.OS
		}
		w.host = h
	}
	return w.host
}
