package analyze

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteJSON writes r in the arpbox.report/v1 schema, indented.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}

// WriteText writes r as plain text for people: verdict first, then the
// evidence and per-address tables. All times are UTC.
func (r *Report) WriteText(w io.Writer) error {
	var buf bytes.Buffer
	n := 0
	for _, s := range r.Sides {
		n += len(s.Targets)
	}
	buf.Grow(8<<10 + 256*(len(r.Verdict.Findings)+n)) // about what it takes
	if err := r.writeText(&buf); err != nil {
		return err
	}
	_, err := w.Write(escapeControls(buf.Bytes()))
	return err
}

func (r *Report) writeText(w io.Writer) error {
	bw := bufio.NewWriter(w)
	p := func(format string, a ...any) { fmt.Fprintf(bw, format, a...) }
	p("arpbox report: neighbor resolution (ARP/NDP) diagnosis\n")
	p("All times are UTC. Frame numbers are 1-based, as Wireshark shows them, per file.\n\n")
	r.writeIncidentText(p) // multihost.go
	p("INPUTS\n")
	for _, s := range r.Sides {
		p("  %s (%s): %s, %s ARP, %s NDP", s.Name, s.Path, plural(s.Packets, "packet"), count(s.ARP), count(s.NDP))
		if !s.First.IsZero() {
			p(", %s – %s", s.First.Format("2006-01-02 15:04:05.000"), s.Last.Format("15:04:05.000"))
		}
		p("\n")
		for _, f := range s.Files {
			if len(s.Files) == 1 && !f.Truncated && f.Error == "" {
				break
			}
			p("    %s: %s %s", f.Name, f.Format, plural(f.Packets, "packet"))
			if f.Truncated {
				p(", truncated (read up to the cut)")
			}
			if f.Error != "" {
				p(", error: %s", f.Error)
			}
			p("\n")
		}
		for _, x := range s.NotDecoded {
			p("    not decoded: %s, %s", plural(x.Count, "frame"), x.Cause)
			for _, e := range x.Evidence {
				p("; %s %s", e.File, frames(e.Frames, e.Total))
			}
			p("\n")
		}
		if s.Untracked > 0 {
			p("    %s not tracked: address limit reached\n", plural(s.Untracked, "packet"))
		}
	}
	if r.Trigger != nil {
		p("  Trigger: %s at %s\n", r.Trigger.Label, r.Trigger.Time.Format("2006-01-02 15:04:05.000"))
	}
	p("\nVERDICT\n")
	wrap(bw, "  ", r.Verdict.Summary)
	if len(r.Verdict.Findings) > 0 {
		p("\nFINDINGS (most likely cause first)\n")
	}
	multi := len(r.Sides) > 1
	for _, f := range r.Verdict.Findings {
		p("%3d. [%s] %s", f.Rank, f.Severity, f.Title)
		if multi {
			p(" (%s)", f.Side)
		}
		p("\n")
		wrap(bw, "     ", f.Summary)
		for _, e := range f.Evidence {
			p("     evidence: ")
			if multi {
				p("%s: ", e.Side)
			}
			p("%s %s", e.File, frames(e.Frames, e.Total))
			if e.Note != "" {
				p(" (%s)", e.Note)
			}
			p("\n")
		}
	}
	for _, pr := range r.TwoSided {
		p("\nTWO-SIDED: %s ↔ %s\n", pr.Sides[0], pr.Sides[1])
		p("  Clock offset (%s minus %s): %s, %s.\n", pr.Sides[1], pr.Sides[0], signedDur(pr.OffsetMS), pr.OffsetBasis)
		p("  Requests matched across both captures: %s.\n", count(pr.Matched))
		if pr.Truncated {
			p("  Only the first %s exchanges per side were compared.\n", count(maxExchanges))
		}
		if len(pr.Exchanges) == 0 {
			p("  No exchange failed between the two capture points.\n")
			continue
		}
		tw := tabwriter.NewWriter(bw, 2, 8, 2, ' ', 0)
		fmt.Fprintf(tw, "  WHERE IT FAILED\tASKER → TARGET\tCOUNT\tFIRST\tLAST\tASKER'S CAPTURE\n")
		for _, x := range pr.Exchanges {
			fmt.Fprintf(tw, "  %s\t%s → %s\t%d\t%s\t%s\t%s\n", x.Class, x.Asker, x.Target, x.Count,
				x.First.Format("15:04:05.000"), x.Last.Format("15:04:05.000"), x.AskerSide)
		}
		tw.Flush()
	}
	for _, s := range r.Sides {
		p("\nADDRESSES seen at %s\n", s.Name)
		if len(s.Targets) == 0 {
			p("  (no ARP or NDP requests or replies)\n")
		} else {
			tw := tabwriter.NewWriter(bw, 2, 8, 2, ' ', 0)
			fmt.Fprintf(tw, "  IP\tREQUESTS (BCAST/UCAST)\tREPLIES\tUNANSWERED\tLATENCY P50/P99/MAX\tMACS\tOTHER\n")
			for _, t := range s.Targets {
				ip := t.IP
				if t.VLAN != "" {
					ip += " vlan " + t.VLAN
				}
				lat := "-"
				if t.Latency != nil {
					lat = fmt.Sprintf("%s / %s / %s", msDur(t.Latency.P50MS), msDur(t.Latency.P99MS), msDur(t.Latency.MaxMS))
				}
				macs := make([]string, 0, len(t.MACs))
				for _, m := range t.MACs {
					macs = append(macs, m.MAC)
				}
				fmt.Fprintf(tw, "  %s\t%d (%d/%d)\t%d\t%d\t%s\t%s\t%s\n", ip, t.Requests, t.Broadcast, t.Unicast, t.Replies, t.Unanswered, lat, strings.Join(macs, " "), otherPackets(t))
			}
			tw.Flush()
			if s.TargetsOmitted > 0 {
				p("  … and %s without findings (see -json).\n", plural(uint64(s.TargetsOmitted), "more address"))
			}
		}
		if len(s.TopSenders) > 0 {
			p("  Busiest requesters:")
			for i, x := range s.TopSenders {
				if i == 5 {
					break
				}
				p(" %s (%s) %d;", x.MAC, senderIP(x.IP), x.Requests)
			}
			p("\n")
		}
	}
	if len(r.Neighbor) > 0 {
		p("\nNEIGHBOR STATE CHANGES (from the host journal)\n")
		for _, n := range r.Neighbor {
			p("  %s  %s  %s  %s\n", n.Time.Format("15:04:05.000"), n.Side, n.IP, n.State)
		}
	}
	return bw.Flush()
}

