package snapshot

import (
	"archive/zip"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/arpbox/arpbox/bundle"
)

// isID reports whether name is a published bundle id: 20261126T012633Z-<trigger>[-n].
func isID(name string) bool {
	if len(name) < 18 || name[8] != 'T' || name[15] != 'Z' || name[16] != '-' {
		return false
	}
	for i, r := range name {
		switch {
		case i < 15 && i != 8:
			if r < '0' || r > '9' {
				return false
			}
		case i >= 17:
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
				return false
			}
		}
	}
	return true
}

// Info describes one published bundle, for `arpbox snapshots`.
type Info struct {
	ID      string
	Time    time.Time // T, the trigger time
	Trigger string
	Check   string
	Reason  string
	Packets uint64
	Size    int64  // bytes on disk: directory plus zip
	Path    string // bundle directory, or the zip if only the zip is left
	Zip     string // "" if there is no zip
	Err     string // why the manifest could not be read, if it could not
}

// List returns the bundles published in dir, oldest first. A missing dir is
// an empty list.
func List(dir string) ([]Info, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("list snapshots in %s: %w", dir, err)
	}
	byID := map[string]*Info{}
	get := func(id string) *Info {
		if in, ok := byID[id]; ok {
			return in
		}
		in := &Info{ID: id}
		byID[id] = in
		return in
	}
	for _, e := range ents {
		name := e.Name()
		switch {
		case e.IsDir() && isID(name):
			in := get(name)
			in.Path = filepath.Join(dir, name)
			in.Size += dirSize(in.Path)
		case e.Type().IsRegular() && strings.HasSuffix(name, bundle.ZipExt) && isID(strings.TrimSuffix(name, bundle.ZipExt)):
			in := get(strings.TrimSuffix(name, bundle.ZipExt))
			in.Zip = filepath.Join(dir, name)
			if fi, err := e.Info(); err == nil {
				in.Size += fi.Size()
			}
		}
	}
	var out []Info
	for _, in := range byID {
		if in.Path == "" {
			in.Path = in.Zip
		}
		m, err := readAnyManifest(*in)
		if err != nil {
			in.Err = err.Error()
		} else {
			in.Time, in.Trigger, in.Check, in.Reason, in.Packets = m.Trigger.Time, m.Trigger.Trigger, m.Trigger.Check, m.Trigger.Reason, m.Capture.Packets
		}
		out = append(out, *in)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// readAnyManifest reads the manifest from the bundle dir, or from the zip.
func readAnyManifest(in Info) (*bundle.Manifest, error) {
	if in.Path != in.Zip {
		return bundle.ReadManifestDir(in.Path)
	}
	zr, err := zip.OpenReader(in.Zip)
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	f, err := zr.Open(in.ID + "/" + manifestName)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m, err := bundle.ReadManifest(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", in.Zip, err)
	}
	return m, nil
}

func dirSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// retain prunes the oldest bundles (dir and zip together), and the kept
// windows of failed snapshots, until at most max_count remain and they take
// at most max_size. The bundle just written (keep) is never pruned, even if
// it alone exceeds max_size.
func (s *Snapshotter) retain(log *slog.Logger, keep string) {
	cfg := s.current().cfg
	infos, err := List(s.cfg.Dir)
	if err != nil {
		log.Warn("snapshot retention: cannot list bundles", "err", err)
		return
	}
	infos = append(infos, failedDirs(s.cfg.Dir)...)
	sort.SliceStable(infos, func(i, j int) bool { return infos[i].ID < infos[j].ID })
	var total int64
	for _, in := range infos {
		total += in.Size
	}
	count := len(infos)
	infos, held := s.pinnedLast(infos)
	for _, in := range infos {
		if count <= cfg.MaxCount && total <= cfg.MaxSize {
			break
		}
		if in.ID == keep || held[in.ID] && total <= cfg.MaxSize {
			continue
		}
		if held[in.ID] {
			log.Warn("snapshot retention: max_size forces removing a bundle not yet uploaded", "bundle", in.ID, "max_size", cfg.MaxSize)
		}
		var rmErr error
		if in.Path != "" && in.Path != in.Zip {
			rmErr = os.RemoveAll(in.Path)
		}
		if in.Zip != "" {
			if err := os.Remove(in.Zip); err != nil && rmErr == nil {
				rmErr = err
			}
		}
		if rmErr != nil {
			log.Warn("snapshot retention: cannot remove bundle", "bundle", in.ID, "err", rmErr)
			continue
		}
		count--
		total -= in.Size
		log.Info("snapshot retention: removed old bundle", "bundle", in.ID, "bytes", in.Size,
			"max_count", cfg.MaxCount, "max_size", cfg.MaxSize)
	}
	if total > cfg.MaxSize {
		log.Warn("snapshot retention: the newest bundle alone exceeds max_size; kept", "bundle", keep, "bytes", total, "max_size", cfg.MaxSize)
	}
}
