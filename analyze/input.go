package analyze

import (
	"archive/zip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/arpbox/arpbox/bundle"
)

// An input is one side of the analysis: everything captured at one place.
// Each path given to Analyze is one input:
//   - a pcap or pcapng file;
//   - a bundle directory (capture.pcapng.gz, or capture.pcapng in bundles
//     before it was compressed, and optionally manifest.json for the host
//     name and trigger, journal.json for neighbor-state changes; see
//     package bundle);
//   - a zip of such a bundle (read in place, streamed);
//   - a ring directory: arp-*.pcapng and arp-*.pcapng.part segments, or any
//     *.pcap/*.pcapng files, read in name order as one continuous capture.
type input struct {
	name     string // side label: host name from the manifest, else base name
	path     string
	sources  []source
	trigger  *Mark
	neighbor []NeighborEvent
	closers  []io.Closer // a zip opened once for all its entries
	// From a bundle's netstate.json: the default gateways and the host's
	// IPv4 subnets.
	gateways []netip.Addr
	prefixes []netip.Prefix
}

type source struct {
	name  string // shown in evidence, e.g. "capture.pcapng"
	where string // in errors: the file's path, or zip path and entry
	size  int64
	open  func() (io.ReadCloser, error)
}

// close closes what the input keeps open.
func (in *input) close() {
	for _, c := range in.closers {
		c.Close()
	}
	in.closers = nil
}

// errNotRegular refuses FIFOs, devices and sockets: reading one could
// block forever or never end.
var errNotRegular = errors.New("not a regular file or directory (a FIFO, device or socket is not read)")

// openRegular opens path if it is a regular file (symbolic links followed).
func openRegular(path string) (*os.File, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: %w", path, errNotRegular)
	}
	return os.Open(path)
}

func openInput(path string) (*input, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	in := &input{path: cleanText(path), name: sideName(path)}
	if st.IsDir() {
		return in, in.fromDir(path)
	}
	if !st.Mode().IsRegular() {
		return nil, errNotRegular
	}
	if strings.EqualFold(filepath.Ext(path), ".zip") || isZip(path) {
		return in, in.fromZip(path)
	}
	in.sources = []source{fileSource(path, filepath.Base(path), st.Size())}
	in.sources[0].where = path
	return in, nil
}

func sideName(path string) string {
	b := filepath.Base(filepath.Clean(path))
	for _, ext := range []string{".zip", ".gz", ".part", ".pcapng", ".pcap", ".cap"} {
		b = strings.TrimSuffix(b, ext)
	}
	return cleanText(b)
}

func isZip(path string) bool {
	f, err := openRegular(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var m [4]byte
	_, err = io.ReadFull(f, m[:])
	return err == nil && string(m[:]) == "PK\x03\x04"
}

func fileSource(path, name string, size int64) source {
	return source{name: name, where: path, size: size, open: func() (io.ReadCloser, error) { return openRegular(path) }}
}

// bundleCapture returns the bundle's capture among names: capture.pcapng.gz
// (bundles since the capture is stored compressed) or capture.pcapng.
func bundleCapture(names []string) (string, bool) {
	for _, n := range []string{bundle.FileCapture, bundle.FileCapturePlain} {
		if slices.Contains(names, n) {
			return n, true
		}
	}
	return "", false
}

func (in *input) fromDir(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		if e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	if name, ok := bundleCapture(names); ok {
		p := filepath.Join(dir, name)
		st, err := os.Stat(p)
		if err != nil {
			return err
		}
		in.sources = []source{fileSource(p, cleanText(name), st.Size())}
		in.readMeta(func(name string) (io.ReadCloser, error) { return openRegular(filepath.Join(dir, name)) })
		return nil
	}
	for _, n := range names {
		if !isCaptureName(n) {
			continue
		}
		p := filepath.Join(dir, n)
		st, err := os.Stat(p)
		if err != nil {
			continue // a segment removed by retention while we list
		}
		in.sources = append(in.sources, fileSource(p, cleanText(n), st.Size()))
	}
	if len(in.sources) == 0 {
		return fmt.Errorf("%s: no capture.pcapng, arp-*.pcapng or *.pcap files", dir)
	}
	return nil
}

func isCaptureName(n string) bool {
	n = strings.TrimSuffix(strings.TrimSuffix(n, ".gz"), ".part")
	return strings.HasSuffix(n, ".pcapng") || strings.HasSuffix(n, ".pcap") || strings.HasSuffix(n, ".cap")
}

// fromZip reads the zip's central directory once: the capture entries and
// the bundle files are found in one pass over it, and the entries are read
// through the one open zip.
func (in *input) fromZip(path string) error {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return err
	}
	in.closers = append(in.closers, zr)
	var caps, gzCaps, all []*zip.File
	meta := map[string]*zip.File{}
	for _, f := range zr.File {
		base := pathBase(f.Name)
		switch {
		case base == bundle.FileCapture:
			gzCaps = append(gzCaps, f)
		case base == bundle.FileCapturePlain:
			caps = append(caps, f)
		case isCaptureName(base):
			all = append(all, f)
		case base == bundle.FileManifest || base == bundle.FileJournalJSON || base == bundle.FileNetstateJSON:
			if _, ok := meta[base]; !ok {
				meta[base] = f
			}
		}
	}
	if len(gzCaps) > 0 {
		caps = gzCaps
	}
	if len(caps) == 0 {
		caps = all
	}
	if len(caps) == 0 {
		return fmt.Errorf("%s: zip holds no capture.pcapng or other capture file", path)
	}
	slices.SortFunc(caps, func(a, b *zip.File) int { return strings.Compare(a.Name, b.Name) })
	for _, f := range caps {
		in.sources = append(in.sources, source{
			name:  cleanText(pathBase(f.Name)),
			where: path + ": " + f.Name,
			size:  int64(min(f.UncompressedSize64, 1<<62)),
			open:  f.Open,
		})
	}
	in.readMeta(func(name string) (io.ReadCloser, error) {
		if f, ok := meta[name]; ok {
			return f.Open()
		}
		return nil, fs.ErrNotExist
	})
	return nil
}

