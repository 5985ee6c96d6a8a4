package upload

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/arpbox/arpbox/bundle"
)

// maxListed bounds the objects one listing reads.
const maxListed = 100000

// Remote is one bundle in the store.
type Remote struct {
	Host     string    `json:"host"`
	Incident string    `json:"incident"`
	Time     time.Time `json:"time"` // T, from the manifest
	Trigger  string    `json:"trigger"`
	Reason   string    `json:"reason,omitempty"`
	Size     int64     `json:"size"` // the zip's bytes
	Key      string    `json:"key"`  // the zip's object name
	Uploaded time.Time `json:"uploaded"`
	Err      string    `json:"error,omitempty"` // why the manifest could not be read
}

// object is a listed zip and whether its manifest is stored too.
type object struct {
	info     minio.ObjectInfo
	host     string
	incident string
	manifest bool
}

// objects lists the bundle zips below the prefix (<host>/<incident>.zip),
// keeping those for which keep returns true.
func (s *Store) objects(ctx context.Context, keep func(host, incident string) bool) ([]*object, error) {
	pfx := ""
	if s.prefix != "" {
		pfx = s.prefix + "/"
	}
	byKey := map[string]*object{}
	var order []*object
	manifests := map[string]bool{}
	n := 0
	for o := range s.c.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: pfx, Recursive: true}) {
		if o.Err != nil {
			return nil, fmt.Errorf("list %s: %w", s, o.Err)
		}
		if n++; n > maxListed {
			return nil, fmt.Errorf("list %s: more than %d objects: give a longer prefix", s, maxListed)
		}
		host, name, ok := strings.Cut(strings.TrimPrefix(o.Key, pfx), "/")
		if !ok || strings.Contains(name, "/") {
			continue
		}
		if inc, ok := strings.CutSuffix(name, ManifestExt); ok {
			manifests[host+"/"+inc] = true
			continue
		}
		inc, ok := strings.CutSuffix(name, ZipExt)
		if !ok || !bundle.ValidID(inc) || (keep != nil && !keep(host, inc)) {
			continue
		}
		obj := &object{info: o, host: host, incident: inc}
		byKey[host+"/"+inc] = obj
		order = append(order, obj)
	}
	for k, obj := range byKey {
		obj.manifest = manifests[k]
	}
	sort.Slice(order, func(i, j int) bool {
		if order[i].incident != order[j].incident {
			return order[i].incident < order[j].incident
		}
		return order[i].host < order[j].host
	})
	return order, nil
}

// List returns the bundles in the store, by incident (oldest first) and
// host, with what their manifests say.
func (s *Store) List(ctx context.Context) ([]Remote, error) {
	objs, err := s.objects(ctx, nil)
	if err != nil {
		return nil, err
	}
	out := make([]Remote, 0, len(objs))
	for _, o := range objs {
		r := Remote{Host: o.host, Incident: o.incident, Size: o.info.Size, Key: o.info.Key, Uploaded: o.info.LastModified}
		if !o.manifest {
			r.Err = "no manifest object (its upload did not finish)"
		} else if m, err := s.manifest(ctx, path.Join(path.Dir(o.info.Key), o.incident+ManifestExt)); err != nil {
			r.Err = err.Error()
		} else {
			r.Time, r.Trigger, r.Reason = m.Trigger.Time, m.Trigger.Trigger, m.Trigger.Reason
			if m.Host != "" {
				r.Host = m.Host
			}
		}
		out = append(out, r)
	}
	return out, nil
}

// manifest reads one manifest object.
func (s *Store) manifest(ctx context.Context, key string) (*bundle.Manifest, error) {
	obj, err := s.c.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	defer obj.Close()
	m, err := bundle.ReadManifest(obj)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	return m, nil
}

// ErrNoIncident: the store holds no bundle of the incident.
var ErrNoIncident = errors.New("no bundle of this incident in the store")

// Fetch downloads every host's bundle zip of one incident into dir, as
// <host>-<incident>.zip, checks each against the SHA-256 the server
// reports for it, and returns their paths in host order.
func (s *Store) Fetch(ctx context.Context, incident, dir string) ([]string, error) {
	if !bundle.ValidID(incident) {
		return nil, fmt.Errorf("%q is not an incident id", incident)
	}
	objs, err := s.objects(ctx, func(_, inc string) bool { return inc == incident })
	if err != nil {
		return nil, err
	}
	if len(objs) == 0 {
		return nil, fmt.Errorf("%s/*/%s%s: %w", s, incident, ZipExt, ErrNoIncident)
	}
	var paths []string
	for _, o := range objs {
		p := filepath.Join(dir, HostDir(o.host)+"-"+incident+ZipExt)
		if err := s.download(ctx, o.info.Key, p); err != nil {
			return nil, err
		}
		paths = append(paths, p)
	}
	return paths, nil
}

// download writes key to file p and checks its SHA-256 against the one the
// server reports (or, failing that, the one in the object's metadata).
func (s *Store) download(ctx context.Context, key, p string) error {
	obj, err := s.c.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{Checksum: true})
	if err != nil {
		return fmt.Errorf("get %s: %w", key, err)
	}
	defer obj.Close()
	st, err := obj.Stat()
	if err != nil {
		return fmt.Errorf("get %s: %w", key, err)
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), obj)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("get %s: %w", key, err)
	}
	sum := h.Sum(nil)
	switch {
	case n != st.Size:
		err = fmt.Errorf("%d bytes, the store says %d", n, st.Size)
	case st.ChecksumSHA256 != "":
		if got := base64.StdEncoding.EncodeToString(sum); got != st.ChecksumSHA256 {
			err = fmt.Errorf("SHA-256 %s, the store says %s", got, st.ChecksumSHA256)
		}
	case st.UserMetadata[MetaSHA256] != "":
		if got := hex.EncodeToString(sum); got != st.UserMetadata[MetaSHA256] {
			err = fmt.Errorf("SHA-256 %s, its metadata says %s", got, st.UserMetadata[MetaSHA256])
		}
	default:
		err = errors.New("the store reports no SHA-256 to check it against")
	}
	if err != nil {
		os.Remove(p)
		return fmt.Errorf("get %s: %w", key, err)
	}
	return nil
}

// ParseURL reads s3://bucket[/prefix]/<incident-id>.
func ParseURL(u string) (bucket, prefix, incident string, err error) {
	rest, ok := strings.CutPrefix(u, "s3://")
	if !ok {
		return "", "", "", fmt.Errorf("%q: want s3://bucket/prefix/<incident-id>", u)
	}
	rest = strings.TrimSuffix(rest, "/")
	bucket, key, _ := strings.Cut(rest, "/")
	if err := checkBucket(bucket); err != nil {
		return "", "", "", fmt.Errorf("%q: bucket: %w", u, err)
	}
	if i := strings.LastIndexByte(key, '/'); i >= 0 {
		prefix, incident = key[:i], key[i+1:]
	} else {
		incident = key
	}
	incident = strings.TrimSuffix(incident, ZipExt)
	if key == "" || !bundle.ValidID(incident) {
		return "", "", "", fmt.Errorf("%q: want s3://bucket/prefix/<incident-id>", u)
	}
	if err := checkPrefix(prefix); err != nil {
		return "", "", "", fmt.Errorf("%q: prefix: %w", u, err)
	}
	return bucket, prefix, incident, nil
}

// IsURL reports whether arg names the store (s3://…).
func IsURL(arg string) bool { return strings.HasPrefix(arg, "s3://") }
