package upload

import (
	"context"
	"os"
)

// Fetched is a list of paths with its s3:// URLs fetched (FetchURLs).
type Fetched struct {
	Paths     []string // the paths in order, each URL replaced by its incident's zips
	Incidents []string // the incident id of each URL, in order
	dirs      []string // the temporary directories holding the zips
}

// Remove removes the downloaded zips and their directories.
func (f *Fetched) Remove() {
	for _, d := range f.dirs {
		os.RemoveAll(d)
	}
	f.dirs = nil
}

// Incident returns the incident id when the paths are one bundle, fetched
// by its URL (one host's bundle of an incident in the store), else "".
// "arpbox report" reports such a bundle as its incident, so that peers
// whose bundles are not in the store are named.
func (f *Fetched) Incident() string {
	if len(f.Incidents) == 1 && len(f.Paths) == 1 {
		return f.Incidents[0]
	}
	return ""
}

// FetchURLs replaces each s3://bucket/prefix/<incident-id> in paths with
// the incident's bundle zips from every host (Store.Fetch), downloaded into
// a temporary directory per URL that Fetched.Remove removes; other paths
// are kept as they are. open is called once, at the first URL, for the
// store whose endpoint and credentials reach the URLs; its error is
// returned as it is. fetched, if not nil, is told of each URL once its zips
// are down. A URL that does not parse, or whose incident is not in the
// store, is an error; what was downloaded before it is then removed.
func FetchURLs(ctx context.Context, paths []string, open func() (*Store, error), fetched func(url, incident string, zips []string)) (_ *Fetched, err error) {
	f := &Fetched{}
	defer func() {
		if err != nil {
			f.Remove()
		}
	}()
	var store *Store
	for _, p := range paths {
		if !IsURL(p) {
			f.Paths = append(f.Paths, p)
			continue
		}
		bucket, prefix, incident, err := ParseURL(p)
		if err != nil {
			return nil, err
		}
		f.Incidents = append(f.Incidents, incident)
		if store == nil {
			if store, err = open(); err != nil {
				return nil, err
			}
		}
		tmp, err := os.MkdirTemp("", "arpbox-fetch-")
		if err != nil {
			return nil, err
		}
		f.dirs = append(f.dirs, tmp)
		zips, err := store.At(bucket, prefix).Fetch(ctx, incident, tmp)
		if err != nil {
			return nil, err
		}
		if fetched != nil {
			fetched(p, incident, zips)
		}
		f.Paths = append(f.Paths, zips...)
	}
	return f, nil
}