func pathBase(name string) string {
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		return name[i+1:]
	}
	return name
}

// readMeta reads the optional bundle files (their format is package
// bundle's): the manifest's host names the side and its trigger event is
// marked on the timeline, and so are the journal's neighbor state changes.
// A file that is missing, unreadable or of a newer format is left out,
// because a report without metadata is still a report.
func (in *input) readMeta(open func(name string) (io.ReadCloser, error)) {
	if m, err := readWith(open, bundle.FileManifest, bundle.ReadManifest); err == nil {
		if m.Host != "" {
			in.name = cleanText(m.Host)
		}
		if ev := m.Trigger; !ev.Time.IsZero() {
			label := ev.Trigger
			if ev.Check != "" {
				label = strings.TrimSpace(label + " (" + strings.TrimSpace(ev.Check+" "+ev.Target) + ")")
			}
			if ev.Reason != "" {
				label += ": " + ev.Reason
			}
			in.trigger = cleanMark(&Mark{Time: ev.Time.UTC(), Label: strings.TrimSpace(label), Check: ev.Check, Target: ev.Target})
			end := m.Window.Requested.To
			if m.Window.EndedEarly != nil && (end.IsZero() || m.Window.EndedEarly.Before(end)) {
				end = *m.Window.EndedEarly
			}
			if !end.IsZero() {
				in.trigger.WindowEnd = end.UTC()
			}
		}
	}
	if j, err := readWith(open, bundle.FileJournalJSON, bundle.ReadJournal); err == nil {
		in.neighbor = neighborEvents(j, in.name)
	}
	if ns, err := readWith(open, bundle.FileNetstateJSON, readNetstate); err == nil {
		for _, r := range ns.Routes {
			if r.Default && r.Gateway.Is4() && !slices.Contains(in.gateways, r.Gateway) && len(in.gateways) < 16 {
				in.gateways = append(in.gateways, r.Gateway)
			}
		}
		for _, a := range ns.Addrs {
			if a.Prefix.Addr().Is4() && !a.Prefix.Addr().IsLoopback() && len(in.prefixes) < 256 {
				in.prefixes = append(in.prefixes, a.Prefix.Masked())
			}
		}
	}
}

// netstateFile is the part of a bundle's netstate.json (package netstate's
// State) the report uses.
type netstateFile struct {
	Addrs []struct {
		Prefix netip.Prefix `json:"prefix"`
	} `json:"addrs"`
	Routes []struct {
		Gateway netip.Addr `json:"gateway"`
		Default bool       `json:"default"`
	} `json:"routes"`
}

// readNetstate reads netstate.json, at most bundle.MaxManifestSize bytes.
func readNetstate(r io.Reader) (*netstateFile, error) {
	b, err := io.ReadAll(io.LimitReader(r, bundle.MaxManifestSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > bundle.MaxManifestSize {
		return nil, bundle.ErrTooLarge
	}
	var ns netstateFile
	if err := json.Unmarshal(b, &ns); err != nil {
		return nil, err
	}
	return &ns, nil
}

// readWith opens name and reads it with read.
func readWith[T any](open func(string) (io.ReadCloser, error), name string, read func(io.Reader) (T, error)) (T, error) {
	rc, err := open(name)
	if err != nil {
		var zero T
		return zero, err
	}
	defer rc.Close()
	return read(rc)
}

// neighborEvents keeps the journal's neighbor state changes (those with an
// address and a state), at most 10000.
func neighborEvents(j []bundle.JournalEntry, side string) []NeighborEvent {
	var out []NeighborEvent
	for _, e := range j {
		if e.Time.IsZero() || !e.IP.IsValid() || e.State == "" {
			continue
		}
		out = append(out, NeighborEvent{Time: e.Time.UTC(), IP: e.IP.String(), State: cleanText(e.State), Side: side})
		if len(out) >= 10000 {
			break
		}
	}
	return out
}

var errNoInputs = errors.New("no input paths")
