package trigger

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync/atomic"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// icmpCheck sends one echo request per probe and succeeds on the matching
// echo reply (same identifier where the socket keeps it, same sequence
// number, same random payload). It uses a raw socket when it may (root or
// CAP_NET_RAW) and otherwise the unprivileged ping socket (Linux, when
// net.ipv4.ping_group_range allows the group). A destination unreachable
// answer for the request fails the probe at once. Host names are resolved
// on every probe, IPv4 preferred.
type icmpCheck struct {
	host string
	log  *slog.Logger
	seq  atomic.Uint32

	datagramOnly bool // tests: skip the raw socket
}

const (
	protoICMP   = 1
	protoICMPv6 = 58
)

func (c *icmpCheck) Probe(ctx context.Context) error {
	ip, err := resolveHost(ctx, c.host)
	if err != nil {
		return err
	}
	v6 := ip.Is6()
	conn, raw, err := listenICMP(v6, c.datagramOnly)
	if err != nil {
		return err
	}
	defer conn.Close()
	if !raw {
		c.log.Debug("no raw ICMP socket; using the unprivileged ping socket")
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	var idb [2]byte
	payload := make([]byte, 16)
	_, _ = rand.Read(idb[:])
	_, _ = rand.Read(payload)
	id := int(binary.BigEndian.Uint16(idb[:]))
	seq := int(uint16(c.seq.Add(1)))
	msg := icmp.Message{Type: ipv4.ICMPTypeEcho, Body: &icmp.Echo{ID: id, Seq: seq, Data: payload}}
	proto := protoICMP
	if v6 {
		msg.Type, proto = ipv6.ICMPTypeEchoRequest, protoICMPv6
	}
	wb, err := msg.Marshal(nil) // ICMPv6: the kernel fills in the checksum
	if err != nil {
		return fmt.Errorf("icmp: %w", err)
	}
	var dst net.Addr = &net.IPAddr{IP: ip.AsSlice(), Zone: ip.Zone()}
	if !raw {
		dst = &net.UDPAddr{IP: ip.AsSlice(), Zone: ip.Zone()}
	}
	if _, err := conn.WriteTo(wb, dst); err != nil {
		return fmt.Errorf("icmp echo to %s: %w", ip, err)
	}
	buf := make([]byte, 1500)
	for {
		n, peer, err := conn.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) || ctx.Err() != nil {
				return fmt.Errorf("no echo reply from %s: %w", ip, ctxCause(ctx))
			}
			return fmt.Errorf("icmp from %s: %w", ip, err)
		}
		rm, err := icmp.ParseMessage(proto, buf[:n])
		if err != nil {
			continue
		}
		switch body := rm.Body.(type) {
		case *icmp.Echo:
			if rm.Type != ipv4.ICMPTypeEchoReply && rm.Type != ipv6.ICMPTypeEchoReply {
				continue
			}
			if body.Seq == seq && bytes.Equal(body.Data, payload) && (!raw || body.ID == id) && addrIs(peer, ip) {
				return nil
			}
		case *icmp.DstUnreach:
			if raw && quotesEcho(body.Data, v6, id, seq) {
				return fmt.Errorf("icmp echo to %s: %v from %s (code %d)", ip, rm.Type, peerIP(peer), rm.Code)
			}
		}
	}
}

// quotesEcho reports whether an ICMP error's quoted packet is our request.
func quotesEcho(data []byte, v6 bool, id, seq int) bool {
	hl := 40
	if !v6 {
		if len(data) < 20 {
			return false
		}
		hl = int(data[0]&0x0f) * 4
	}
	if len(data) < hl+8 {
		return false
	}
	e := data[hl:]
	return int(binary.BigEndian.Uint16(e[4:6])) == id && int(binary.BigEndian.Uint16(e[6:8])) == seq
}

func listenICMP(v6, datagramOnly bool) (*icmp.PacketConn, bool, error) {
	rawNet, rawAddr, dgNet := "ip4:icmp", "0.0.0.0", "udp4"
	if v6 {
		rawNet, rawAddr, dgNet = "ip6:ipv6-icmp", "::", "udp6"
	}
	rawErr := os.ErrPermission
	if !datagramOnly {
		conn, err := icmp.ListenPacket(rawNet, rawAddr)
		if err == nil {
			return conn, true, nil
		}
		if !errors.Is(err, os.ErrPermission) {
			return nil, false, fmt.Errorf("icmp: raw socket: %w", err)
		}
		rawErr = err
	}
	conn, err := icmp.ListenPacket(dgNet, rawAddr)
	if err != nil {
		return nil, false, fmt.Errorf("icmp: raw socket: %v; ping socket (see sysctl net.ipv4.ping_group_range): %w", rawErr, err)
	}
	return conn, false, nil
}

// resolveHost returns host as an address, resolving names (IPv4 first).
func resolveHost(ctx context.Context, host string) (netip.Addr, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return ip.Unmap(), nil
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("resolve %s: %w", host, err)
	}
	for _, ip := range ips {
		if ip.Unmap().Is4() {
			return ip.Unmap(), nil
		}
	}
	if len(ips) == 0 {
		return netip.Addr{}, fmt.Errorf("resolve %s: no addresses", host)
	}
	return ips[0], nil
}

func peerIP(a net.Addr) netip.Addr {
	var ip net.IP
	switch a := a.(type) {
	case *net.IPAddr:
		ip = a.IP
	case *net.UDPAddr:
		ip = a.IP
	}
	p, _ := netip.AddrFromSlice(ip)
	return p.Unmap()
}

func addrIs(a net.Addr, want netip.Addr) bool {
	return peerIP(a) == want.WithZone("")
}

// ctxCause is ctx.Err(), or DeadlineExceeded when a socket deadline taken
// from ctx fired a moment before ctx itself.
func ctxCause(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return context.DeadlineExceeded
}
