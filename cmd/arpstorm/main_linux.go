package main

import (
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"runtime"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/arpbox/arpbox/internal/arpwire"
)

func main() {
	// One P on one locked thread: the send loop never hands work to another
	// core, and blocking syscalls never wake the network poller.
	runtime.GOMAXPROCS(1)
	runtime.LockOSThread()
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

type options struct {
	iface       string
	rate        int           // frames per second; 0 = as fast as possible
	count       uint64        // stop after this many frames; 0 = no limit
	duration    time.Duration // stop after this long; 0 = no limit
	batch       int           // frames per sendmmsg call
	srcMAC      net.HardwareAddr
	src         netip.Prefix // sender protocol addresses, cycled
	targets     netip.Prefix // target protocol addresses, cycled
	qdiscBypass bool
}

func run(args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "arpstorm:", err)
		return 2
	}
	s, err := newSender(o)
	if err != nil {
		fmt.Fprintln(stderr, "arpstorm:", err)
		return 1
	}
	defer unix.Close(s.fd)

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, unix.SIGINT, unix.SIGTERM)
	sent, dropped, elapsed, err := s.loop(o, stop)
	secs := elapsed.Seconds()
	rate := 0.0
	if secs > 0 {
		rate = float64(sent) / secs
	}
	fmt.Fprintf(stdout, "sent=%d seconds=%.2f rate=%.0f errors=%d\n", sent, secs, rate, dropped)
	if err != nil {
		fmt.Fprintln(stderr, "arpstorm:", err)
		return 1
	}
	return 0
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("arpstorm", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	var srcMAC, src, targets string
	fs.StringVar(&o.iface, "i", "", "interface to send on (required)")
	fs.IntVar(&o.rate, "rate", 0, "frames per second; 0 = as fast as possible")
	fs.Uint64Var(&o.count, "count", 0, "stop after `N` frames (0 = no limit)")
	fs.DurationVar(&o.duration, "duration", 0, "stop after this long (0 = no limit; SIGINT/SIGTERM also stop)")
	fs.IntVar(&o.batch, "batch", 128, "frames per sendmmsg call (1-1024)")
	fs.StringVar(&srcMAC, "src-mac", "", "source MAC (default: the interface's)")
	fs.StringVar(&src, "src-ip", "10.66.0.1/32", "sender IP or CIDR range to cycle through")
	fs.StringVar(&targets, "target-range", "10.66.0.0/16", "target IP or CIDR range to cycle through")
	fs.BoolVar(&o.qdiscBypass, "qdisc-bypass", false, "set PACKET_QDISC_BYPASS (skip the tx qdisc)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if o.iface == "" {
		return o, errors.New("-i IFACE is required")
	}
	if o.rate < 0 {
		return o, fmt.Errorf("-rate %d: must be >= 0", o.rate)
	}
	if o.batch < 1 || o.batch > 1024 {
		return o, fmt.Errorf("-batch %d: must be 1-1024", o.batch)
	}
	if o.count == 0 && o.duration == 0 {
		return o, errors.New("one of -count or -duration is required")
	}
	if srcMAC != "" {
		mac, err := net.ParseMAC(srcMAC)
		if err != nil || len(mac) != 6 {
			return o, fmt.Errorf("-src-mac %q: not an Ethernet MAC", srcMAC)
		}
		o.srcMAC = mac
	}
	var err error
	if o.src, err = parseRange(src); err != nil {
		return o, fmt.Errorf("-src-ip: %w", err)
	}
	if o.targets, err = parseRange(targets); err != nil {
		return o, fmt.Errorf("-target-range: %w", err)
	}
	return o, nil
}

