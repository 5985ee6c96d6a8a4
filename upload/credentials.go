package upload

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
)

// Credentials sign requests to the store.
type Credentials struct {
	AccessKey    string
	SecretKey    string
	SessionToken string // optional (temporary credentials)
}

// Environment variables read when no credentials file is configured.
const (
	EnvAccessKey    = "AWS_ACCESS_KEY_ID"
	EnvSecretKey    = "AWS_SECRET_ACCESS_KEY"
	EnvSessionToken = "AWS_SESSION_TOKEN"
)

// LoadCredentials reads the credentials file, or the AWS environment
// variables when file is empty. A credentials file must not be accessible
// by group or others (on Windows, its ACL is the installer's business).
// Errors name the file or the variables, never a secret.
func LoadCredentials(file string) (Credentials, error) {
	if file == "" {
		c := Credentials{AccessKey: os.Getenv(EnvAccessKey), SecretKey: os.Getenv(EnvSecretKey), SessionToken: os.Getenv(EnvSessionToken)}
		if c.AccessKey == "" || c.SecretKey == "" {
			return Credentials{}, fmt.Errorf("upload: no credentials: set upload.credentials_file, or %s and %s", EnvAccessKey, EnvSecretKey)
		}
		return c, nil
	}
	fi, err := os.Stat(file)
	if err != nil {
		return Credentials{}, fmt.Errorf("upload.credentials_file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return Credentials{}, fmt.Errorf("upload.credentials_file %s: not a regular file", file)
	}
	if err := checkSecretMode(fi); err != nil {
		return Credentials{}, fmt.Errorf("upload.credentials_file %s: %w", file, err)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return Credentials{}, fmt.Errorf("upload.credentials_file: %w", err)
	}
	c, err := parseCredentials(b)
	if err != nil {
		return Credentials{}, fmt.Errorf("upload.credentials_file %s: %w", file, err)
	}
	return c, nil
}

// parseCredentials reads the AWS shared-credentials format: key = value
// lines (aws_access_key_id, aws_secret_access_key, aws_session_token),
// '#' or ';' comments, and [section] headers of which only [default] (or
// lines before any header) count. Errors give line numbers, never values.
func parseCredentials(b []byte) (Credentials, error) {
	var c Credentials
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 4096), 64<<10)
	section := "default"
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '[' {
			if !strings.HasSuffix(line, "]") {
				return Credentials{}, fmt.Errorf("line %d: a section header looks like [default]", n)
			}
			section = strings.TrimSpace(line[1 : len(line)-1])
			continue
		}
		key, val, ok := strings.Cut(line, "=")
		if !ok {
			return Credentials{}, fmt.Errorf("line %d: want key = value", n)
		}
		if section != "default" {
			continue
		}
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		switch strings.ToLower(key) {
		case "aws_access_key_id":
			c.AccessKey = val
		case "aws_secret_access_key":
			c.SecretKey = val
		case "aws_session_token":
			c.SessionToken = val
		default:
			return Credentials{}, fmt.Errorf("line %d: unknown key %q (want aws_access_key_id, aws_secret_access_key, aws_session_token)", n, key)
		}
	}
	if err := sc.Err(); err != nil {
		return Credentials{}, err
	}
	if c.AccessKey == "" || c.SecretKey == "" {
		return Credentials{}, errors.New("needs aws_access_key_id and aws_secret_access_key in [default]")
	}
	return c, nil
}
