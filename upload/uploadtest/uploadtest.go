// Package uploadtest runs a real S3-compatible server (VersityGW) on loopback for tests.
package uploadtest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/arpbox/arpbox/upload"
)

// Test credentials of every server started here.
const (
	AccessKey = "arpboxtest"
	SecretKey = "arpboxtestsecret"
)

// Server is one versitygw process serving a directory on 127.0.0.1.
type Server struct {
	t    testing.TB
	bin  string
	dir  string
	Addr string // 127.0.0.1:port
	cmd  *exec.Cmd
	done chan struct{}
	opts Options
}

// Binary returns the versitygw executable: on PATH, in $GOBIN or in
// $HOME/go/bin ("" if none).
func Binary() string {
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p
	}
	var dirs []string
	if d := os.Getenv("GOBIN"); d != "" {
		dirs = append(dirs, d)
	}
	if h, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(h, "go", "bin"))
	}
	for _, d := range dirs {
		p := filepath.Join(d, "versitygw")
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p
		}
	}
	return ""
}

// Options place the server elsewhere than 127.0.0.1 of the test's own
// network namespace.
type Options struct {
	// Addr is the host:port to listen on; "" picks a free port on 127.0.0.1.
	Addr string
	// Command makes the command that runs argv (say, inside a network
	// namespace); nil runs it directly.
	Command func(argv ...string) *exec.Cmd
	// Dial checks that the server accepts connections; nil dials from here.
	Dial func(addr string) error
}

// Start runs versitygw on a free loopback port and creates bucket in it
// (if bucket is not empty); the test skips when versitygw is not
// installed. The server is killed when the test ends.
func Start(t testing.TB, bucket string) *Server { return StartWith(t, bucket, Options{}) }

// StartWith is Start with the server placed by o.
func StartWith(t testing.TB, bucket string, o Options) *Server {
	t.Helper()
	bin := Binary()
	if bin == "" {
		t.Skip("versitygw is not installed (go install github.com/versity/versitygw/cmd/versitygw@v1.8.0; scripts/test.sh does)")
	}
	addr := o.Addr
	if addr == "" {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr = l.Addr().String()
		l.Close()
	}
	if o.Command == nil {
		o.Command = func(argv ...string) *exec.Cmd { return exec.Command(argv[0], argv[1:]...) }
	}
	if o.Dial == nil {
		o.Dial = func(addr string) error {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				c.Close()
			}
			return err
		}
	}
	s := &Server{t: t, bin: bin, dir: t.TempDir(), Addr: addr, opts: o}
	if bucket != "" {
		// The posix backend serves each top-level directory as a bucket.
		if err := os.Mkdir(filepath.Join(s.dir, bucket), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(s.Stop)
	s.Restart()
	return s
}

// Restart starts the server again (after Stop) on the same port and
// directory, and waits until it accepts connections.
func (s *Server) Restart() {
	s.t.Helper()
	if s.cmd != nil {
		s.t.Fatal("uploadtest: Restart while running")
	}
	cmd := s.opts.Command(s.bin, "--access", AccessKey, "--secret", SecretKey, "--port", s.Addr, "posix", s.dir)
	log, err := os.Create(filepath.Join(s.t.TempDir(), "versitygw.log"))
	if err != nil {
		s.t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		log.Close()
		s.t.Fatalf("start versitygw: %v", err)
	}
	s.cmd, s.done = cmd, make(chan struct{})
	go func() { // owned by the server: ends when the process does
		cmd.Wait()
		log.Close()
		close(s.done)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if s.opts.Dial(s.Addr) == nil {
			return
		}
		select {
		case <-s.done:
			b, _ := os.ReadFile(log.Name())
			s.cmd = nil
			s.t.Fatalf("versitygw exited at start: %s", b)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("versitygw does not listen on %s after 30s", s.Addr)
		}
	}
}

// Stop kills the server (SIGKILL: like a crash or a cut cable) and waits
// for it to exit.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Kill()
	<-s.done
	s.cmd = nil
}

// Dir is the directory the server stores buckets in.
func (s *Server) Dir() string { return s.dir }

// Client returns a client of the server for checks.
func (s *Server) Client() *minio.Client {
	c, err := minio.New(s.Addr, &minio.Options{Creds: credentials.NewStaticV4(AccessKey, SecretKey, ""), Secure: false, TrailingHeaders: true})
	if err != nil {
		s.t.Fatal(err)
	}
	return c
}

// Config returns an upload configuration for bucket and prefix on this
// server, with a credentials file (mode 0600) in a temporary directory and
// the queue in queueDir.
func (s *Server) Config(bucket, prefix, queueDir string) upload.Config {
	s.t.Helper()
	f := filepath.Join(s.t.TempDir(), "credentials")
	body := "[default]\naws_access_key_id = " + AccessKey + "\naws_secret_access_key = " + SecretKey + "\n"
	if err := os.WriteFile(f, []byte(body), 0o600); err != nil {
		s.t.Fatal(err)
	}
	return upload.Config{Endpoint: s.Addr, Bucket: bucket, Prefix: prefix, CredentialsFile: f, QueueDir: queueDir}
}

// URL is the server's http:// endpoint.
func (s *Server) URL() string { return "http://" + s.Addr }

// Port is the server's port.
func (s *Server) Port() int {
	_, p, _ := net.SplitHostPort(s.Addr)
	n, _ := strconv.Atoi(p)
	return n
}

// String names the server in messages.
func (s *Server) String() string { return fmt.Sprintf("versitygw on %s", s.Addr) }
