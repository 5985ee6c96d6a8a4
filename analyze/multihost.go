package analyze

import (
	"archive/zip"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/arpbox/arpbox/bundle"
)

// Multi-host analysis: the bundles of one incident from several hosts.
//
// arpbox peers freeze the same incident on every host (package peer), and
// each bundle's manifest names the incident (trigger.incident). Given
// directories of bundles, or several bundles, AnalyzeIncident picks the
// bundles of one incident, lines their captures up by the clock offsets
// recorded when the peers were asked (the initiator's two-way estimate per
// peer, else the peer's one-way bound), analyzes them as one side per host
// and says, for each failing exchange, which direction failed: requests
// that left one host and never reached the other, or replies that did.

// Incident is the multi-host part of a report.
type Incident struct {
	ID        string         `json:"id"`
	Initiator string         `json:"initiator,omitempty"` // host that declared it; empty if its bundle is not among the inputs
	Hosts     []IncidentHost `json:"hosts"`
	// Peers the initiator asked but whose bundle is not among the inputs.
	Absent []IncidentAbsent `json:"absent,omitempty"`
	// Directions names every failing direction, most failures first.
	Directions []Direction `json:"directions,omitempty"`
}

// IncidentHost is one host's bundle of the incident.
type IncidentHost struct {
	Host   string `json:"host"`
	Bundle string `json:"bundle"`
	Path   string `json:"path"`
	// OffsetMS is this host's clock minus the initiator's (0 for the
	// initiator); nil when nothing was recorded.
	OffsetMS    *float64      `json:"clock_offset_ms,omitempty"`
	OffsetBasis string        `json:"clock_offset_basis"`
	Window      bundle.Window `json:"window"` // requested, on this host's clock
}

// IncidentAbsent is a peer of the initiator whose bundle is missing.
type IncidentAbsent struct {
	Name  string `json:"name"`
	Host  string `json:"host,omitempty"`
	State string `json:"state"` // bundle.PeerOK (its bundle was not given), PeerPending, PeerMissing
	Error string `json:"error,omitempty"`
}

// Direction is one failing direction between two hosts.
type Direction struct {
	From   string `json:"from"` // host: what left From never reached To, or From sent no reply
	To     string `json:"to"`
	What   string `json:"what"` // "requests", "replies" or "no reply"
	Asker  string `json:"asker"`
	Target string `json:"target"`
	Count  uint64 `json:"count"`
	Text   string `json:"text"` // the sentence
}

// incidentBundle is one bundle found among the inputs.
type incidentBundle struct {
	path string
	m    *bundle.Manifest
}

// ErrNoIncidentBundle: no input is a bundle of the incident asked for.
var ErrNoIncidentBundle = errors.New("no bundle of this incident among the inputs")

// maxIncidentBundles bounds how many bundles are looked at.
const maxIncidentBundles = 10000

// AnalyzeIncident is Analyze for the bundles of one incident. When a path
// is a directory of bundles (zips or bundle directories, also one level of
// per-host subdirectories), or every path is a bundle and they share one
// incident id, the bundles of incident id (empty: the only incident there
// is) are analyzed as one side per host, lined up by their recorded clock
// offsets, and Report.Incident says what each host holds and which
// direction failed. Otherwise it is Analyze.
func AnalyzeIncident(ctx context.Context, paths []string, id string, opts Options) (*Report, error) {
	bs, dirOfBundles, err := findBundles(paths)
	if err != nil {
		return nil, err
	}
	if !dirOfBundles && (len(bs) != len(paths) || len(bs) < 2 || sharedIncident(bs) == "") && id == "" {
		return Analyze(ctx, paths, opts)
	}
	inc, sel, err := pickIncident(bs, id)
	if err != nil {
		return nil, err
	}
	if len(sel) == 1 && len(inc.Absent) == 0 && inc.Initiator != "" {
		return Analyze(ctx, []string{sel[0].path}, opts) // a host without peers: just its bundle
	}
	var ps []string
	opts.clock = make([]*int64, len(sel))
	for i, b := range sel {
		ps = append(ps, b.path)
		if h := inc.Hosts[i]; h.OffsetMS != nil {
			ns := int64(*h.OffsetMS * 1e6)
			opts.clock[i] = &ns
		}
	}
	rep, err := Analyze(ctx, ps, opts)
	if err != nil {
		return nil, err
	}
	inc.Directions = directions(rep.TwoSided)
	rep.Incident = inc
	return rep, nil
}

// findBundles reads the manifests of the bundles among paths; dirOfBundles
// reports whether a path was a directory holding bundles.
func findBundles(paths []string) (bs []incidentBundle, dirOfBundles bool, err error) {
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, false, fmt.Errorf("input %s: %w", p, err)
		}
		if !st.IsDir() || isBundleDir(p) {
			if m, err := readBundleManifest(p, st.IsDir()); err == nil {
				bs = append(bs, incidentBundle{p, m})
			}
			continue
		}
		found := scanBundles(p, 2)
		if len(found) > 0 {
			dirOfBundles = true
		}
		bs = append(bs, found...)
		if len(bs) > maxIncidentBundles {
			return nil, false, fmt.Errorf("more than %d bundles under the inputs: name the incident's bundles", maxIncidentBundles)
		}
	}
	return bs, dirOfBundles, nil
}

func isBundleDir(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, bundle.FileManifest))
	return err == nil
}

// scanBundles finds bundles (zips, bundle directories) in dir and, depth
// allowing, in its subdirectories; a bundle directory with its zip beside
// it counts once.
func scanBundles(dir string, depth int) []incidentBundle {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []incidentBundle
	for _, e := range ents {
		n := e.Name()
		if strings.HasPrefix(n, ".") {
			continue
		}
		p := filepath.Join(dir, n)
		switch {
		case e.IsDir() && isBundleDir(p):
			if _, err := os.Stat(p + bundle.ZipExt); err == nil {
				continue // its zip is read instead
			}
			if m, err := readBundleManifest(p, true); err == nil {
				out = append(out, incidentBundle{p, m})
			}
		case e.IsDir() && depth > 1:
			out = append(out, scanBundles(p, depth-1)...)
		case e.Type().IsRegular() && strings.EqualFold(filepath.Ext(n), bundle.ZipExt):
			if m, err := readBundleManifest(p, false); err == nil {
				out = append(out, incidentBundle{p, m})
			}
		}
	}
	return out
}

// readBundleManifest reads manifest.json from a bundle directory or zip.
func readBundleManifest(path string, isDir bool) (*bundle.Manifest, error) {
	if isDir {
		return bundle.ReadManifestDir(path)
	}
	zr, err := zip.OpenReader(path)
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	for _, f := range zr.File {
		if pathBase(f.Name) == bundle.FileManifest {
			return readWith(func(string) (io.ReadCloser, error) { return f.Open() }, f.Name, bundle.ReadManifest)
		}
	}
	return nil, fmt.Errorf("%s: no %s", path, bundle.FileManifest)
}

// sharedIncident is the incident id all of bs carry, or "".
func sharedIncident(bs []incidentBundle) string {
	id := bs[0].m.Trigger.Incident
	for _, b := range bs {
		if b.m.Trigger.Incident != id {
			return ""
		}
	}
	return id
}

// pickIncident selects the bundles of incident id (or of the only one),
// one per host, and works out each host's clock offset.
func pickIncident(bs []incidentBundle, id string) (*Incident, []incidentBundle, error) {
	byID := map[string][]incidentBundle{}
	for _, b := range bs {
		if b.m.Trigger.Incident != "" {
			byID[b.m.Trigger.Incident] = append(byID[b.m.Trigger.Incident], b)
		}
	}
	if id == "" {
		switch len(byID) {
		case 0:
			return nil, nil, errors.New("no bundle among the inputs names an incident (bundles of arpbox before peers did not)")
		case 1:
			for k := range byID {
				id = k
			}
		default:
			var list []string
			for _, k := range slices.Sorted(maps.Keys(byID)) {
				list = append(list, fmt.Sprintf("%s (%d bundles)", k, len(byID[k])))
			}
			return nil, nil, fmt.Errorf("the inputs hold %d incidents: choose one with -incident: %s", len(byID), strings.Join(list, ", "))
		}
	}
	sel := byID[id]
	if len(sel) == 0 {
		return nil, nil, fmt.Errorf("incident %s: %w", id, ErrNoIncidentBundle)
	}
	// The initiator first, then the peers by host; one bundle per host.
	slices.SortStableFunc(sel, func(a, b incidentBundle) int {
		ai, bi := a.m.Trigger.Origin == nil, b.m.Trigger.Origin == nil
		if ai != bi {
			if ai {
				return -1
			}
			return 1
		}
		return cmp.Compare(a.m.Host, b.m.Host)
	})
	sel = slices.CompactFunc(sel, func(a, b incidentBundle) bool { return a.m.Host == b.m.Host && a.m.ID == b.m.ID })

	inc := &Incident{ID: id}
	var init *bundle.Manifest
	if sel[0].m.Trigger.Origin == nil {
		init = sel[0].m
		inc.Initiator = init.Host
	}
	have := map[string]bool{}
	for _, b := range sel {
		m := b.m
		have[m.Host] = true
		h := IncidentHost{Host: m.Host, Bundle: m.ID, Path: b.path, Window: m.Window.Requested}
		switch {
		case m == init:
			zero := 0.0
			h.OffsetMS, h.OffsetBasis = &zero, "the initiator: the reference clock"
		case init != nil && peerOffset(init, m.Host) != nil:
			p := peerOffset(init, m.Host)
			h.OffsetMS = p.OffsetMS
			h.OffsetBasis = fmt.Sprintf("measured by %s when it asked (request and reply times, ±%.1f ms)", init.Host, *p.RTTMS/2)
		case m.Trigger.Origin != nil:
			b := m.Trigger.Origin.OffsetBoundMS
			h.OffsetMS = &b
			h.OffsetBasis = fmt.Sprintf("%s's send time against this host's receive time (an upper bound: includes the request's transit)", m.Trigger.Origin.Host)
		default:
			h.OffsetBasis = "not recorded: this bundle was not asked for by a peer"
		}
		inc.Hosts = append(inc.Hosts, h)
	}
	if init != nil {
		for _, p := range init.Peers {
			if p.Host != "" && have[p.Host] {
				continue
			}
			inc.Absent = append(inc.Absent, IncidentAbsent{Name: p.Name, Host: p.Host, State: p.State, Error: p.Error})
		}
	}
	return inc, sel, nil
}

func peerOffset(init *bundle.Manifest, host string) *bundle.ManifestPeer {
	for i, p := range init.Peers {
		if p.Host == host && p.State == bundle.PeerOK && p.OffsetMS != nil && p.RTTMS != nil {
			return &init.Peers[i]
		}
	}
	return nil
}

// directions turns the two-sided failures into failing directions.
func directions(prs []PairReport) []Direction {
	var out []Direction
	for _, pr := range prs {
		for _, x := range pr.Exchanges {
			d := Direction{Asker: x.Asker, Target: x.Target, Count: x.Count}
			switch x.Class {
			case NeverArrived:
				d.From, d.To, d.What = x.AskerSide, x.OtherSide, "requests"
				d.Text = fmt.Sprintf("%s → %s: %d requests from %s for %s left %s and never arrived at %s",
					d.From, d.To, x.Count, x.Asker, x.Target, d.From, d.To)
			case ReplyLost:
				d.From, d.To, d.What = x.OtherSide, x.AskerSide, "replies"
				d.Text = fmt.Sprintf("%s → %s: replies from %s to %s left %s and never arrived at %s (%d requests unanswered there)",
					d.From, d.To, x.Target, x.Asker, d.From, d.To, x.Count)
			case NoReplySent:
				d.From, d.To, d.What = x.OtherSide, x.AskerSide, "no reply"
				d.Text = fmt.Sprintf("%s → %s: %d requests from %s for %s arrived at %s, which sent no reply",
					d.From, d.To, x.Count, x.Asker, x.Target, d.From)
			default:
				continue
			}
			out = append(out, d)
		}
	}
	slices.SortStableFunc(out, func(a, b Direction) int { return cmp.Compare(b.Count, a.Count) })
	return out
}

