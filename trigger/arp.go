package trigger

import (
	"fmt"
	"net/netip"
)

// arpCheck sends ARP who-has requests for an IPv4 address, like arping, and
// succeeds on a reply from that address. It tests ARP itself, not just IP.
// The interface is Interface, or else the one the kernel's route to the
// address uses, looked up on every probe; an address reached through a
// gateway is an error then, since nobody would answer. The request's sender
// address is the interface's IPv4 address on the target's subnet (else the
// route's source, else the first IPv4 address, else 0.0.0.0 as in an RFC 5227
// probe). Requests are repeated every arpResend until the timeout.
// Linux only (AF_PACKET, needs CAP_NET_RAW); elsewhere Probe returns an
// error wrapping errors.ErrUnsupported.
type arpCheck struct {
	ip    netip.Addr
	iface string
}

func newARPCheck(target, iface string) (*arpCheck, error) {
	ip, err := netip.ParseAddr(target)
	if err != nil || !ip.Is4() {
		return nil, fmt.Errorf("arp: %q is not an IPv4 address", target)
	}
	return &arpCheck{ip: ip, iface: iface}, nil
}
