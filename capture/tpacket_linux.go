package capture

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// frameSize only sets the kernel's frame count bookkeeping in TPACKET_V3.
const frameSize = 2048

// openHandle opens the TPACKET_V3 capture handle, Linux's.
func openHandle(cfg LiveConfig) (handle, error) {
	s, err := openSocket(cfg)
	if err != nil {
		return nil, err // not a nil *tpSocket in a non-nil handle
	}
	return s, nil
}

// tpSocket is an AF_PACKET socket with a TPACKET_V3 receive ring, bound to
// one interface. Not safe for concurrent use.
type tpSocket struct {
	fd      int
	file    *os.File        // fd in the Go netpoller, once open
	rc      syscall.RawConn // file's, for waiting without a blocked thread
	ring    []byte
	nblocks int
	cur     int    // next block to read
	index   int    // the interface's
	name    string // the interface's, as configured
	closed  bool
	// deadline is the read deadline last set on file (zero: none, or
	// interrupted). Setting one re-arms a runtime timer and wakes a second
	// thread to watch it, so wait keeps a deadline that is still good.
	deadline time.Time
	// interrupted is set by interrupt, which moved the file's deadline
	// into the past behind deadline's back; the next wait sets its own.
	interrupted atomic.Bool
}

var _ handle = (*tpSocket)(nil)

// openSocket opens a capture socket on cfg.Iface. The socket is created
// with protocol 0, so it receives nothing until bind; the filter is attached
// first, so no unfiltered frame ever reaches the ring (as libpcap does).
// An interface that is missing or down gives an error wrapping ErrLinkDown;
// any other error is one that reopening cannot fix.
func openSocket(cfg LiveConfig) (_ *tpSocket, err error) {
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("capture %s: open AF_PACKET socket: %w", cfg.Iface, err)
	}
	s := &tpSocket{fd: fd, name: cfg.Iface}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	ifr, err := unix.NewIfreq(cfg.Iface)
	if err != nil {
		return nil, fmt.Errorf("capture %s: %w", cfg.Iface, err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFINDEX, ifr); err != nil {
		return nil, fmt.Errorf("capture %s: interface not found: %w (%w)", cfg.Iface, ErrLinkDown, err)
	}
	s.index = int(ifr.Uint32())
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return nil, fmt.Errorf("capture %s: interface flags: %w (%w)", cfg.Iface, ErrLinkDown, err)
	}
	if ifr.Uint16()&unix.IFF_UP == 0 {
		return nil, fmt.Errorf("capture %s: interface is down: %w", cfg.Iface, ErrLinkDown)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_VERSION, unix.TPACKET_V3); err != nil {
		return nil, fmt.Errorf("capture %s: TPACKET_V3: %w", cfg.Iface, err)
	}
	s.nblocks = max(cfg.BufferBytes/blockSize, 1)
	req := unix.TpacketReq3{
		Block_size:     blockSize,
		Block_nr:       uint32(s.nblocks),
		Frame_size:     frameSize,
		Frame_nr:       uint32(s.nblocks * (blockSize / frameSize)),
		Retire_blk_tov: uint32(blockTimeout.Milliseconds()),
	}
	if err := unix.SetsockoptTpacketReq3(fd, unix.SOL_PACKET, unix.PACKET_RX_RING, &req); err != nil {
		return nil, fmt.Errorf("capture %s: ring of %d bytes: %w", cfg.Iface, s.nblocks*blockSize, err)
	}
	s.ring, err = unix.Mmap(fd, 0, s.nblocks*blockSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("capture %s: mmap ring: %w", cfg.Iface, err)
	}
	if err := attachFilter(fd, withSnapLen(cfg.Filter.Program, cfg.SnapLen)); err != nil {
		return nil, fmt.Errorf("capture %s: attach filter %s: %w", cfg.Iface, cfg.Filter, err)
	}
	sa := &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: s.index}
	if err := unix.Bind(fd, sa); err != nil {
		if errors.Is(err, unix.ENODEV) || errors.Is(err, unix.ENETDOWN) || errors.Is(err, unix.ENXIO) {
			return nil, fmt.Errorf("capture %s: bind: %w (%w)", cfg.Iface, ErrLinkDown, err)
		}
		return nil, fmt.Errorf("capture %s: bind: %w", cfg.Iface, err)
	}
	// A link that went down between the flags check and bind leaves the
	// socket unhooked with sk_err set.
	if e, _ := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR); e != 0 {
		return nil, fmt.Errorf("capture %s: after bind: %w (%w)", cfg.Iface, ErrLinkDown, unix.Errno(e))
	}
	if cfg.Promiscuous {
		mreq := unix.PacketMreq{Ifindex: int32(s.index), Type: unix.PACKET_MR_PROMISC}
		if err := unix.SetsockoptPacketMreq(fd, unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, &mreq); err != nil {
			return nil, fmt.Errorf("capture %s: promiscuous mode: %w (%w)", cfg.Iface, ErrLinkDown, err)
		}
	}
	// Waiting in the runtime's netpoller rather than in poll(2) keeps the
	// thread free and spares the runtime a syscall handoff per wait, which
	// under a storm cost more CPU than reading the frames.
	if err := unix.SetNonblock(fd, true); err != nil {
		return nil, fmt.Errorf("capture %s: nonblocking: %w", cfg.Iface, err)
	}
	s.file = os.NewFile(uintptr(fd), "AF_PACKET:"+cfg.Iface)
	if s.rc, err = s.file.SyscallConn(); err != nil {
		return nil, fmt.Errorf("capture %s: %w", cfg.Iface, err)
	}
	return s, nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

func attachFilter(fd int, prog []bpf.RawInstruction) error {
	if len(prog) == 0 {
		return nil
	}
	fp := unix.SockFprog{
		Len:    uint16(len(prog)),
		Filter: (*unix.SockFilter)(unsafe.Pointer(&prog[0])),
	}
	return unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &fp)
}

// block returns the current ring block and whether the kernel has handed
// it to user space.
func (s *tpSocket) block() ([]byte, bool) {
	b := s.ring[s.cur*blockSize : (s.cur+1)*blockSize]
	st := (*uint32)(unsafe.Pointer(&b[bdBlockStatus]))
	return b, atomic.LoadUint32(st)&tpStatusUser != 0
}

func (s *tpSocket) ready() bool {
	_, ok := s.block()
	return ok
}

// next copies the frames of the current block, which the caller found
// ready, and gives the block back to the kernel.
func (s *tpSocket) next(fl *filler, emit func(*Batch) bool) bool {
	blk, _ := s.block()
	ok := fl.fillBlock(blk, emit)
	s.release()
	return ok
}

// pending reports whether the kernel has put frames into the current block
// while it still owns it (it counts them as it fills the block).
func (s *tpSocket) pending() bool {
	b := s.ring[s.cur*blockSize : (s.cur+1)*blockSize]
	return atomic.LoadUint32((*uint32)(unsafe.Pointer(&b[bdNumPkts]))) != 0
}

func (s *tpSocket) ifindex() int { return s.index }

// setFilter attaches a new program: SO_ATTACH_FILTER replaces the
// socket's filter atomically, so every frame meets the old one or the new.
func (s *tpSocket) setFilter(f Filter, snaplen int) error {
	if err := attachFilter(s.fd, withSnapLen(f.Program, snaplen)); err != nil {
		return fmt.Errorf("capture %s: attach filter %s: %w", s.name, f, err)
	}
	return nil
}

// countsFiltered: tp_packets counts the frames the filter passed.
func (s *tpSocket) countsFiltered() bool { return true }

// linkKept reports whether the interface is still there under its name
// with the index the socket is bound to: then only the link went down,
// and the kernel re-hooks the socket on NETDEV_UP (packet_notifier), so
// the socket captures again the moment the link is up. A deleted (or
// recreated: new index) interface needs a new socket.
func (s *tpSocket) linkKept() bool {
	ifr, err := unix.NewIfreq(s.name)
	if err != nil {
		return false
	}
	if err := unix.IoctlIfreq(s.fd, unix.SIOCGIFINDEX, ifr); err != nil {
		return false
	}
	return int(ifr.Uint32()) == s.index
}
func (s *tpSocket) bufferBytes() int { return s.nblocks * blockSize }

// release gives the current block back to the kernel and moves on.
func (s *tpSocket) release() {
	b := s.ring[s.cur*blockSize:]
	atomic.StoreUint32((*uint32)(unsafe.Pointer(&b[bdBlockStatus])), tpStatusKernel)
	s.cur++
	if s.cur == s.nblocks {
		s.cur = 0
	}
}

// wait waits until a block is ready, the deadline passes or ctx is
// cancelled (the caller has ctx's AfterFunc call interrupt). It returns an
// error wrapping ErrLinkDown when the socket reports an error: the kernel
// sets ENETDOWN and wakes the waiter when the interface goes down or away.
func (s *tpSocket) wait(ctx context.Context, deadline time.Time) error {
	if s.interrupted.Swap(false) {
		s.deadline = time.Time{}
	}
	if now := time.Now(); s.deadline.IsZero() || !s.deadline.After(now) || s.deadline.After(deadline) {
		if err := s.file.SetReadDeadline(deadline); err != nil {
			return fmt.Errorf("wait: %w", err)
		}
		s.deadline = deadline
	}
	if ctx.Err() != nil {
		return nil // cancelled before the deadline was set: interrupt was overwritten
	}
	var sockErr int
	first := true
	err := s.rc.Read(func(fd uintptr) bool {
		if _, ready := s.block(); ready {
			return true
		}
		if first { // the caller just found the ring empty: go to sleep
			first = false
			return false
		}
		// Woken with nothing to read: the socket has an error, or the
		// kernel retired a block that is not the one we wait for (a ring
		// out of step: Live's watchdog reads the counters then).
		e, gerr := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_ERROR)
		if gerr != nil {
			e = int(unix.EBADF)
		}
		sockErr = e
		return true
	})
	if sockErr != 0 {
		return fmt.Errorf("socket error %w: %w", unix.Errno(sockErr), ErrLinkDown)
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		// Passed, or moved into the past by interrupt (which may land
		// after a later deadline was set): the next wait sets one anew.
		s.deadline = time.Time{}
		return nil
	}
	if err != nil {
		return fmt.Errorf("wait: %w", err)
	}
	return nil
}

// interrupt makes a pending or later wait return now. Safe from any goroutine.
func (s *tpSocket) interrupt() {
	s.interrupted.Store(true)
	_ = s.file.SetReadDeadline(time.Unix(1, 0))
}

// stats reads the kernel counters, which the read resets.
func (s *tpSocket) stats() (received, dropped uint64, err error) {
	st, err := unix.GetsockoptTpacketStatsV3(s.fd, unix.SOL_PACKET, unix.PACKET_STATISTICS)
	if err != nil {
		return 0, 0, os.NewSyscallError("getsockopt PACKET_STATISTICS", err)
	}
	return uint64(st.Packets), uint64(st.Drops), nil
}

// close unmaps the ring and closes the socket. It leaves s.file as it is:
// interrupt may still be running on another goroutine, and a deadline set
// on a closed file is harmless.
func (s *tpSocket) close() {
	if s.closed {
		return
	}
	s.closed = true
	if s.ring != nil {
		_ = unix.Munmap(s.ring)
		s.ring = nil
	}
	if s.file != nil {
		_ = s.file.Close()
	} else {
		_ = unix.Close(s.fd)
	}
}
