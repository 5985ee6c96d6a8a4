package analyze

import (
	"bufio"
	"fmt"
	"html"
	"io"
	"math"
	"strings"
	"time"
)

// WriteHTML writes r as one self-contained HTML page (inline CSS and SVG,
// no scripts, no network fetches): verdict, findings with evidence, a
// timeline per address, the two-sided table and per-address tables.
func (r *Report) WriteHTML(w io.Writer) error {
	bw := bufio.NewWriter(w)
	h := &htmlWriter{w: bw, r: r}
	h.page()
	return bw.Flush()
}

type htmlWriter struct {
	w *bufio.Writer
	r *Report
}

func (h *htmlWriter) p(format string, a ...any) { fmt.Fprintf(h.w, format, a...) }

// esc escapes s for HTML text and attribute values, control characters
// written as escapes (see escape.go).
func esc(s string) string { return html.EscapeString(cleanText(s)) }

const css = `
:root{--ink:#1d2433;--mute:#5b6578;--line:#dfe3ea;--bg:#f6f7f9;--req:#7b8aa3;--rep:#2e9d5b;--bad:#d2362f;--warn:#c77800;--info:#3d6fb6;--mac:#7a3fb0}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.5 -apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1180px;margin:0 auto;padding:28px 32px 48px}
header{display:flex;justify-content:space-between;align-items:flex-end;border-bottom:2px solid var(--ink);padding-bottom:10px;margin-bottom:20px}
header h1{font-size:22px;margin:0;letter-spacing:.2px}
header .sub{color:var(--mute);font-size:13px}
h2{font-size:16px;margin:28px 0 10px;text-transform:uppercase;letter-spacing:.6px;color:var(--mute)}
.verdict{background:#fff;border:1px solid var(--line);border-left:6px solid var(--bad);padding:16px 20px;border-radius:6px;font-size:16px}
.verdict.ok{border-left-color:var(--rep)}
.verdict .label{font-size:12px;font-weight:700;text-transform:uppercase;color:var(--bad);letter-spacing:.6px}
.verdict.ok .label{color:var(--rep)}
.meta{display:grid;grid-template-columns:repeat(auto-fill,minmax(260px,1fr));gap:10px;margin-top:14px}
.meta div{background:#fff;border:1px solid var(--line);border-radius:6px;padding:8px 12px;font-size:13px}
.meta b{display:block;font-size:12px;color:var(--mute);font-weight:600}
.finding{background:#fff;border:1px solid var(--line);border-radius:6px;padding:12px 16px;margin:10px 0;display:grid;grid-template-columns:34px 1fr;gap:4px 10px}
.rank{font-size:20px;font-weight:700;color:var(--mute);text-align:right}
.finding h3{margin:0;font-size:15px}
.badge{display:inline-block;font-size:11px;font-weight:700;text-transform:uppercase;letter-spacing:.4px;padding:1px 7px;border-radius:10px;margin-right:8px;vertical-align:2px;color:#fff}
.sev-likely{background:var(--bad)}.sev-possible{background:var(--warn)}.sev-info{background:var(--info)}
.finding p{margin:4px 0}
.ev{font:12px/1.5 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;color:var(--mute)}
.side{color:var(--mute);font-size:12px}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid var(--line);border-radius:6px;font-size:13px}
th,td{text-align:left;padding:6px 10px;border-bottom:1px solid var(--line);vertical-align:top}
th{background:#eef1f5;font-size:12px;text-transform:uppercase;letter-spacing:.4px;color:var(--mute)}
td.n{text-align:right;font-variant-numeric:tabular-nums}
td.bad{color:var(--bad);font-weight:700}
.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px}
.chart{background:#fff;border:1px solid var(--line);border-radius:6px;padding:10px 12px}
.legend{display:flex;gap:18px;flex-wrap:wrap;font-size:12px;color:var(--mute);margin:4px 0 8px}
.legend i{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:5px;vertical-align:-2px}
footer{margin-top:32px;color:var(--mute);font-size:12px}
`

func (h *htmlWriter) page() {
	r := h.r
	title := "arpbox report"
	if len(r.Sides) > 0 {
		names := make([]string, 0, len(r.Sides))
		for _, s := range r.Sides {
			names = append(names, s.Name)
		}
		title += ": " + strings.Join(names, " ↔ ")
	}
	h.p("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n")
	h.p("<title>%s</title><style>%s</style></head><body><main>\n", esc(title), css)
	h.p("<header><div><h1>Neighbor resolution (ARP/NDP) diagnosis</h1><div class=\"sub\">%s</div></div><div class=\"sub\">arpbox report · all times UTC</div></header>\n", esc(title))

	cls, label := "verdict", "Verdict"
	if len(r.Verdict.Findings) == 0 || r.Verdict.Findings[0].Score < 50 {
		cls += " ok"
		label = "Verdict: no failure found"
		for _, s := range r.Sides {
			if len(s.NotDecoded) > 0 {
				cls, label = "verdict", "Verdict: no failure found in what could be read"
			}
		}
	}
	h.p("<section class=\"%s\"><div class=\"label\">%s</div>%s</section>\n", cls, label, esc(r.Verdict.Summary))

	h.p("<div class=\"meta\">")
	for _, s := range r.Sides {
		h.p("<div><b>Capture: %s</b>%s packets (%s ARP, %s NDP)<br>", esc(s.Name), count(s.Packets), count(s.ARP), count(s.NDP))
		if !s.First.IsZero() {
			h.p("%s – %s", esc(s.First.Format("2006-01-02 15:04:05")), esc(s.Last.Format("15:04:05")))
		}
		for _, f := range s.Files {
			if f.Truncated || f.Error != "" {
				h.p("<br><span style=\"color:var(--warn)\">%s: %s</span>", esc(f.Name), esc(fileProblem(f)))
			}
		}
		for _, x := range s.NotDecoded {
			h.p("<br><span style=\"color:var(--warn)\">not decoded: %s, %s", esc(plural(x.Count, "frame")), esc(x.Cause))
			for _, e := range x.Evidence {
				h.p(" (%s %s)", esc(e.File), esc(frames(e.Frames, e.Total)))
			}
			h.p("</span>")
		}
		h.p("</div>")
	}
	if r.Trigger != nil {
		h.p("<div><b>Trigger</b>%s<br>%s</div>", esc(r.Trigger.Label), esc(r.Trigger.Time.Format("2006-01-02 15:04:05.000")))
	}
	h.p("<div><b>Thresholds</b>reply timeout %d ms · storm %d requests/s per sender</div>", r.Settings.ReplyTimeoutMS, r.Settings.StormRate)
	h.p("</div>\n")

	h.incident() // multihost.go

	if len(r.Verdict.Findings) > 0 {
		h.p("<h2>Findings, most likely cause first</h2>\n")
	}
	for _, f := range r.Verdict.Findings {
		sev := "sev-info"
		switch f.Severity {
		case SevLikely:
			sev = "sev-likely"
		case SevPossible:
			sev = "sev-possible"
		}
		h.p("<div class=\"finding\"><div class=\"rank\">%d</div><div><h3><span class=\"badge %s\">%s</span>%s</h3>", f.Rank, sev, esc(f.Severity), esc(f.Title))
		if len(r.Sides) > 1 {
			h.p("<div class=\"side\">%s</div>", esc(f.Side))
		}
		h.p("<p>%s</p>", esc(f.Summary))
		for _, e := range f.Evidence {
			h.p("<div class=\"ev\">")
			if len(r.Sides) > 1 {
				h.p("%s: ", esc(e.Side))
			}
			h.p("%s %s", esc(e.File), esc(frames(e.Frames, e.Total)))
			if e.Note != "" {
				h.p(" — %s", esc(e.Note))
			}
			h.p("</div>")
		}
		h.p("</div></div>\n")
	}

	h.timelines()

	for _, pr := range r.TwoSided {
		h.p("<h2>Two-sided: %s ↔ %s</h2>\n", esc(pr.Sides[0]), esc(pr.Sides[1]))
		h.p("<p>Clock offset (%s minus %s): <b>%s</b> — %s. Requests matched across both captures: %s.</p>\n",
			esc(pr.Sides[1]), esc(pr.Sides[0]), esc(signedDur(pr.OffsetMS)), esc(pr.OffsetBasis), count(pr.Matched))
		if len(pr.Exchanges) == 0 {
			h.p("<p>No exchange failed between the two capture points.</p>\n")
			continue
		}
		h.p("<table><tr><th>Where it failed</th><th>Asker → target</th><th>Count</th><th>First</th><th>Last</th><th>Asker's capture</th><th>Evidence</th></tr>\n")
		for _, x := range pr.Exchanges {
			h.p("<tr><td class=\"bad\">%s</td><td class=\"mono\">%s → %s</td><td class=\"n\">%d</td><td>%s</td><td>%s</td><td>%s</td><td class=\"ev\">",
				esc(x.Class), esc(x.Asker), esc(x.Target), x.Count, x.First.Format("15:04:05.000"), x.Last.Format("15:04:05.000"), esc(x.AskerSide))
			for _, e := range x.Evidence {
				h.p("%s: %s %s<br>", esc(e.Side), esc(e.File), esc(frames(e.Frames, e.Total)))
			}
			h.p("</td></tr>\n")
		}
		h.p("</table>\n")
	}

	for _, s := range r.Sides {
		h.p("<h2>Addresses seen at %s</h2>\n", esc(s.Name))
		if len(s.Targets) == 0 {
			h.p("<p>No ARP or NDP requests or replies.</p>\n")
			continue
		}
		h.p("<table><tr><th>Address</th><th>Requests</th><th>Bcast / ucast</th><th>Replies</th><th>Unanswered</th><th>Latency p50 / p99 / max</th><th>MACs</th><th>Last reply</th><th>Other</th></tr>\n")
		for _, t := range s.Targets {
			ip := t.IP
			if t.VLAN != "" {
				ip += " (vlan " + t.VLAN + ")"
			}
			lat := "–"
			if t.Latency != nil {
				lat = fmt.Sprintf("%s / %s / %s", msDur(t.Latency.P50MS), msDur(t.Latency.P99MS), msDur(t.Latency.MaxMS))
			}
			var macs []string
			for _, m := range t.MACs {
				macs = append(macs, m.MAC)
			}
			last := "–"
			if t.LastReply != nil {
				last = fmt.Sprintf("%s from %s (frame %d)", t.LastReply.Time.Format("15:04:05.000"), t.LastReply.MAC, t.LastReply.Frame)
			}
			un := fmt.Sprintf("<td class=\"n\">%d</td>", t.Unanswered)
			if t.Unanswered > 0 {
				un = fmt.Sprintf("<td class=\"n bad\">%d</td>", t.Unanswered)
			}
			h.p("<tr><td class=\"mono\">%s</td><td class=\"n\">%d</td><td class=\"n\">%d / %d</td><td class=\"n\">%d</td>%s<td>%s</td><td class=\"mono\">%s</td><td>%s</td><td>%s</td></tr>\n",
				esc(ip), t.Requests, t.Broadcast, t.Unicast, t.Replies, un, esc(lat), esc(strings.Join(macs, " ")), esc(last), esc(otherPackets(t)))
		}
		h.p("</table>\n")
		if s.TargetsOmitted > 0 {
			h.p("<p class=\"side\">… and %s without findings (in the JSON report).</p>\n", esc(plural(uint64(s.TargetsOmitted), "more address")))
		}
	}
	if len(r.Neighbor) > 0 {
		h.p("<h2>Neighbor state changes (host journal)</h2>\n<table><tr><th>Time</th><th>Host</th><th>Address</th><th>State</th></tr>\n")
		for _, n := range r.Neighbor {
			h.p("<tr><td>%s</td><td>%s</td><td class=\"mono\">%s</td><td>%s</td></tr>\n", n.Time.Format("15:04:05.000"), esc(n.Side), esc(n.IP), esc(n.State))
		}
		h.p("</table>\n")
	}
	h.p("<footer>Generated by arpbox (%s). Frame numbers are 1-based as Wireshark shows them, per file. Requests count as unanswered after %d ms without a reply.</footer>\n", Schema, r.Settings.ReplyTimeoutMS)
	h.p("</main></body></html>\n")
}