// writeIncidentText writes the INCIDENT section of the text report.
func (r *Report) writeIncidentText(p func(format string, a ...any)) {
	inc := r.Incident
	if inc == nil {
		return
	}
	p("INCIDENT %s", inc.ID)
	if inc.Initiator != "" {
		p(", declared on %s", inc.Initiator)
	}
	p("\n")
	for _, h := range inc.Hosts {
		p("  %s: bundle %s, window %s – %s", h.Host, h.Bundle, h.Window.From.UTC().Format("2006-01-02 15:04:05"), h.Window.To.UTC().Format("15:04:05"))
		if h.OffsetMS != nil {
			p(", clock %s", signedDur(*h.OffsetMS))
		}
		p("\n    clock offset: %s\n", h.OffsetBasis)
	}
	for _, a := range inc.Absent {
		who := a.Name
		if a.Host != "" {
			who += " (" + a.Host + ")"
		}
		switch a.State {
		case bundle.PeerOK:
			p("  %s: froze the incident, but its bundle is not among the inputs\n", who)
		case bundle.PeerPending:
			p("  %s: still being asked when %s wrote its bundle; look for its bundle of this incident (last error: %s)\n", who, inc.Initiator, a.Error)
		default:
			p("  %s: missing: %s\n", who, a.Error)
		}
	}
	if len(inc.Hosts) < 2 {
		p("  Only this host's bundle is among the inputs: no direction between hosts to check.\n\n")
		return
	}
	if len(inc.Directions) == 0 {
		p("  No direction failed between these hosts.\n\n")
		return
	}
	p("  Failing directions:\n")
	for _, d := range inc.Directions {
		p("    %s\n", d.Text)
	}
	p("\n")
}

// clockOf returns the recorded offset between inputs i and j (j's clock
// minus i's), when both were recorded.
func (o *Options) clockOf(i, j int) *int64 {
	if i >= len(o.clock) || j >= len(o.clock) || o.clock[i] == nil || o.clock[j] == nil {
		return nil
	}
	d := *o.clock[j] - *o.clock[i]
	return &d
}

// incident writes the INCIDENT section of the HTML report: the hosts, their
// bundles and clock offsets, the peers whose bundles are absent, and the
// failing directions.
func (h *htmlWriter) incident() {
	inc := h.r.Incident
	if inc == nil {
		return
	}
	h.p("<h2>Incident %s</h2>\n", esc(inc.ID))
	if inc.Initiator != "" {
		h.p("<p>Declared on <b>%s</b>; every host below froze the same window (on its own clock).</p>\n", esc(inc.Initiator))
	}
	switch {
	case len(inc.Hosts) < 2:
		h.p("<p>Only this host's bundle is among the inputs: no direction between hosts to check.</p>\n")
	case len(inc.Directions) == 0:
		h.p("<section class=\"verdict ok\"><div class=\"label\">Failing directions</div>No direction failed between these hosts.</section>\n")
	default:
		h.p("<section class=\"verdict\"><div class=\"label\">Failing directions</div>")
		for i, d := range inc.Directions {
			if i > 0 {
				h.p("<br>")
			}
			h.p("%s", esc(d.Text))
		}
		h.p("</section>\n")
	}
	h.p("<table><tr><th>Host</th><th>Bundle</th><th>Window (UTC, its clock)</th><th>Clock offset</th><th>How it is known</th></tr>\n")
	for _, x := range inc.Hosts {
		off := "–"
		if x.OffsetMS != nil {
			off = signedDur(*x.OffsetMS)
		}
		h.p("<tr><td><b>%s</b></td><td class=\"mono\">%s</td><td>%s – %s</td><td class=\"n\">%s</td><td>%s</td></tr>\n",
			esc(x.Host), esc(x.Bundle), esc(x.Window.From.UTC().Format("2006-01-02 15:04:05")), esc(x.Window.To.UTC().Format("15:04:05")), esc(off), esc(x.OffsetBasis))
	}
	for _, a := range inc.Absent {
		who := a.Name
		if a.Host != "" {
			who += " (" + a.Host + ")"
		}
		var why string
		switch a.State {
		case bundle.PeerOK:
			why = "froze the incident, but its bundle is not among the inputs"
		case bundle.PeerPending:
			why = "still being asked when " + inc.Initiator + " wrote its bundle; look for its bundle of this incident (last error: " + a.Error + ")"
		default:
			why = "missing: " + a.Error
		}
		h.p("<tr><td class=\"bad\">%s</td><td colspan=\"4\">%s</td></tr>\n", esc(who), esc(why))
	}
	h.p("</table>\n")
}