// parseRange accepts "10.0.0.1" or "10.0.0.0/24" (IPv4 only).
func parseRange(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		a, aerr := netip.ParseAddr(s)
		if aerr != nil {
			return p, fmt.Errorf("%q: not an IPv4 address or CIDR", s)
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	if !p.Addr().Is4() {
		return p, fmt.Errorf("%q: ARP needs IPv4", s)
	}
	return p, nil
}

// nth returns the n-th address of p (modulo its size), skipping the network
// and broadcast addresses of ranges larger than /31.
func nth(p netip.Prefix, n int) netip.Addr {
	bits := 32 - p.Bits()
	base := binary.BigEndian.Uint32(p.Masked().Addr().AsSlice())
	if bits == 0 {
		return p.Addr()
	}
	size := uint64(1) << bits
	off := uint64(n) % size
	if bits > 1 {
		off = 1 + uint64(n)%(size-2)
	}
	var a [4]byte
	binary.BigEndian.PutUint32(a[:], base+uint32(off))
	return netip.AddrFrom4(a)
}

type sender struct {
	fd     int
	frames [][]byte
	iovs   []unix.Iovec
	msgs   []unix.Mmsghdr
}

func newSender(o options) (*sender, error) {
	ifi, err := net.InterfaceByName(o.iface)
	if err != nil {
		return nil, fmt.Errorf("interface %s: %w", o.iface, err)
	}
	mac := o.srcMAC
	if mac == nil {
		mac = ifi.HardwareAddr
	}
	if len(mac) != 6 {
		return nil, fmt.Errorf("interface %s: no Ethernet MAC; pass -src-mac", o.iface)
	}
	// Protocol 0: this socket only sends, the kernel queues nothing to it.
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("interface %s: AF_PACKET socket: %w", o.iface, err)
	}
	sa := &unix.SockaddrLinklayer{Protocol: htons(arpwire.EtherTypeARP), Ifindex: ifi.Index}
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("interface %s: bind: %w", o.iface, err)
	}
	if o.qdiscBypass {
		if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_QDISC_BYPASS, 1); err != nil {
			unix.Close(fd)
			return nil, fmt.Errorf("interface %s: PACKET_QDISC_BYPASS: %w", o.iface, err)
		}
	}
	s := &sender{
		fd:     fd,
		frames: make([][]byte, o.batch),
		iovs:   make([]unix.Iovec, o.batch),
		msgs:   make([]unix.Mmsghdr, o.batch),
	}
	for i := range s.frames {
		// 42 bytes, as Linux sends it: the NIC pads.
		s.frames[i], err = arpwire.AppendRequest(nil, arpwire.MAC(mac), nth(o.src, i), nth(o.targets, i))
		if err != nil {
			unix.Close(fd)
			return nil, fmt.Errorf("interface %s: build who-has: %w", o.iface, err)
		}
		s.iovs[i].Base = &s.frames[i][0]
		s.iovs[i].SetLen(len(s.frames[i]))
		// No msg_name: a bound packet socket sends to its ifindex/protocol.
		s.msgs[i].Hdr.Iov = &s.iovs[i]
		s.msgs[i].Hdr.SetIovlen(1)
	}
	return s, nil
}

// send hands msgs[from:from+n] to the kernel in one sendmmsg call and returns
// how many it took.
func (s *sender) send(from, n int) (int, error) {
	for {
		r, _, errno := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(s.fd),
			uintptr(unsafe.Pointer(&s.msgs[from])), uintptr(n), 0, 0, 0)
		if errno == unix.EINTR {
			continue
		}
		if errno != 0 {
			return 0, errno
		}
		return int(r), nil
	}
}

// loop sends until count, duration or a signal. dropped counts frames the
// kernel refused (ENOBUFS: e.g. the peer's backlog was full); they are not
// in sent.
func (s *sender) loop(o options, stop <-chan os.Signal) (sent, dropped uint64, elapsed time.Duration, err error) {
	batch := len(s.msgs)
	if o.rate > 0 {
		// About a thousand sendmmsg calls per second at most, so slow rates
		// trickle instead of bursting.
		batch = min(batch, max(1, o.rate/1000))
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	start := time.Now()
	next := 0 // index of the next prebuilt frame
	for {
		if o.count > 0 && sent >= o.count {
			break
		}
		now := time.Since(start)
		if o.duration > 0 && now >= o.duration {
			break
		}
		if o.rate > 0 {
			due := time.Duration(sent * uint64(time.Second) / uint64(o.rate))
			if o.duration > 0 {
				due = min(due, o.duration)
			}
			if wait := due - now; wait > 0 {
				timer.Reset(wait)
				select {
				case <-stop:
					return sent, dropped, time.Since(start), nil
				case <-timer.C:
				}
				continue
			}
		}
		select {
		case <-stop:
			return sent, dropped, time.Since(start), nil
		default:
		}
		n := min(batch, len(s.msgs)-next)
		if o.count > 0 {
			n = int(min(uint64(n), o.count-sent))
		}
		k, err := s.send(next, n)
		switch {
		case errors.Is(err, unix.ENOBUFS) || errors.Is(err, unix.EAGAIN):
			dropped++
			next = (next + 1) % len(s.msgs)
		case err != nil:
			return sent, dropped, time.Since(start), fmt.Errorf("interface %s: sendmmsg: %w", o.iface, err)
		default:
			sent += uint64(k)
			next = (next + k) % len(s.msgs)
		}
	}
	return sent, dropped, time.Since(start), nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }
