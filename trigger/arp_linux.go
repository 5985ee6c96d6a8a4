package trigger

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/arpbox/arpbox/internal/arpwire"
)

func (c *arpCheck) Probe(ctx context.Context) error {
	ifi, src, err := c.source()
	if err != nil {
		return err
	}
	if len(ifi.HardwareAddr) != 6 {
		return fmt.Errorf("arp on %s: interface has no Ethernet address", ifi.Name)
	}
	f, err := openARPSocket(ifi.Index)
	if err != nil {
		return fmt.Errorf("arp on %s: %w", ifi.Name, err)
	}
	defer f.Close()
	stop := context.AfterFunc(ctx, func() { _ = f.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()

	req, err := arpwire.AppendRequest(nil, arpwire.MAC(ifi.HardwareAddr), src, c.ip)
	if err != nil {
		return fmt.Errorf("arp on %s: who-has %s from %s: %w", ifi.Name, c.ip, src, err)
	}
	req = arpwire.Pad(req) // for NICs that do not pad short frames themselves
	buf := make([]byte, 1600)
	for {
		dl, hasDL := ctx.Deadline()
		if ctx.Err() != nil || hasDL && !time.Now().Before(dl) {
			return fmt.Errorf("no ARP reply from %s on %s (who-has from %s %s): %w", c.ip, ifi.Name, ifi.HardwareAddr, src, ctxCause(ctx))
		}
		if _, err := f.Write(req); err != nil {
			return fmt.Errorf("arp on %s: send who-has %s: %w", ifi.Name, c.ip, err)
		}
		next := time.Now().Add(arpResend)
		if hasDL && dl.Before(next) {
			next = dl
		}
		_ = f.SetReadDeadline(next)
		for {
			n, err := f.Read(buf)
			if errors.Is(err, os.ErrDeadlineExceeded) {
				break // resend, or report the timeout
			}
			if err != nil {
				return fmt.Errorf("arp on %s: read: %w", ifi.Name, err)
			}
			if isARPReplyFrom(buf[:n], c.ip) {
				return nil
			}
		}
	}
}

// source picks the interface and the sender IPv4 address for the request.
func (c *arpCheck) source() (*net.Interface, netip.Addr, error) {
	var (
		ifi      *net.Interface
		routeSrc netip.Addr
		err      error
	)
	if c.iface != "" {
		ifi, err = net.InterfaceByName(c.iface)
		if err != nil {
			return nil, netip.Addr{}, fmt.Errorf("arp: interface %s: %w", c.iface, err)
		}
	} else {
		h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
		if err != nil {
			return nil, netip.Addr{}, fmt.Errorf("arp: route to %s: %w", c.ip, err)
		}
		routes, err := h.RouteGet(c.ip.AsSlice())
		h.Close()
		if err != nil || len(routes) == 0 {
			return nil, netip.Addr{}, fmt.Errorf("arp: no route to %s: %v", c.ip, err)
		}
		r := routes[0]
		ifi, err = net.InterfaceByIndex(r.LinkIndex)
		if err != nil {
			return nil, netip.Addr{}, fmt.Errorf("arp: route to %s: interface %d: %w", c.ip, r.LinkIndex, err)
		}
		if r.Gw != nil {
			return nil, netip.Addr{}, fmt.Errorf("arp: %s is not on a directly connected network (route via %s dev %s); set interface to ask anyway", c.ip, r.Gw, ifi.Name)
		}
		routeSrc, _ = netip.AddrFromSlice(r.Src)
		routeSrc = routeSrc.Unmap()
	}
	addrs, err := ifi.Addrs()
	if err != nil {
		return nil, netip.Addr{}, fmt.Errorf("arp: addresses of %s: %w", ifi.Name, err)
	}
	var first netip.Addr
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		p, ok := netip.AddrFromSlice(ipn.IP)
		p = p.Unmap()
		if !ok || !p.Is4() {
			continue
		}
		ones, _ := ipn.Mask.Size()
		if netip.PrefixFrom(p, ones).Contains(c.ip) {
			return ifi, p, nil
		}
		if !first.IsValid() {
			first = p
		}
	}
	switch {
	case routeSrc.Is4():
		return ifi, routeSrc, nil
	case first.IsValid():
		return ifi, first, nil
	}
	return ifi, netip.IPv4Unspecified(), nil
}

// openARPSocket opens an AF_PACKET socket bound to ifindex for ARP frames,
// as a pollable *os.File (read deadlines work).
func openARPSocket(ifindex int) (*os.File, error) {
	// Protocol 0 until bound, so no frame from another interface is queued.
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("AF_PACKET socket (needs CAP_NET_RAW): %w", err)
	}
	sa := &unix.SockaddrLinklayer{Protocol: htons(arpwire.EtherTypeARP), Ifindex: ifindex}
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("bind AF_PACKET: %w", err)
	}
	return os.NewFile(uintptr(fd), "arp"), nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }
