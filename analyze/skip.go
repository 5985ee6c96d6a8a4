package analyze

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Frames that may carry neighbor resolution but were not analysed are
// counted per cause, so that a report never says "no failure" about frames
// it could not read. Frames that were read and are something else (IPv4,
// TCP, …) are not counted.

// Kinds of frames not decoded (NotDecoded.Kind).
const (
	SkipLinkType  = "link-type"     // a link type the decoder does not read
	SkipShort     = "short"         // shorter than its link-layer header
	SkipARPCut    = "arp-cut"       // an ARP message cut short (snap length)
	SkipARPType   = "arp-type"      // ARP for other hardware or protocol types
	SkipARPOpcode = "arp-opcode"    // ARP with an opcode other than request/reply
	SkipRARP      = "rarp"          // reverse ARP (EtherType 0x8035)
	SkipTunnel    = "tunnel"        // a tunnel whose inner frame could not be read
	SkipEncrypted = "encrypted"     // an 802.11 protected data frame
	SkipNDP       = "ndp-malformed" // an NDP message with a bad code or option
)

// NotDecoded is a count of frames not analysed, for one cause.
type NotDecoded struct {
	Kind     string     `json:"kind"`
	Cause    string     `json:"cause"` // e.g. "link type 107 (FRELAY)", "RARP"
	Count    uint64     `json:"count"`
	Evidence []Evidence `json:"evidence,omitempty"`
}

type skipKey struct {
	code decodeError
	why  uint32
}

type skipCount struct {
	key   skipKey
	count uint64
	ev    evidence
}

// maxSkipCauses bounds the causes kept per side; the rest are "other".
const maxSkipCauses = 64

// skips counts the frames of one side that were not analysed. Past
// maxSkipCauses causes, frames are counted per reason without the detail.
type skips struct {
	m     map[skipKey]*skipCount
	other [numDecodeErrors]skipCount
	total uint64
}

// counted reports whether frames skipped for e are counted.
func counted(e decodeError) bool {
	return e != errNone && e != errNotResolution
}

// add counts one frame decode skipped with e (and p.why).
func (s *skips) add(e decodeError, why uint32, ref Ref) {
	if !counted(e) {
		return
	}
	s.total++
	k := skipKey{code: e}
	switch e {
	case errLinkType, errARPType, errARPOp, errTunnel:
		k.why = why
	}
	c := s.m[k]
	if c == nil {
		if s.m == nil {
			s.m = make(map[skipKey]*skipCount)
		}
		if len(s.m) >= maxSkipCauses {
			o := &s.other[e]
			o.key = skipKey{code: e, why: noDetail}
			o.count++
			o.ev.add(ref)
			return
		}
		c = &skipCount{key: k}
		s.m[k] = c
	}
	c.count++
	c.ev.add(ref)
}

// report lists the causes, most frames first.
func (s *skips) report(sr *sideRun) []NotDecoded {
	cs := make([]*skipCount, 0, len(s.m))
	for _, c := range s.m {
		cs = append(cs, c)
	}
	slices.SortFunc(cs, func(a, b *skipCount) int {
		if c := cmp.Compare(b.count, a.count); c != 0 {
			return c
		}
		if c := cmp.Compare(a.key.code, b.key.code); c != 0 {
			return c
		}
		return cmp.Compare(a.key.why, b.key.why)
	})
	var out []NotDecoded
	for _, c := range cs {
		kind, cause := skipCause(c.key)
		out = append(out, NotDecoded{Kind: kind, Cause: cause, Count: c.count, Evidence: sr.evidence(&c.ev, "")})
	}
	for i := range s.other {
		if o := &s.other[i]; o.count > 0 {
			kind, cause := skipCause(o.key)
			out = append(out, NotDecoded{Kind: kind, Cause: cause, Count: o.count, Evidence: sr.evidence(&o.ev, "")})
		}
	}
	return out
}

