package trigger

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/arpbox/arpbox/capture"
	"github.com/arpbox/arpbox/internal/arpwire"
)

func (c *arpCheck) Probe(ctx context.Context) error {
	adapters, err := arpAdapters()
	if err != nil {
		return fmt.Errorf("arp: %w", err)
	}
	ad, src, err := pickARPAdapter(adapters, c.iface, c.ip)
	if err != nil {
		return err
	}
	if ad.MAC.IsZero() {
		return fmt.Errorf("arp on %s: interface has no Ethernet address", ad.Name)
	}
	p, err := capture.OpenARPProbe(ad.Device())
	if err != nil {
		return fmt.Errorf("arp on %s: %w", ad.Name, err)
	}
	defer p.Close()

	req, err := arpwire.AppendRequest(nil, ad.MAC, src, c.ip)
	if err != nil {
		return fmt.Errorf("arp on %s: who-has %s from %s: %w", ad.Name, c.ip, src, err)
	}
	req = arpwire.Pad(req)
	for {
		dl, hasDL := ctx.Deadline()
		if ctx.Err() != nil || hasDL && !time.Now().Before(dl) {
			return fmt.Errorf("no ARP reply from %s on %s (who-has from %s %s): %w", c.ip, ad.Name, net.HardwareAddr(ad.MAC[:]), src, ctxCause(ctx))
		}
		if err := p.Send(req); err != nil {
			return fmt.Errorf("arp on %s: send who-has %s: %w", ad.Name, c.ip, err)
		}
		wait, cancel := context.WithTimeout(ctx, arpResend)
		replied, err := waitARPReply(wait, p, c.ip)
		cancel()
		if replied {
			return nil
		}
		if err != nil {
			return fmt.Errorf("arp on %s: read: %w", ad.Name, err)
		}
	}
}

// waitARPReply reads frames until a reply from ip or ctx is done (then
// false and a nil error: resend, or report the timeout).
func waitARPReply(ctx context.Context, p *capture.ARPProbe, ip netip.Addr) (bool, error) {
	for {
		frame, err := p.Next(ctx)
		if ctx.Err() != nil {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if isARPReplyFrom(frame, ip) {
			return true, nil
		}
	}
}

// arpAdapter is what a probe needs of one network adapter.
type arpAdapter struct {
	Name        string // friendly name, e.g. "Ethernet 2"
	GUID        string // {…}
	Description string
	MAC         arpwire.MAC
	Addrs       []netip.Prefix // IPv4 addresses with their on-link prefix lengths
}

// Device is the adapter's Npcap device name.
func (a arpAdapter) Device() string { return `\Device\NPF_` + a.GUID }

// pickARPAdapter chooses the adapter and the sender address as on Linux:
// the adapter named iface (friendly name, Npcap device name, GUID,
// description or one of its IPv4 addresses), or else the one whose IPv4
// subnet holds ip; the sender is its address on ip's subnet, else its first
// IPv4 address, else 0.0.0.0.
func pickARPAdapter(adapters []arpAdapter, iface string, ip netip.Addr) (arpAdapter, netip.Addr, error) {
	var ad *arpAdapter
	if iface != "" {
		ad = findARPAdapter(adapters, iface)
		if ad == nil {
			names := make([]string, 0, len(adapters))
			for _, a := range adapters {
				names = append(names, a.Name)
			}
			return arpAdapter{}, netip.Addr{}, fmt.Errorf("arp: interface %s: no such adapter (adapters: %s)", iface, strings.Join(names, ", "))
		}
	} else {
		for i := range adapters {
			for _, p := range adapters[i].Addrs {
				if p.Contains(ip) {
					ad = &adapters[i]
					break
				}
			}
			if ad != nil {
				break
			}
		}
		if ad == nil {
			return arpAdapter{}, netip.Addr{}, fmt.Errorf("arp: %s is not on a directly connected network (no adapter's IPv4 subnet holds it); set interface to ask anyway", ip)
		}
	}
	for _, p := range ad.Addrs {
		if p.Contains(ip) {
			return *ad, p.Addr(), nil
		}
	}
	if len(ad.Addrs) > 0 {
		return *ad, ad.Addrs[0].Addr(), nil
	}
	return *ad, netip.IPv4Unspecified(), nil
}

func findARPAdapter(adapters []arpAdapter, iface string) *arpAdapter {
	ip, ipErr := netip.ParseAddr(iface)
	for i, a := range adapters {
		switch {
		case strings.EqualFold(a.Name, iface), strings.EqualFold(a.Device(), iface), strings.EqualFold(a.GUID, iface):
			return &adapters[i]
		}
	}
	for i, a := range adapters {
		if a.Description != "" && strings.EqualFold(a.Description, iface) {
			return &adapters[i]
		}
		if ipErr == nil {
			for _, p := range a.Addrs {
				if p.Addr() == ip {
					return &adapters[i]
				}
			}
		}
	}
	return nil
}

// arpAdapters lists the adapters with GetAdaptersAddresses.
func arpAdapters() ([]arpAdapter, error) {
	size := uint32(15 << 10)
	for range 3 {
		buf := make([]byte, size)
		first := (*windows.IpAdapterAddresses)(unsafe.Pointer(&buf[0]))
		err := windows.GetAdaptersAddresses(windows.AF_INET, windows.GAA_FLAG_SKIP_ANYCAST|windows.GAA_FLAG_SKIP_MULTICAST|windows.GAA_FLAG_SKIP_DNS_SERVER, 0, first, &size)
		if errors.Is(err, windows.ERROR_BUFFER_OVERFLOW) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("GetAdaptersAddresses: %w", err)
		}
		var out []arpAdapter
		for a := first; a != nil; a = a.Next {
			ad := arpAdapter{
				Name:        windows.UTF16PtrToString(a.FriendlyName),
				GUID:        windows.BytePtrToString(a.AdapterName),
				Description: windows.UTF16PtrToString(a.Description),
			}
			if a.PhysicalAddressLength == 6 {
				copy(ad.MAC[:], a.PhysicalAddress[:6])
			}
			for u := a.FirstUnicastAddress; u != nil; u = u.Next {
				ip, ok := netip.AddrFromSlice(u.Address.IP())
				ip = ip.Unmap()
				if !ok || !ip.Is4() || u.OnLinkPrefixLength > 32 {
					continue
				}
				ad.Addrs = append(ad.Addrs, netip.PrefixFrom(ip, int(u.OnLinkPrefixLength)))
			}
			out = append(out, ad)
		}
		return out, nil
	}
	return nil, errors.New("GetAdaptersAddresses: the adapter list keeps growing")
}
