package upload

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/arpbox/arpbox/bundle"
)

// Object names below the prefix: <prefix>/<host>/<incident-id><ext>.
const (
	ZipExt      = ".zip"
	ManifestExt = ".manifest.json"
)

// Object metadata (x-amz-meta-*) written with each object.
const (
	MetaHost       = "Arpbox-Host"
	MetaIncident   = "Arpbox-Incident"
	MetaTrigger    = "Arpbox-Trigger"
	MetaTime       = "Arpbox-Time"        // T, RFC 3339
	MetaWindowFrom = "Arpbox-Window-From" // T-before, RFC 3339
	MetaWindowTo   = "Arpbox-Window-To"   // T+after, RFC 3339
	MetaSHA256     = "Arpbox-Sha256"      // hex SHA-256 of the zip (on the manifest object too)
)

// maxSinglePut is the largest object S3 accepts in one PUT. A bundle is
// sent in one PUT so that the server checks the SHA-256 of the whole
// object (a multipart upload's checksum is one of checksums).
const maxSinglePut = 5 << 30

// Store is a bucket and prefix in S3-compatible object storage.
type Store struct {
	c      *minio.Client
	bucket string
	prefix string
}

// Open returns a store for cfg: it reads the credentials (and the CA file)
// now; it sends no request.
func Open(cfg Config) (*Store, error) {
	creds, err := LoadCredentials(cfg.CredentialsFile)
	if err != nil {
		return nil, err
	}
	opts := &minio.Options{
		Creds:           credentials.NewStaticV4(creds.AccessKey, creds.SecretKey, creds.SessionToken),
		Secure:          cfg.Secure,
		Region:          cfg.Region,
		TrailingHeaders: true, // lets a PUT carry x-amz-checksum-sha256
		MaxRetries:      1,    // the uploader retries, with backoff
	}
	if cfg.Secure && cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("upload.ca_file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("upload.ca_file %s: no PEM certificate in it", cfg.CAFile)
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		opts.Transport = tr
	}
	c, err := minio.New(cfg.Endpoint, opts)
	if err != nil {
		return nil, fmt.Errorf("upload.endpoint %s: %w", cfg.Endpoint, err)
	}
	return &Store{c: c, bucket: cfg.Bucket, prefix: CleanPrefix(cfg.Prefix)}, nil
}

// At returns the same server and credentials with another bucket and prefix.
func (s *Store) At(bucket, prefix string) *Store {
	return &Store{c: s.c, bucket: bucket, prefix: CleanPrefix(prefix)}
}

// String is s3://bucket/prefix.
func (s *Store) String() string { return "s3://" + path.Join(s.bucket, s.prefix) }

// Key returns the object name of a host's file with the given extension.
func (s *Store) Key(host, incident, ext string) string {
	return path.Join(s.prefix, HostDir(host), incident+ext)
}

// HostDir makes a host name safe as one element of an object name.
func HostDir(host string) string {
	var b strings.Builder
	for i := 0; i < len(host) && b.Len() < 64; i++ {
		c := host[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' {
			b.WriteByte(c)
		} else {
			b.WriteByte('_')
		}
	}
	h := strings.Trim(b.String(), ".")
	if h == "" {
		return "unknown-host"
	}
	return h
}

// Incident is the incident id a bundle is filed under: the one its peers
// share (the trigger's incident, see package peer) when it has one that is
// a safe object name, else the bundle's own id. Bundles of one incident
// from several hosts share it.
func Incident(m *bundle.Manifest) string {
	if id := m.Trigger.Incident; bundle.ValidID(id) {
		return id
	}
	return m.ID
}

// Shipped is what Put stored.
type Shipped struct {
	Key    string // the zip's object name
	Size   int64
	SHA256 string // hex
	Bytes  int64  // sent over the network: zip and manifest; 0 if already there
}

// errPermanent marks a bundle that retrying will not upload.
var errPermanent = errors.New("will not retry")

