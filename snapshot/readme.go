package snapshot

import (
	"fmt"
	"io"
	"strings"

	"github.com/arpbox/arpbox/bundle"
)

// writeReadme writes README.txt: what the bundle holds and how to open it,
// for someone who has never seen arpbox (a vendor's support engineer).
func writeReadme(w io.Writer, m *bundle.Manifest) error {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("arpbox incident bundle %s\n", m.ID)
	p("%s\n\n", strings.Repeat("=", len("arpbox incident bundle ")+len(m.ID)))
	p("arpbox is a flight recorder for ARP and IPv6 neighbor discovery: it keeps\n")
	p("the last minutes of ARP/NDP traffic of a host, and when a health check fails\n")
	p("it keeps the minutes before and after the failure in a bundle like this one.\n\n")
	p("What happened\n-------------\n")
	p("Host:     %s\n", m.Host)
	p("Trigger:  %s (check %s", m.Trigger.Trigger, m.Trigger.Check)
	if m.Trigger.Target != "" {
		p(", target %s", m.Trigger.Target)
	}
	p(")\nReason:   %s\n", m.Trigger.Reason)
	p("Time (T): %s (UTC)\n", rfc(m.Trigger.Time))
	p("Window:   %s to %s (%s before T, %s after)\n", rfc(m.Window.Requested.From), rfc(m.Window.Requested.To), m.Window.Before, m.Window.After)
	if m.Window.ShortBy != "" {
		p("          NOTE: the recording does not reach back to the start of the\n")
		p("          window; it is short by %s (%s).\n", m.Window.ShortBy, m.Window.Note)
	}
	for _, st := range m.ClockSteps {
		p("          NOTE: the wall clock stepped %s at %s (UTC); packet times\n", st.Step, rfc(st.At))
		p("          jump there. The window was chosen on arpbox's monotonic clock.\n")
	}
	if m.Window.EndedEarly != nil {
		p("          NOTE: arpbox was shut down at %s, before the end of the\n", rfc(*m.Window.EndedEarly))
		p("          window; the bundle holds what was recorded until then.\n")
	}
	p("Packets:  %d; %s\n\n", m.Capture.Packets, m.Capture.TriggerNote)

	p("Files\n-----\n")
	p("capture.pcapng.gz\n")
	p("                All ARP/NDP packets seen in the window, in time order, one\n")
	p("                interface description per capture interface: a pcapng file,\n")
	p("                gzip-compressed; Wireshark, tshark and capinfos open it\n")
	p("                directly (zcat or gunzip gives the plain capture.pcapng). The\n")
	p("                section comment (Statistics > Capture File Properties)\n")
	p("                summarises the trigger; the first packet at or after T carries\n")
	p("                the packet comment \"arpbox trigger: ...\". Interface statistics\n")
	p("                blocks at the end give the drop counts (see manifest.json).\n")
	p("netstate.json   The host's network state at T: neighbor (ARP/NDP) table with\n")
	p("netstate.txt    states as `ip neigh` shows them, links (state, MAC, MTU, speed,\n")
	p("                duplex), addresses and routes. .txt is the readable form.\n")
	p("journal.json    Neighbor and link changes seen during the window (e.g. an\n")
	p("journal.txt     entry going FAILED, a link dropping to 100Mb/s), with times on\n")
	p("                the same clock as the packets. Present when journaling is on.\n")
	p("report.*        arpbox's own reading of the capture (text, JSON, HTML), when\n")
	p("                present.\n")
	p("manifest.json   Machine-readable description: trigger, window requested and\n")
	p("                covered, interfaces with packet and drop counts, the ring\n")
	p("                segments used, and the size and SHA-256 of every other file.\n")
	p("README.txt      This file.\n\n")
	p("Files in this bundle:\n")
	for _, f := range m.Files {
		if f.Name != readmeName && f.Name != manifestName {
			p("  %-18s %12d bytes\n", f.Name, f.Size)
		}
	}
	p("  %s\n  %s\n", manifestName, readmeName)
	for _, c := range m.Collectors {
		if !c.OK {
			p("  (%s could not be written completely: %s)\n", c.Name, c.Error)
		}
	}
	p("\nHow to open it\n--------------\n")
	p("Wireshark: open capture.pcapng.gz. To jump to the incident use\n")
	p("  Edit > Find Packet > Display filter: frame.comment\n")
	p("or the display filter  frame.comment  (Statistics > Capture File Properties\n")
	p("shows the section comment with the trigger summary). Useful filters:\n")
	p("  arp                       ARP only\n")
	p("  arp.opcode == 1           who-has requests;  arp.opcode == 2  replies\n")
	p("  arp.dst.proto_ipv4 == X   requests for address X\n")
	p("  icmpv6.type in {135 136}  IPv6 neighbor solicitation / advertisement\n\n")
	p("tshark:\n")
	p("  tshark -r capture.pcapng.gz -Y frame.comment               the trigger packet\n")
	p("  tshark -r capture.pcapng.gz -T fields -e frame.number -e frame.time_epoch \\\n")
	p("         -e frame.interface_name -e frame.comment\n")
	p("  capinfos capture.pcapng.gz                                counts, first/last time\n\n")
	p("To check that the files are intact (each file's SHA-256 is in manifest.json):\n")
	p("  jq -r '.files[] | \"\\(.sha256)  \\(.name)\"' manifest.json | sha256sum -c\n")
	_, err := io.WriteString(w, b.String())
	return err
}
