package upload

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLoadCredentials(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(p, mode)
		return p
	}
	tests := []struct {
		name, file string
		want       Credentials
		err        string
	}{
		{"shared-credentials format", write("ok", "# arpbox\n[default]\naws_access_key_id = AKID\naws_secret_access_key=S3CR3T\n\n[other]\naws_access_key_id = NOT\n", 0o600),
			Credentials{AccessKey: "AKID", SecretKey: "S3CR3T"}, ""},
		{"no section, session token", write("tok", "aws_access_key_id=A\naws_secret_access_key=B\naws_session_token=C\n", 0o400),
			Credentials{AccessKey: "A", SecretKey: "B", SessionToken: "C"}, ""},
		{"missing secret", write("half", "[default]\naws_access_key_id = AKID\n", 0o600), Credentials{}, "needs aws_access_key_id and aws_secret_access_key"},
		{"unknown key names no value", write("typo", "aws_access_key = AKID\n", 0o600), Credentials{}, `line 1: unknown key "aws_access_key"`},
		{"not key=value", write("junk", "S3CR3T\n", 0o600), Credentials{}, "line 1: want key = value"},
		{"missing file", filepath.Join(dir, "none"), Credentials{}, "upload.credentials_file"},
	}
	if runtime.GOOS != "windows" {
		tests = append(tests, struct {
			name, file string
			want       Credentials
			err        string
		}{"readable by others", write("open", "aws_access_key_id=A\naws_secret_access_key=S3CR3T\n", 0o644), Credentials{}, "mode 0644 lets group or others read it"})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := LoadCredentials(tt.file)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one with %q", err, tt.err)
				}
				if strings.Contains(err.Error(), "S3CR3T") {
					t.Errorf("the error shows the secret: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("credentials (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadCredentialsFromEnv(t *testing.T) {
	t.Setenv(EnvAccessKey, "AKID")
	t.Setenv(EnvSecretKey, "S3CR3T")
	t.Setenv(EnvSessionToken, "")
	got, err := LoadCredentials("")
	if err != nil || got != (Credentials{AccessKey: "AKID", SecretKey: "S3CR3T"}) {
		t.Errorf("LoadCredentials(\"\") = %+v, %v", got, err)
	}
	t.Setenv(EnvSecretKey, "")
	if _, err := LoadCredentials(""); err == nil || !strings.Contains(err.Error(), EnvSecretKey) {
		t.Errorf("without %s: error %v", EnvSecretKey, err)
	}
}

func TestParseEndpoint(t *testing.T) {
	for _, tc := range []struct {
		in, host string
		secure   bool
		err      string
	}{
		{"https://s3.example.com", "s3.example.com", true, ""},
		{"https://s3.example.com/", "s3.example.com", true, ""},
		{"http://127.0.0.1:7070", "127.0.0.1:7070", false, ""},
		{"[::1]:7070", "[::1]:7070", true, ""},
		{"minio.lan", "minio.lan", true, ""},
		{"", "", false, "empty"},
		{"https://user:pw@s3.example.com", "", false, "host[:port] only"},
		{"s3.example.com/bucket", "", false, "want host[:port]"},
		{"host:", "", false, "empty port"},
	} {
		host, secure, err := ParseEndpoint(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseEndpoint(%q) error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || host != tc.host || secure != tc.secure {
			t.Errorf("ParseEndpoint(%q) = %q %v %v, want %q %v", tc.in, host, secure, err, tc.host, tc.secure)
		}
	}
}