// noDetail marks the per-reason counts past maxSkipCauses.
const noDetail = ^uint32(0)

func skipCause(k skipKey) (kind, cause string) {
	if k.why == noDetail {
		switch k.code {
		case errLinkType:
			return SkipLinkType, "other link types"
		case errARPType:
			return SkipARPType, "ARP for other hardware or protocol types"
		case errARPOp:
			return SkipARPOpcode, "ARP with other opcodes"
		case errTunnel:
			return SkipTunnel, "ARP inside other tunnels, not decoded"
		}
	}
	switch k.code {
	case errLinkType:
		return SkipLinkType, "link type " + linkTypeName(k.why)
	case errShort:
		return SkipShort, "shorter than their link-layer header"
	case errBadARP:
		return SkipARPCut, "ARP cut short"
	case errARPType:
		return SkipARPType, fmt.Sprintf("ARP for hardware type %s, protocol %s", arpHWName(uint16(k.why>>16)), etherTypeName(uint16(k.why)))
	case errARPOp:
		return SkipARPOpcode, "ARP with opcode " + arpOpName(k.why)
	case errRARP:
		return SkipRARP, "RARP (reverse ARP)"
	case errTunnel:
		return SkipTunnel, "ARP inside a tunnel, not decoded (" + tunnelName(k.why) + " inner frame unreadable)"
	case errEncrypted:
		return SkipEncrypted, "encrypted 802.11 data"
	case errBadNDP:
		return SkipNDP, "malformed NDP"
	}
	return "other", k.code.Error()
}

// notDecodedSentence says what was not read: "40 frames could not be
// decoded: 30 with link type 107 (FRELAY), 10 RARP (reverse ARP)".
func notDecodedSentence(nd []NotDecoded) string {
	var total uint64
	for _, x := range nd {
		total += x.Count
	}
	if total == 0 {
		return ""
	}
	var parts []string
	for i, x := range nd {
		if i == 4 {
			parts = append(parts, "…")
			break
		}
		parts = append(parts, fmt.Sprintf("%s %s", count(x.Count), x.Cause))
	}
	return fmt.Sprintf("%s could not be decoded: %s", plural2(total, "1 frame", count(total)+" frames"), strings.Join(parts, ", "))
}

func tunnelName(k uint32) string {
	switch k {
	case tunnelVXLAN:
		return "VXLAN"
	case tunnelVXLANGPE:
		return "VXLAN-GPE"
	case tunnelGeneve:
		return "Geneve"
	case tunnelGRE:
		return "GRE"
	case tunnelERSPAN:
		return "ERSPAN"
	case tunnelMPLS:
		return "MPLS"
	case tunnelNested:
		return "nested too deep,"
	case tunnelPBB:
		return "802.1ah"
	}
	return "tunnel"
}

func arpOpName(op uint32) string {
	names := map[uint32]string{3: "RARP request", 4: "RARP reply", 8: "InARP request", 9: "InARP reply", 10: "ARP NAK"}
	if n, ok := names[op]; ok {
		return fmt.Sprintf("%d (%s)", op, n)
	}
	return fmt.Sprint(op)
}

func arpHWName(h uint16) string {
	names := map[uint16]string{1: "Ethernet", 6: "IEEE 802", 7: "ARCNET", 15: "Frame Relay", 16: "ATM", 18: "Fibre Channel",
		19: "ATM", 20: "serial line", 24: "IEEE 1394", 32: "InfiniBand"}
	if n, ok := names[h]; ok {
		return fmt.Sprintf("%d (%s)", h, n)
	}
	return fmt.Sprint(h)
}

func etherTypeName(t uint16) string {
	switch t {
	case 0x0800:
		return "0x0800 (IPv4)"
	case 0x86dd:
		return "0x86dd (IPv6)"
	}
	return fmt.Sprintf("%#04x", t)
}

