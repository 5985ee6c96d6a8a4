package snapshot

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/arpbox/arpbox/bundle"
)

// The bundle files this package names most, short.
const (
	captureName  = bundle.FileCapture
	manifestName = bundle.FileManifest
	readmeName   = bundle.FileReadme
)

// hashFiles lists the regular files of dir except the manifest, with sizes and SHA-256.
func hashFiles(dir string) ([]bundle.ManifestFile, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []bundle.ManifestFile
	for _, e := range ents {
		if !e.Type().IsRegular() || e.Name() == manifestName {
			continue
		}
		// opened for writing only so that Sync works everywhere (Windows
		// cannot flush a read-only handle)
		f, err := os.OpenFile(filepath.Join(dir, e.Name()), os.O_RDWR, 0)
		if err != nil {
			return nil, err
		}
		h := sha256.New()
		n, err := io.Copy(h, f)
		if err == nil {
			err = f.Sync() // collectors' files too are durable before the rename
		}
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("hash %s: %w", e.Name(), err)
		}
		out = append(out, bundle.ManifestFile{Name: e.Name(), Size: n, SHA256: hex.EncodeToString(h.Sum(nil))})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// listFiles lists the regular files of dir with their sizes (no hashes).
func listFiles(dir string) ([]bundle.ManifestFile, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []bundle.ManifestFile
	for _, e := range ents {
		if fi, err := e.Info(); err == nil && fi.Mode().IsRegular() {
			out = append(out, bundle.ManifestFile{Name: e.Name(), Size: fi.Size()})
		}
	}
	return out, nil
}

func timePtr(t time.Time) *time.Time { return &t }

func u64Ptr(v uint64) *uint64 { return &v }