func fileProblem(f FileReport) string {
	var p []string
	if f.Truncated {
		p = append(p, "file is cut short; read up to the cut")
	}
	if f.Error != "" {
		p = append(p, f.Error)
	}
	return strings.Join(p, "; ")
}

// lane is one timeline row: one address as seen from one side.
type lane struct {
	side string
	t    *TargetReport
}

func (h *htmlWriter) lanes() []lane {
	var out []lane
	seen := map[string]bool{}
	for _, f := range h.r.Verdict.Findings {
		if f.IP == "" || f.Score < 20 {
			continue
		}
		for si := range h.r.Sides {
			s := &h.r.Sides[si]
			if f.Side != s.Name && !strings.Contains(f.Side, " ↔ ") {
				continue
			}
			for ti := range s.Targets {
				t := &s.Targets[ti]
				k := s.Name + "|" + t.IP + "|" + t.VLAN
				if t.IP == f.IP && t.VLAN == f.VLAN && !seen[k] && len(t.timeline.buckets) > 0 {
					seen[k] = true
					out = append(out, lane{s.Name, t})
				}
			}
		}
		if len(out) >= 12 {
			break
		}
	}
	if len(out) == 0 {
		for si := range h.r.Sides {
			s := &h.r.Sides[si]
			for ti := range s.Targets {
				if len(out) < 6 && len(s.Targets[ti].timeline.buckets) > 0 {
					out = append(out, lane{s.Name, &s.Targets[ti]})
				}
			}
		}
	}
	return out
}

func (h *htmlWriter) timelines() {
	lanes := h.lanes()
	if len(lanes) == 0 {
		return
	}
	r := h.r
	// Common time axis over all sides, the trigger and journal events.
	var lo, hi time.Time
	widen := func(t time.Time) {
		if t.IsZero() {
			return
		}
		if lo.IsZero() || t.Before(lo) {
			lo = t
		}
		if hi.IsZero() || t.After(hi) {
			hi = t
		}
	}
	for _, s := range r.Sides {
		d := time.Duration(0)
		for _, pr := range r.TwoSided {
			if pr.Sides[0] == r.Sides[0].Name && pr.Sides[1] == s.Name {
				d = -time.Duration(pr.OffsetMS * 1e6)
			}
		}
		if !s.First.IsZero() {
			widen(s.First.Add(d))
			widen(s.Last.Add(d))
		}
	}
	if r.Trigger != nil {
		widen(r.Trigger.Time)
	}
	if !hi.After(lo) {
		hi = lo.Add(time.Second)
	}
	span := hi.Sub(lo)
	lo = lo.Add(-span / 50)
	hi = hi.Add(span / 50)

	const (
		W, left, right = 1100.0, 200.0, 1085.0
		rowH, top      = 64.0, 34.0
	)
	// Other sides are drawn on the first side's clock, using the offset the
	// two-sided analysis estimated.
	shift := map[string]time.Duration{}
	for _, pr := range r.TwoSided {
		if len(r.Sides) > 0 && pr.Sides[0] == r.Sides[0].Name {
			shift[pr.Sides[1]] = -time.Duration(pr.OffsetMS * 1e6)
		}
	}
	var cur time.Duration
	x := func(t time.Time) float64 {
		return left + (right-left)*float64(t.Add(cur).Sub(lo))/float64(hi.Sub(lo))
	}
	H := top + rowH*float64(len(lanes)) + 10
	h.p("<h2>Timeline</h2>\n<div class=\"chart\"><div class=\"legend\">")
	h.p("<span><i style=\"background:var(--req)\"></i>requests (above the line)</span><span><i style=\"background:var(--bad)\"></i>unanswered requests</span>")
	h.p("<span><i style=\"background:var(--rep)\"></i>replies (below the line)</span><span><i style=\"background:#f7d4d2\"></i>outage: no answer</span>")
	h.p("<span><i style=\"background:var(--mac)\"></i>MAC change / announcement</span><span><i style=\"background:var(--warn)\"></i>neighbor state change</span>")
	if r.Trigger != nil {
		h.p("<span><i style=\"background:var(--ink)\"></i>trigger</span>")
	}
	h.p("</div>\n<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %.0f %.0f\" width=\"100%%\" role=\"img\" aria-label=\"timeline\" font-family=\"-apple-system,Segoe UI,Roboto,Arial,sans-serif\" font-size=\"11\">\n", W, H)
	// Time axis.
	step := tickStep(hi.Sub(lo))
	for t := lo.Truncate(step).Add(step); t.Before(hi); t = t.Add(step) {
		xx := x(t)
		label := t.Format("15:04:05")
		if step < time.Second {
			label = t.Format("15:04:05.000")
		}
		h.p("<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.0f\" y2=\"%.0f\" stroke=\"#e8ebf0\"/>", xx, xx, top-6, H-6)
		h.p("<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\" fill=\"#5b6578\">%s</text>\n", xx, top-12, label)
	}
	for i, l := range lanes {
		cur = shift[l.side]
		y0 := top + rowH*float64(i)
		mid := y0 + rowH/2
		t := l.t
		if i%2 == 0 {
			h.p("<rect x=\"0\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"#fafbfc\"/>", y0, W, rowH)
		}
		h.p("<text x=\"8\" y=\"%.0f\" font-weight=\"700\" fill=\"#1d2433\" font-family=\"ui-monospace,Menlo,Consolas,monospace\" font-size=\"12\">%s</text>", mid-3, esc(t.IP))
		sub := l.side
		if cur != 0 {
			sub += " (" + signedDur(float64(cur)/1e6) + ")"
		}
		if t.VLAN != "" {
			sub += " · vlan " + t.VLAN
		}
		h.p("<text x=\"8\" y=\"%.0f\" fill=\"#5b6578\">%s</text>\n", mid+12, esc(sub))
		// Outages.
		for _, ep := range t.Episodes {
			end := ep.End.Add(time.Duration(r.Settings.ReplyTimeoutMS) * time.Millisecond)
			if ep.RecoveredAt != nil {
				end = ep.RecoveredAt.Time
			} else if sr := h.side(l.side); sr != nil && sr.Last.After(end) {
				end = sr.Last
			}
			x1, x2 := x(ep.Start), x(end)
			h.p("<rect x=\"%.1f\" y=\"%.0f\" width=\"%.1f\" height=\"%.0f\" fill=\"#f7d4d2\" opacity=\"0.8\"><title>%d unanswered %s–%s</title></rect>\n",
				x1, y0+3, max(x2-x1, 2), rowH-6, ep.Count, ep.Start.Format("15:04:05.000"), ep.End.Format("15:04:05.000"))
		}
		h.p("<line x1=\"%.0f\" x2=\"%.0f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#c5cbd6\"/>", left, right, mid, mid)
		// Bars, square-root scaled to the busiest bucket of the lane.
		var peak uint32 = 1
		for _, b := range t.timeline.buckets {
			peak = max(peak, b.n[tlRequest], b.n[tlReply])
		}
		half := rowH/2 - 6
		scale := func(n uint32) float64 {
			if n == 0 {
				return 0
			}
			return max(2, half*sqrtRatio(n, peak))
		}
		bw := max(1.5, (right-left)*float64(t.timeline.width)/float64(hi.Sub(lo))*0.8)
		for _, b := range t.timeline.buckets {
			bt := time.Unix(0, t.origin+b.idx*t.timeline.width).UTC()
			xx := x(bt)
			if rq := scale(b.n[tlRequest]); rq > 0 {
				h.p("<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#7b8aa3\"><title>%s: %d requests</title></rect>", xx, mid-rq, bw, rq, bt.Format("15:04:05"), b.n[tlRequest])
			}
			if un := scale(b.n[tlUnanswered]); un > 0 {
				un = min(un, max(scale(b.n[tlRequest]), 2))
				h.p("<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#d2362f\"><title>%s: %d unanswered</title></rect>", xx, mid-un, bw, un, bt.Format("15:04:05"), b.n[tlUnanswered])
			}
			if rp := scale(b.n[tlReply]); rp > 0 {
				h.p("<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#2e9d5b\"><title>%s: %d replies</title></rect>", xx, mid, bw, rp, bt.Format("15:04:05"), b.n[tlReply])
			}
			if b.n[tlOther] > 0 {
				h.p("<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"#7a3fb0\"><title>%s: %d probes/announcements</title></circle>", xx+bw/2, y0+7, bt.Format("15:04:05"), b.n[tlOther])
			}
		}
		h.p("\n")
		for _, c := range t.MACChanges {
			xx := x(c.Time)
			h.p("<path d=\"M%.1f %.1f l4 6 l-4 6 l-4 -6 z\" fill=\"#7a3fb0\"><title>%s: %s → %s (%s, frame %d)</title></path>", xx, y0+rowH-15, c.Time.Format("15:04:05.000"), c.From, c.To, esc(c.Via), c.Frame)
		}
		// State labels go on the bottom edge of the row, or the top edge
		// when the bottom one would overlap the previous label.
		var endBottom, endTop float64
		for _, n := range r.Neighbor {
			if n.IP != t.IP || (n.Side != "" && n.Side != l.side) {
				continue
			}
			xx := x(n.Time)
			h.p("<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.0f\" y2=\"%.0f\" stroke=\"#c77800\" stroke-width=\"1.5\"><title>%s %s</title></line>",
				xx, xx, y0+4, y0+rowH-4, n.Time.Format("15:04:05.000"), esc(n.State))
			w := 6*float64(len(n.State)) + 8
			ly := y0 + rowH - 5
			switch {
			case xx+3 >= endBottom:
				endBottom = xx + 3 + w
			case xx+3 >= endTop:
				endTop = xx + 3 + w
				ly = y0 + 12
			default:
				continue // no room: the line and its tooltip remain
			}
			h.p("<rect x=\"%.1f\" y=\"%.0f\" width=\"%.0f\" height=\"12\" rx=\"2\" fill=\"#fff\" opacity=\"0.85\"/><text x=\"%.1f\" y=\"%.0f\" fill=\"#9a5d00\" font-size=\"10\" font-weight=\"600\">%s</text>",
				xx+2, ly-9, w-4, xx+4, ly, esc(n.State))
		}
		h.p("\n")
	}
	cur = 0
	if r.Trigger != nil {
		xx := x(r.Trigger.Time)
		h.p("<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.0f\" y2=\"%.0f\" stroke=\"#1d2433\" stroke-width=\"2\" stroke-dasharray=\"5 3\"/>", xx, xx, top-4, H-4)
		anchor, tx := "end", xx-4
		if xx < left+120 {
			anchor, tx = "start", xx+4
		}
		h.p("<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"%s\" font-weight=\"700\" fill=\"#1d2433\">trigger %s</text>\n", tx, top-2, anchor, r.Trigger.Time.Format("15:04:05"))
	}
	h.p("</svg>")
	if len(shift) > 0 {
		h.p("<div class=\"side\">Rows from other captures are shifted onto %s's clock by the estimated offset shown next to their name.</div>", esc(r.Sides[0].Name))
	}
	h.p("</div>\n")
}

func (h *htmlWriter) side(name string) *SideReport {
	for i := range h.r.Sides {
		if h.r.Sides[i].Name == name {
			return &h.r.Sides[i]
		}
	}
	return nil
}

func sqrtRatio(n, peak uint32) float64 {
	return math.Sqrt(float64(n) / float64(peak))
}

func tickStep(span time.Duration) time.Duration {
	steps := []time.Duration{100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond,
		time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second, 30 * time.Second,
		time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
		time.Hour, 2 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour}
	for _, s := range steps {
		if span/s <= 10 {
			return s
		}
	}
	return 24 * time.Hour
}
