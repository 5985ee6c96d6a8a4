package configs

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/arpbox/arpbox/upload"
)

func TestUploadSection(t *testing.T) {
	unixPaths(t)
	tests := []struct {
		name string
		yaml string
		want *upload.Config
	}{
		{"none: bundles stay on the host", "", nil},
		{"https URL, every key", "data_dir: /srv/arpbox\nupload:\n  endpoint: https://s3.example.com\n  bucket: arp-bundles\n  prefix: /fleet/dc1/\n  region: eu-west-1\n  credentials_file: /etc/arpbox/s3.credentials\n  ca_file: /etc/arpbox/ca.pem\n",
			&upload.Config{Endpoint: "s3.example.com", Secure: true, Bucket: "arp-bundles", Prefix: "fleet/dc1", Region: "eu-west-1",
				CredentialsFile: "/etc/arpbox/s3.credentials", CAFile: "/etc/arpbox/ca.pem", QueueDir: "/srv/arpbox/upload-queue"}},
		{"bare host:port is TLS", "data_dir: /srv/arpbox\nupload:\n  endpoint: minio.lan:9000\n  bucket: b12\n",
			&upload.Config{Endpoint: "minio.lan:9000", Secure: true, Bucket: "b12", QueueDir: "/srv/arpbox/upload-queue"}},
		{"http URL turns TLS off", "upload:\n  endpoint: http://127.0.0.1:7070\n  bucket: b12\n  queue_dir: /var/spool/arpbox\n",
			&upload.Config{Endpoint: "127.0.0.1:7070", Bucket: "b12", QueueDir: "/var/spool/arpbox"}},
		{"insecure turns TLS off", "data_dir: /srv/arpbox\nupload:\n  endpoint: 127.0.0.1:7070\n  bucket: b12\n  insecure: true\n",
			&upload.Config{Endpoint: "127.0.0.1:7070", Bucket: "b12", QueueDir: "/srv/arpbox/upload-queue"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("x.yaml", []byte(tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, c.Upload); diff != "" {
				t.Errorf("upload (-want +got):\n%s", diff)
			}
		})
	}
}

func TestUploadErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // substrings of the error, in order
	}{
		{"no endpoint", "upload:\n  bucket: b12\n", []string{"bad.yaml:1: upload.endpoint: must be set"}},
		{"no bucket", "upload:\n  endpoint: s3.example.com\n", []string{"bad.yaml:1: upload.bucket: must be set"}},
		{"bad bucket", "upload:\n  endpoint: s3.example.com\n  bucket: Arp_Bundles\n", []string{"bad.yaml:3: upload.bucket:", "lowercase"}},
		{"endpoint with a path", "upload:\n  endpoint: https://s3.example.com/bucket\n  bucket: b12\n", []string{"bad.yaml:2: upload.endpoint:", "host[:port] only"}},
		{"endpoint scheme", "upload:\n  endpoint: ftp://s3.example.com\n  bucket: b12\n", []string{"bad.yaml:2: upload.endpoint:", "https or http"}},
		{"insecure https", "upload:\n  endpoint: https://s3.example.com\n  bucket: b12\n  insecure: true\n", []string{"bad.yaml:4: upload.insecure:", "contradicts"}},
		{"ca file without TLS", "upload:\n  endpoint: http://s3.lan\n  bucket: b12\n  ca_file: /etc/ca.pem\n", []string{"bad.yaml:4: upload.ca_file:", "no effect"}},
		{"relative credentials", "upload:\n  endpoint: s3.lan\n  bucket: b12\n  credentials_file: s3.creds\n", []string{"bad.yaml:4: upload.credentials_file:", "absolute"}},
		{"prefix with ..", "upload:\n  endpoint: s3.lan\n  bucket: b12\n  prefix: a/../b\n", []string{"bad.yaml:4: upload.prefix:", ".."}},
		{"unknown key", "upload:\n  endpoint: s3.lan\n  bucket: b12\n  secret_key: x\n", []string{"bad.yaml:4: upload.secret_key: unknown key"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("bad.yaml", []byte(tt.yaml))
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			at := 0
			for _, w := range tt.want {
				i := strings.Index(msg[at:], w)
				if i < 0 {
					t.Fatalf("error %q lacks %q", msg, w)
				}
				at += i + len(w)
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Errorf("error %T is not a *configs.Error", err)
			}
		})
	}
}

func TestDescribeUploadWarnsWithoutTLS(t *testing.T) {
	c, err := Parse("x.yaml", []byte("upload:\n  endpoint: http://127.0.0.1:7070\n  bucket: b12\n  prefix: fleet\n"))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := c.Describe(&b); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"upload: bundles to s3://b12/fleet/<host>/<incident-id>.zip at http://127.0.0.1:7070", "warning: upload: TLS is off"} {
		if !strings.Contains(b.String(), w) {
			t.Errorf("check-config output lacks %q:\n%s", w, b.String())
		}
	}
}
