package trigger

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/arpbox/arpbox/internal/arpwire"
)

// arpResend is how often a probe repeats its who-has while waiting.
const arpResend = 500 * time.Millisecond

// arpCheck sends ARP who-has requests for an IPv4 address, like arping, and
// succeeds on a reply from that address. It tests ARP itself, not just IP.
// The interface is Interface, or else the one the kernel's route to the
// address uses, looked up on every probe; an address reached through a
// gateway is an error then, since nobody would answer. The request's sender
// address is the interface's IPv4 address on the target's subnet (else the
// route's source, else the first IPv4 address, else 0.0.0.0 as in an RFC 5227
// probe). Requests are repeated every arpResend until the timeout.
// On Linux it uses an AF_PACKET socket (needs CAP_NET_RAW); on Windows,
// Npcap (capture.OpenARPProbe), and the interface is the one whose IPv4
// subnet holds the address, there being no route lookup. Elsewhere Probe
// returns an error wrapping errors.ErrUnsupported.
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

// isARPReplyFrom reports whether frame is an ARP reply whose sender is ip.
func isARPReplyFrom(frame []byte, ip netip.Addr) bool {
	var f arpwire.Frame
	var a arpwire.ARP
	return arpwire.DecodeFrame(arpwire.LinkEthernet, frame, &f) == nil && f.EtherType == arpwire.EtherTypeARP &&
		a.UnmarshalBinary(f.Payload) == nil && a.Op == arpwire.OpReply && a.SenderIP == ip
}