func msDur(v float64) string { return dur(int64(v * 1e6)) }

// otherPackets names what an address saw besides requests and replies:
// "2 probes, 1 announcement" (RFC 5227), gratuitous and unsolicited
// replies; "-" for none.
func otherPackets(t TargetReport) string {
	var parts []string
	for _, x := range []struct {
		n   uint64
		one string
	}{{t.Probes, "probe"}, {t.Announcements, "announcement"}, {t.GratuitousReplies, "gratuitous reply"}, {t.Unsolicited, "unsolicited reply"}} {
		if x.n > 0 {
			parts = append(parts, plural(x.n, x.one))
		}
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}

// senderIP shows a requester's address, or "probing" for 0.0.0.0 (RFC
// 5227 probes, and DHCP clients checking an offer).
func senderIP(ip string) string {
	if ip == "0.0.0.0" || ip == "::" {
		return "probing"
	}
	return ip
}

// frames formats a frame sample: "frames 12, 15, 18 … 240 (14 in all)".
func frames(fs []uint64, total uint64) string {
	var b strings.Builder
	if len(fs) == 1 {
		b.WriteString("frame ")
	} else {
		b.WriteString("frames ")
	}
	for i, f := range fs {
		switch {
		case i == 0:
		case i == len(fs)-1 && total > uint64(len(fs)):
			b.WriteString(" … ")
		default:
			b.WriteString(", ")
		}
		fmt.Fprint(&b, f)
	}
	if total > uint64(len(fs)) {
		fmt.Fprintf(&b, " (%d in all)", total)
	}
	return b.String()
}

// wrap writes s word-wrapped at 78 columns with the given indent.
func wrap(w io.Writer, indent, s string) {
	var b [128]byte
	line := append(b[:0], indent...)
	for word := range strings.FieldsSeq(s) {
		if len(line) > len(indent) && len(line)+1+len(word) > 78 {
			w.Write(append(line, '\n'))
			line = append(line[:0], indent...)
		}
		if len(line) > len(indent) {
			line = append(line, ' ')
		}
		line = append(line, word...)
	}
	w.Write(append(line, '\n'))
}
