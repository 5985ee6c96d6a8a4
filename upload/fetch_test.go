package upload_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/arpbox/arpbox/upload"
	"github.com/arpbox/arpbox/upload/uploadtest"
)

// FetchURLs replaces each s3:// URL by the zips of its incident, keeps
// every other path in place, opens the store once, and Remove takes the
// downloads away again.
func TestFetchURLs(t *testing.T) {
	srv := uploadtest.Start(t, "bundles")
	ctx := testCtx(t)
	store, err := upload.Open(srv.Config("bundles", "fleet", t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	const inc1, inc2 = "20261130T080000Z-gw-arp", "20261130T090000Z-gw-arp"
	for _, b := range []struct{ id, host string }{{inc1, "gw"}, {inc1, "web1"}, {inc2, "gw"}} {
		if _, err := store.Put(ctx, writeZip(t, t.TempDir(), b.id, b.host, 1<<10)); err != nil {
			t.Fatal(err)
		}
	}
	opened := 0
	open := func() (*upload.Store, error) {
		opened++
		// The URLs name the bucket and prefix: the store opened at
		// another prefix still reaches them.
		return upload.Open(srv.Config("bundles", "elsewhere", t.TempDir()))
	}
	type note struct {
		URL, Incident string
		Zips          int
	}
	var notes []note
	paths := []string{"local.pcapng", "s3://bundles/fleet/" + inc1, "ring/", "s3://bundles/fleet/" + inc2 + ".zip"}
	f, err := upload.FetchURLs(ctx, paths, open, func(url, incident string, zips []string) {
		notes = append(notes, note{url, incident, len(zips)})
	})
	if err != nil {
		t.Fatal(err)
	}
	if opened != 1 {
		t.Errorf("the store was opened %d times, want once", opened)
	}
	if len(f.Paths) != 5 {
		t.Fatalf("Paths = %q, want the 2 local paths and 3 zips", f.Paths)
	}
	var names []string
	for _, p := range f.Paths {
		names = append(names, filepath.Base(p))
	}
	want := []string{"local.pcapng", "gw-" + inc1 + ".zip", "web1-" + inc1 + ".zip", "ring", "gw-" + inc2 + ".zip"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("Paths (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{inc1, inc2}, f.Incidents); diff != "" {
		t.Errorf("Incidents (-want +got):\n%s", diff)
	}
	wantNotes := []note{{paths[1], inc1, 2}, {paths[3], inc2, 1}}
	if diff := cmp.Diff(wantNotes, notes); diff != "" {
		t.Errorf("fetched (-want +got):\n%s", diff)
	}
	for _, p := range f.Paths[1:3] {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("downloaded zip: %v", err)
		}
	}
	f.Remove()
	for _, p := range []string{f.Paths[1], f.Paths[4]} {
		if _, err := os.Stat(filepath.Dir(p)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("after Remove, %s: %v; want it gone", filepath.Dir(p), err)
		}
	}

	// Without URLs, nothing is opened.
	f, err = upload.FetchURLs(ctx, []string{"a.pcap"}, func() (*upload.Store, error) {
		t.Error("store opened for paths without a URL")
		return nil, errors.New("no store")
	}, nil)
	if err != nil || len(f.Paths) != 1 || len(f.Incidents) != 0 {
		t.Errorf("FetchURLs(a.pcap) = %+v, %v", f, err)
	}
}

// A URL that fails (malformed, no store, unknown incident) is an error,
// and what was downloaded before it is removed.
func TestFetchURLsFails(t *testing.T) {
	srv := uploadtest.Start(t, "bundles")
	ctx := testCtx(t)
	store, err := upload.Open(srv.Config("bundles", "fleet", t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	const inc = "20261130T080000Z-gw-arp"
	if _, err := store.Put(ctx, writeZip(t, t.TempDir(), inc, "gw", 1<<10)); err != nil {
		t.Fatal(err)
	}
	errNoStore := errors.New("no upload: section")
	tests := []struct {
		name  string
		url   string
		store bool // the store opens
		want  error
	}{
		{"malformed URL", "s3://b/fleet/" + inc, true, nil}, // a bucket name has 3 to 63 characters
		{"unknown incident", "s3://bundles/fleet/20261130T100000Z-gw-none", true, upload.ErrNoIncident},
		{"no store", "s3://bundles/fleet/" + inc, false, errNoStore},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var fetched []string
			open := func() (*upload.Store, error) {
				if !tt.store {
					return nil, errNoStore
				}
				return store, nil
			}
			paths := []string{"s3://bundles/fleet/" + inc, tt.url}
			if !tt.store {
				paths = paths[1:]
			}
			f, err := upload.FetchURLs(ctx, paths, open, func(_, _ string, zips []string) {
				fetched = append(fetched, zips...)
			})
			if err == nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("FetchURLs = %+v, %v; want an error (%v)", f, err, tt.want)
			}
			if f != nil {
				t.Errorf("FetchURLs returned %+v with its error", f)
			}
			for _, z := range fetched {
				if _, err := os.Stat(filepath.Dir(z)); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("%s is left behind: %v", filepath.Dir(z), err)
				}
			}
			if tt.store && len(fetched) != 1 {
				t.Errorf("fetched %q before the failing URL, want the one zip", fetched)
			}
		})
	}
}

// TestFetchedIncident: only a lone bundle fetched by one URL is reported
// as its incident.
func TestFetchedIncident(t *testing.T) {
	const inc = "20261130T080000Z-gw-arp"
	for _, tt := range []struct {
		name string
		f    upload.Fetched
		want string
	}{
		{"one URL with one host's bundle", upload.Fetched{Paths: []string{"/tmp/gw.zip"}, Incidents: []string{inc}}, inc},
		{"one URL with bundles from two hosts", upload.Fetched{Paths: []string{"/tmp/gw.zip", "/tmp/web1.zip"}, Incidents: []string{inc}}, ""},
		{"a local path, no URL", upload.Fetched{Paths: []string{"capture.pcapng"}}, ""},
		{"two URLs", upload.Fetched{Paths: []string{"/tmp/a.zip"}, Incidents: []string{inc, inc}}, ""},
	} {
		if got := tt.f.Incident(); got != tt.want {
			t.Errorf("%s: Incident() = %q, want %q", tt.name, got, tt.want)
		}
	}
}
