package configs

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/arpbox/arpbox/upload"
)

// rawUpload is the upload section: where bundles are shipped.
type rawUpload struct {
	Endpoint        string `yaml:"endpoint"`
	Bucket          string `yaml:"bucket"`
	Prefix          string `yaml:"prefix"`
	Region          string `yaml:"region"`
	CredentialsFile string `yaml:"credentials_file"`
	Insecure        bool   `yaml:"insecure"`
	CAFile          string `yaml:"ca_file"`
	QueueDir        string `yaml:"queue_dir"`
}

// upload converts the upload section; nil when the file has none (bundles
// stay on the host). The credentials are read when arpbox starts, not here.
func (p *parser) upload(r *rawUpload, dataDir string) *upload.Config {
	if r == nil {
		return nil
	}
	c := &upload.Config{
		Bucket:          r.Bucket,
		Prefix:          upload.CleanPrefix(r.Prefix),
		Region:          r.Region,
		CredentialsFile: r.CredentialsFile,
		CAFile:          r.CAFile,
		QueueDir:        r.QueueDir,
	}
	if r.Endpoint != "" {
		host, secure, err := upload.ParseEndpoint(r.Endpoint)
		if err != nil {
			p.fail("upload.endpoint", err)
		}
		c.Endpoint, c.Secure = host, secure && !r.Insecure
		if r.Insecure && strings.HasPrefix(r.Endpoint, "https://") {
			p.fail("upload.insecure", fmt.Errorf("contradicts the https:// endpoint %q", r.Endpoint))
		}
	}
	if strings.ContainsAny(r.Region, " \t/") {
		p.fail("upload.region", fmt.Errorf("%q is not a region name like us-east-1", r.Region))
	}
	if c.QueueDir == "" {
		c.QueueDir = filepath.Join(dataDir, "upload-queue")
	} else {
		p.absPath("upload.queue_dir", c.QueueDir)
	}
	p.absPath("upload.credentials_file", c.CredentialsFile)
	p.absPath("upload.ca_file", c.CAFile)
	if err := c.Validate(); err != nil {
		p.failValidate("upload", err)
	}
	return c
}

// describeUpload says where bundles go, for check-config.
func (c *Config) describeUpload(ew *errWriter) {
	u := c.Upload
	if u == nil {
		return
	}
	scheme := "https"
	if !u.Secure {
		scheme = "http"
	}
	creds := "credentials from " + upload.EnvAccessKey + "/" + upload.EnvSecretKey
	if u.CredentialsFile != "" {
		creds = "credentials from " + u.CredentialsFile
	}
	ew.printf("upload: bundles to s3://%s/%s<host>/<incident-id>.zip at %s://%s, %s, queue %s\n",
		u.Bucket, prefixSlash(u.Prefix), scheme, u.Endpoint, creds, u.QueueDir)
	if !u.Secure {
		ew.printf("warning: upload: TLS is off: the credentials' signatures and the bundles cross the network in clear\n")
	}
}

func prefixSlash(p string) string {
	if p == "" {
		return ""
	}
	return p + "/"
}
