package upload

import (
	"archive/zip"
	"bytes"
	"path"
	"strings"
	"testing"

	"github.com/arpbox/arpbox/bundle"
)

// A credentials file of any content parses or fails without panicking; a
// parse yields both keys, and no error repeats a value.
func FuzzParseCredentials(f *testing.F) {
	f.Add([]byte("[default]\naws_access_key_id = A\naws_secret_access_key = B\n"))
	f.Add([]byte("aws_access_key_id=A\naws_secret_access_key=B\naws_session_token=C\n[x]\nk=v\n"))
	f.Add([]byte("[default\nS3CR3T\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := parseCredentials(b)
		if err != nil {
			if strings.Contains(string(b), "aws_secret_access_key=S3CR3TVALUE") && strings.Contains(err.Error(), "S3CR3TVALUE") {
				t.Fatalf("error shows the secret: %v", err)
			}
			return
		}
		if c.AccessKey == "" || c.SecretKey == "" {
			t.Fatalf("parsed without both keys: %+v", c)
		}
	})
}

// A URL that parses names the same bucket, prefix and incident when
// written back.
func FuzzParseURL(f *testing.F) {
	for _, s := range []string{"s3://bundles/fleet/dc1/20261130T080000Z-gw", "s3://bundles/x", "s3://a.b-c/../x", "s3:///x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, p, i, err := ParseURL(s)
		if err != nil {
			return
		}
		again := "s3://" + path.Join(b, p, i)
		b2, p2, i2, err := ParseURL(again)
		if err != nil || b2 != b || p2 != p || i2 != i {
			t.Fatalf("%q → %q %q %q → %q → %q %q %q %v", s, b, p, i, again, b2, p2, i2, err)
		}
	})
}

// Any bytes given as a bundle zip are read or refused without panicking.
func FuzzZipManifest(f *testing.F) {
	f.Add([]byte("PK\x03\x04"))
	f.Add([]byte{})
	f.Add(validZip(f))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, raw, err := zipManifest(bytes.NewReader(b), int64(len(b)))
		if err == nil && (m == nil || len(raw) == 0 || !bundle.ValidID(m.ID)) {
			t.Fatalf("accepted a zip without a valid manifest: %+v", m)
		}
	})
}

// validZip is a small bundle zip, a seed for FuzzZipManifest.
func validZip(f *testing.F) []byte {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	w, _ := zw.Create("20261130T080000Z-a/manifest.json")
	w.Write([]byte(`{"format":1,"id":"20261130T080000Z-a","host":"gw","trigger":{"name":"t","time":"2026-11-30T08:00:00Z"}}`))
	if err := zw.Close(); err != nil {
		f.Fatal(err)
	}
	if _, _, err := zipManifest(bytes.NewReader(b.Bytes()), int64(b.Len())); err != nil {
		f.Fatal(err)
	}
	return b.Bytes()
}