// linkTypeName names a LINKTYPE_* as "107 (FRELAY)".
func linkTypeName(lt uint32) string {
	i, ok := slices.BinarySearchFunc(linkTypeNames[:], lt, func(e linkTypeEntry, lt uint32) int { return cmp.Compare(e.lt, lt) })
	if ok {
		return fmt.Sprintf("%d (%s)", lt, linkTypeNames[i].name)
	}
	return fmt.Sprint(lt)
}

type linkTypeEntry struct {
	lt   uint32
	name string
}

// linkTypeNames are the LINKTYPE_ names of tcpdump.org's list, for the
// link types most often met, in order. An array, not a map: it is static
// data, where a map is built when the program starts.
var linkTypeNames = [...]linkTypeEntry{
	{0, "NULL"}, {1, "ETHERNET"}, {3, "AX25"}, {6, "IEEE802_5"}, {7, "ARCNET_BSD"}, {8, "SLIP"},
	{9, "PPP"}, {10, "FDDI"}, {50, "PPP_HDLC"}, {51, "PPP_ETHER"}, {100, "ATM_RFC1483"}, {101, "RAW"},
	{104, "C_HDLC"}, {105, "IEEE802_11"}, {107, "FRELAY"}, {108, "LOOP"}, {113, "LINUX_SLL"},
	{114, "LTALK"}, {117, "PFLOG"}, {119, "IEEE802_11_PRISM"}, {122, "IP_OVER_FC"}, {123, "SUNATM"},
	{127, "IEEE802_11_RADIOTAP"}, {129, "ARCNET_LINUX"}, {138, "APPLE_IP_OVER_IEEE1394"},
	{139, "MTP2_WITH_PHDR"}, {140, "MTP2"}, {141, "MTP3"}, {142, "SCCP"}, {143, "DOCSIS"},
	{144, "LINUX_IRDA"}, {147, "USER0"}, {163, "IEEE802_11_AVS"}, {165, "BACNET_MS_TP"},
	{166, "PPP_PPPD"}, {169, "GPRS_LLC"}, {177, "LINUX_LAPD"}, {187, "BLUETOOTH_HCI_H4"},
	{189, "USB_LINUX"}, {192, "PPI"}, {195, "IEEE802_15_4_WITHFCS"}, {196, "SITA"}, {197, "ERF"},
	{201, "BLUETOOTH_HCI_H4_WITH_PHDR"}, {202, "AX25_KISS"}, {204, "PPP_WITH_DIR"},
	{215, "IEEE802_15_4_NONASK_PHY"}, {220, "USB_LINUX_MMAPPED"}, {224, "FC_2"},
	{225, "FC_2_WITH_FRAME_DELIMS"}, {226, "IPNET"}, {227, "CAN_SOCKETCAN"}, {228, "IPV4"},
	{229, "IPV6"}, {230, "IEEE802_15_4_NOFCS"}, {231, "DBUS"}, {235, "DVB_CI"}, {239, "NFLOG"},
	{240, "NETANALYZER"}, {241, "NETANALYZER_TRANSPARENT"}, {242, "IPOIB"}, {247, "INFINIBAND"},
	{249, "USBPCAP"}, {251, "BLUETOOTH_LE_LL"}, {252, "WIRESHARK_UPPER_PDU"}, {253, "NETLINK"},
	{254, "BLUETOOTH_LINUX_MONITOR"}, {256, "BLUETOOTH_LE_LL_WITH_PHDR"}, {263, "IEEE802_15_4_TAP"},
	{264, "NORDIC_BLE"}, {266, "DISPLAYPORT_AUX"}, {274, "EBHSCR"}, {276, "LINUX_SLL2"},
	{279, "ZBOSS_NCP"}, {281, "USB_2_0"}, {283, "AUERSWALD_LOG"}, {285, "ZWAVE_TAP"},
	{286, "SILABS_DEBUG_CHANNEL"}, {290, "FIRA_UCI"},
}