// Put uploads the bundle zip at zipPath, then its manifest as a separate
// small object. The server checks each object's SHA-256 (sent as
// x-amz-checksum-sha256 in a single PUT) and Put checks the checksum the
// server then reports. A zip already stored with the same SHA-256 (a
// crash after its upload) is not sent again.
func (s *Store) Put(ctx context.Context, zipPath string) (Shipped, error) {
	f, err := os.Open(zipPath)
	if err != nil {
		return Shipped{}, err // fs.ErrNotExist: retention removed it
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return Shipped{}, err
	}
	m, mraw, err := zipManifest(f, fi.Size())
	if err != nil {
		return Shipped{}, fmt.Errorf("%s: %w: %w", zipPath, errPermanent, err)
	}
	if fi.Size() > maxSinglePut {
		return Shipped{}, fmt.Errorf("%s: %w: %d bytes is more than one PUT may carry (5 GiB)", zipPath, errPermanent, fi.Size())
	}
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(f, 0, fi.Size())); err != nil {
		return Shipped{}, fmt.Errorf("%s: %w", zipPath, err)
	}
	sum := h.Sum(nil)
	host, incident := m.Host, Incident(m)
	out := Shipped{Key: s.Key(host, incident, ZipExt), Size: fi.Size(), SHA256: hex.EncodeToString(sum)}
	meta := map[string]string{
		MetaHost:     host,
		MetaIncident: incident,
		MetaTrigger:  m.Trigger.Trigger,
		MetaTime:     m.Trigger.Time.UTC().Format(time.RFC3339Nano),
		MetaSHA256:   out.SHA256,
	}
	if w := m.Window.Requested; !w.From.IsZero() {
		meta[MetaWindowFrom] = w.From.UTC().Format(time.RFC3339Nano)
		meta[MetaWindowTo] = w.To.UTC().Format(time.RFC3339Nano)
	}
	mkey := s.Key(host, incident, ManifestExt)
	if s.has(ctx, out.Key, sum, fi.Size()) && s.has(ctx, mkey, sha(mraw), int64(len(mraw))) {
		return out, nil
	}
	if err := s.put(ctx, out.Key, io.NewSectionReader(f, 0, fi.Size()), fi.Size(), sum, "application/zip", meta); err != nil {
		return Shipped{}, err
	}
	if err := s.put(ctx, mkey, bytes.NewReader(mraw), int64(len(mraw)), sha(mraw), "application/json", meta); err != nil {
		return Shipped{}, err
	}
	out.Bytes = fi.Size() + int64(len(mraw))
	return out, nil
}

func sha(b []byte) []byte {
	s := sha256.Sum256(b)
	return s[:]
}

// put stores one object in a single PUT whose SHA-256 the server checks,
// then checks the SHA-256 and size the server reports for it.
func (s *Store) put(ctx context.Context, key string, r io.Reader, size int64, sum []byte, ctype string, meta map[string]string) error {
	want := base64.StdEncoding.EncodeToString(sum)
	um := map[string]string{"x-amz-checksum-sha256": want}
	for k, v := range meta {
		um[k] = v
	}
	info, err := s.c.PutObject(ctx, s.bucket, key, r, size, minio.PutObjectOptions{
		ContentType:      ctype,
		UserMetadata:     um,
		DisableMultipart: true,
	})
	if err != nil {
		return fmt.Errorf("put %s/%s: %w", s.bucket, key, classify(err))
	}
	if info.ChecksumSHA256 != "" && info.ChecksumSHA256 != want {
		return fmt.Errorf("put %s/%s: the server stored SHA-256 %s, sent %s", s.bucket, key, info.ChecksumSHA256, want)
	}
	if !s.has(ctx, key, sum, size) {
		return fmt.Errorf("put %s/%s: the stored object's SHA-256 or size differs from what was sent", s.bucket, key)
	}
	return nil
}

// has reports whether key is stored with this SHA-256 and size, as the
// server reports it (checksum mode).
func (s *Store) has(ctx context.Context, key string, sum []byte, size int64) bool {
	st, err := s.c.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{Checksum: true})
	if err != nil {
		return false
	}
	return st.Size == size && st.ChecksumSHA256 == base64.StdEncoding.EncodeToString(sum)
}

// classify marks the server's refusals that retrying will not cure. A
// missing bucket or refused credentials are retried: an operator can fix
// them, and the queue then drains.
func classify(err error) error {
	switch minio.ToErrorResponse(err).Code {
	case "InvalidBucketName", "EntityTooLarge", "KeyTooLongError":
		return fmt.Errorf("%w: %w", errPermanent, err)
	}
	return err
}

// zipManifest reads manifest.json out of a bundle zip.
func zipManifest(r io.ReaderAt, size int64) (*bundle.Manifest, []byte, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, nil, fmt.Errorf("not a bundle zip: %w", err)
	}
	for _, f := range zr.File {
		if path.Base(f.Name) != bundle.FileManifest || strings.Count(strings.Trim(f.Name, "/"), "/") > 1 {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return nil, nil, err
		}
		b, err := io.ReadAll(io.LimitReader(rc, bundle.MaxManifestSize+1))
		rc.Close()
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", f.Name, err)
		}
		m, err := bundle.ReadManifest(bytes.NewReader(b))
		if err != nil {
			return nil, nil, err
		}
		if m.ID == "" || !bundle.ValidID(m.ID) {
			return nil, nil, fmt.Errorf("%s: bundle id %q", f.Name, m.ID)
		}
		return m, b, nil
	}
	return nil, nil, fmt.Errorf("no %s in the zip", bundle.FileManifest)
}
