package upload

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"path"
	"strings"
)

// Config is the upload section of the configuration: where bundles go.
type Config struct {
	// Endpoint is the S3 endpoint's host[:port] (upload.endpoint, given as
	// https://host[:port], http://host[:port] or host[:port]).
	Endpoint string
	// Secure is TLS: on unless upload.insecure is true or the endpoint
	// is an http:// URL.
	Secure bool
	Bucket string // upload.bucket
	// Prefix is upload.prefix without leading or trailing slashes; objects
	// are named <prefix>/<host>/<incident-id>.zip.
	Prefix string
	Region string // upload.region; empty: asked from the server
	// CredentialsFile holds the access key and secret key
	// (upload.credentials_file, AWS shared-credentials format, mode 0600);
	// empty: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN.
	CredentialsFile string
	CAFile          string // upload.ca_file: PEM CA bundle to trust besides the system's
	// QueueDir is where the upload queue's entries are kept
	// (upload.queue_dir; configs puts it below data_dir).
	QueueDir string
}

// ParseEndpoint reads upload.endpoint: an https:// or http:// URL without
// a path, or a bare host[:port]. secure is false only for http://; a bare
// host[:port] is TLS.
func ParseEndpoint(s string) (hostport string, secure bool, err error) {
	if s == "" {
		return "", false, errors.New("must not be empty")
	}
	secure = true
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil {
			return "", false, fmt.Errorf("%q is not a URL: %w", s, err)
		}
		switch u.Scheme {
		case "https":
		case "http":
			secure = false
		default:
			return "", false, fmt.Errorf("%q: the scheme must be https or http", s)
		}
		if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
			return "", false, fmt.Errorf("%q: want scheme://host[:port] only (the bucket and prefix are keys of their own)", s)
		}
		s = u.Host
	}
	host := s
	if h, port, err := net.SplitHostPort(s); err == nil {
		host = h
		if port == "" {
			return "", false, fmt.Errorf("%q: empty port", s)
		}
	}
	if host == "" || strings.ContainsAny(host, "/ \t") {
		return "", false, fmt.Errorf("%q: want host[:port], like s3.example.com or 127.0.0.1:7070", s)
	}
	return s, secure, nil
}

// Validate checks c. Each error message starts with the YAML key it is about.
func (c Config) Validate() error {
	var errs []error
	if c.Endpoint == "" {
		errs = append(errs, errors.New("endpoint: must be set"))
	}
	if err := checkBucket(c.Bucket); err != nil {
		errs = append(errs, fmt.Errorf("bucket: %w", err))
	}
	if err := checkPrefix(c.Prefix); err != nil {
		errs = append(errs, fmt.Errorf("prefix: %w", err))
	}
	if c.QueueDir == "" {
		errs = append(errs, errors.New("queue_dir: must not be empty"))
	}
	if !c.Secure && c.CAFile != "" {
		errs = append(errs, errors.New("ca_file: has no effect without TLS (insecure or an http:// endpoint)"))
	}
	return errors.Join(errs...)
}

// checkBucket applies S3's bucket naming rules.
func checkBucket(b string) error {
	if b == "" {
		return errors.New("must be set")
	}
	if len(b) < 3 || len(b) > 63 {
		return fmt.Errorf("%q: a bucket name has 3 to 63 characters", b)
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return fmt.Errorf("%q: a bucket name holds lowercase letters, digits, '-' and '.' only", b)
		}
	}
	if !isAlnum(b[0]) || !isAlnum(b[len(b)-1]) || strings.Contains(b, "..") {
		return fmt.Errorf("%q: a bucket name starts and ends with a letter or digit, without \"..\"", b)
	}
	return nil
}

func isAlnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }

// CleanPrefix trims the slashes around a prefix.
func CleanPrefix(p string) string { return strings.Trim(p, "/") }

// checkPrefix accepts a cleaned key prefix: printable, no empty, "." or
// ".." elements.
func checkPrefix(p string) error {
	if p == "" {
		return nil
	}
	if len(p) > 512 {
		return fmt.Errorf("%q is longer than 512 bytes", p)
	}
	for _, el := range strings.Split(p, "/") {
		if el == "" || el == "." || el == ".." {
			return fmt.Errorf("%q: empty, \".\" or \"..\" path elements are not allowed", p)
		}
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f || r == '\\' {
			return fmt.Errorf("%q: control characters and backslashes are not allowed", p)
		}
	}
	if path.Clean(p) != p {
		return fmt.Errorf("%q is not a clean path", p)
	}
	return nil
}
