package control

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arpbox/arpbox/bundle"
	"github.com/arpbox/arpbox/control/controltest"
)

const testToken = "Zm9vYmFy-the-test-token-3e1f"

// syncBuffer is a log sink the server's goroutines may write concurrently.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// serveHTTP runs an HTTPServer on a free loopback port, logging at debug
// level into the returned buffer, and checks when the test ends that no log
// line holds the token.
func serveHTTP(t *testing.T, cfg HTTPConfig, api API) (addr string, logs *syncBuffer) {
	t.Helper()
	cfg.Addr = "127.0.0.1:0"
	logs = &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s := NewHTTPServer(cfg, api, log)
	ln, err := s.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		if cfg.Token != "" && strings.Contains(logs.String(), cfg.Token) {
			t.Errorf("the token is in the log:\n%s", logs)
		}
		if t.Failed() {
			t.Logf("server log:\n%s", logs)
		}
	})
	return ln.Addr().String(), logs
}

func get(t *testing.T, c *http.Client, url, token string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func testAPI(t *testing.T) API {
	return API{
		Status:    func() any { return map[string]string{"state": "recording"} },
		Snapshots: func() (any, error) { return []string{}, nil },
		Healthz:   func() error { return nil },
		Metrics: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "# HELP arpbox_test_total A test.\n# TYPE arpbox_test_total counter\narpbox_test_total 1\n")
		}),
		Snapshot: func(ctx context.Context, reason string) (SnapshotReply, error) {
			return SnapshotReply{ID: "20261126T010203Z-manual"}, nil
		},
	}
}

func TestBearerToken(t *testing.T) {
	addr, logs := serveHTTP(t, HTTPConfig{Token: testToken}, testAPI(t))
	tests := []struct {
		name  string
		token string
		want  int
	}{
		{"no token", "", http.StatusUnauthorized},
		{"wrong token", "not-the-token", http.StatusUnauthorized},
		{"token with a suffix", testToken + "x", http.StatusUnauthorized},
		{"a prefix of the token", testToken[:10], http.StatusUnauthorized},
		{"right token", testToken, http.StatusOK},
	}
	for _, path := range []string{"/v1/status", "/v1/snapshots", "/healthz", "/metrics"} {
		for _, tt := range tests {
			t.Run(tt.name+" "+path, func(t *testing.T) {
				resp, body := get(t, http.DefaultClient, "http://"+addr+path, tt.token)
				if resp.StatusCode != tt.want {
					t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.want, body)
				}
				if tt.want == http.StatusUnauthorized {
					if got := resp.Header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer ") {
						t.Errorf("WWW-Authenticate = %q, want a Bearer challenge", got)
					}
				}
				if bytes.Contains(body, []byte(testToken)) {
					t.Errorf("reply shows the token: %s", body)
				}
			})
		}
	}
	// A wrong token in a header other than Authorization, or in the query,
	// is not the token either, and nothing of it reaches the log.
	resp, _ := get(t, http.DefaultClient, "http://"+addr+"/v1/status?token="+testToken[:5], "")
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("token in the query: status %d, want 401", resp.StatusCode)
	}
	if !strings.Contains(logs.String(), "wrong bearer token") || !strings.Contains(logs.String(), "no bearer token") {
		t.Errorf("refusals not logged:\n%s", logs)
	}
	if strings.Contains(logs.String(), "not-the-token") {
		t.Errorf("a wrong token is in the log:\n%s", logs)
	}
}

func TestNoTokenOnLoopback(t *testing.T) {
	addr, _ := serveHTTP(t, HTTPConfig{}, testAPI(t))
	resp, body := get(t, http.DefaultClient, "http://"+addr+"/healthz", "")
	if resp.StatusCode != http.StatusOK || string(body) != "ok\n" {
		t.Errorf("healthz = %d %q", resp.StatusCode, body)
	}
}

func TestHealthzUnhealthy(t *testing.T) {
	api := testAPI(t)
	api.Healthz = func() error { return fmt.Errorf("the ring writer is stuck") }
	addr, _ := serveHTTP(t, HTTPConfig{}, api)
	resp, body := get(t, http.DefaultClient, "http://"+addr+"/healthz", "")
	if resp.StatusCode != http.StatusServiceUnavailable || !bytes.Contains(body, []byte("stuck")) {
		t.Errorf("healthz = %d %s, want 503 and why", resp.StatusCode, body)
	}
}

func TestBodyLimit(t *testing.T) {
	called := false
	api := testAPI(t)
	api.Snapshot = func(context.Context, string) (SnapshotReply, error) {
		called = true
		return SnapshotReply{}, nil
	}
	addr, _ := serveHTTP(t, HTTPConfig{Token: testToken}, api)
	huge := `{"reason": "` + strings.Repeat("x", 10<<20) + `"}`
	for _, chunked := range []bool{false, true} {
		t.Run(fmt.Sprintf("chunked=%v", chunked), func(t *testing.T) {
			var body io.Reader = strings.NewReader(huge)
			if chunked {
				body = io.MultiReader(body) // hides the length: sent chunked
			}
			req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/v1/snapshot", body)
			req.Header.Set("Authorization", "Bearer "+testToken)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusRequestEntityTooLarge {
				b, _ := io.ReadAll(resp.Body)
				t.Errorf("10 MB body: status %d, want 413: %s", resp.StatusCode, b)
			}
		})
	}
	if called {
		t.Error("the snapshot was requested despite the oversized body")
	}
}

// TestBundleDownload: a listed bundle downloads byte for byte; ids that
// try to leave the snapshots directory never reach the API's Bundle.
func TestBundleDownload(t *testing.T) {
	dir := t.TempDir()
	const id = "20261126T010203Z-manual"
	zip := filepath.Join(dir, id+".zip")
	want := make([]byte, 300<<10)
	rand.Read(want)
	if err := os.WriteFile(zip, want, 0o640); err != nil {
		t.Fatal(err)
	}
	// A file beside the snapshots directory that no id may reach.
	if err := os.WriteFile(filepath.Join(filepath.Dir(dir), "secret.zip"), []byte("TOP-SECRET-CONTENT"), 0o600); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var asked []string
	api := testAPI(t)
	api.Bundle = func(got string) (string, error) {
		mu.Lock()
		asked = append(asked, got)
		mu.Unlock()
		if got == id {
			return zip, nil
		}
		return "", fmt.Errorf("bundle %s: %w", got, ErrNotFound)
	}
	addr, _ := serveHTTP(t, HTTPConfig{Token: testToken}, api)

	resp, got := get(t, http.DefaultClient, "http://"+addr+"/v1/snapshots/"+id+".zip", testToken)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(got, want) {
		t.Fatalf("download: status %d, %d bytes, identical %v", resp.StatusCode, len(got), bytes.Equal(got, want))
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/zip" {
		t.Errorf("Content-Type = %q", ct)
	}
	resp, _ = get(t, http.DefaultClient, "http://"+addr+"/v1/snapshots/"+id+".zip", "")
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("download without the token: status %d, want 401", resp.StatusCode)
	}
	resp, _ = get(t, http.DefaultClient, "http://"+addr+"/v1/snapshots/20261126T010203Z-other.zip", testToken)
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown id: status %d, want 404", resp.StatusCode)
	}

	mu.Lock()
	asked = nil
	mu.Unlock()
	bad := []string{
		"../secret.zip", "..%2Fsecret.zip", "..%2fsecret.zip", "%2E%2E%2Fsecret.zip", "..%5Csecret.zip",
		"..zip", "...zip", ".zip", ".hidden.zip", "a%00b.zip", "%2Fetc%2Fpasswd.zip", id, id + ".zip%00",
		"x%20y.zip", strings.Repeat("a", 200) + ".zip",
	}
	for _, b := range bad {
		// Raw requests: a client would clean "../" before sending.
		code, body := rawGet(t, addr, "/v1/snapshots/"+b, testToken)
		if code == http.StatusOK || strings.Contains(body, "TOP-SECRET") {
			t.Errorf("GET /v1/snapshots/%s: status %d: %q", b, code, body)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(asked) != 0 {
		t.Errorf("ids that are not ids reached Bundle: %q", asked)
	}
}

// rawGet sends path as written, without a client's cleaning.
func rawGet(t *testing.T, addr, path, token string) (int, string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: arpbox\r\nAuthorization: Bearer %s\r\nConnection: close\r\n\r\n", path, token)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestValidID(t *testing.T) {
	for id, want := range map[string]bool{
		"20261126T010203Z-manual": true, "20261126T010203Z-gw_arp.v2-3": true,
		"": false, ".": false, "..": false, "a..b": false, "../x": false, "a/b": false, `a\b`: false,
		"a\x00b": false, ".x": false, "a b": false, "é": false, strings.Repeat("a", 129): false,
	} {
		if got := bundle.ValidID(id); got != want {
			t.Errorf("ValidID(%q) = %v, want %v", id, got, want)
		}
	}
}

func TestTLS(t *testing.T) {
	dir := t.TempDir()
	certPEM, keyPEM, pool := controltest.SelfSigned(t)
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	addr, _ := serveHTTP(t, HTTPConfig{Token: testToken, TLSCert: certFile, TLSKey: keyFile}, testAPI(t))
	client := func(maxVersion uint16) *http.Client {
		return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MaxVersion: maxVersion}}}
	}
	resp, body := get(t, client(0), "https://"+addr+"/v1/status", testToken)
	if resp.StatusCode != http.StatusOK || resp.TLS == nil {
		t.Fatalf("over TLS: status %d (TLS %v): %s", resp.StatusCode, resp.TLS != nil, body)
	}
	resp, _ = get(t, client(0), "https://"+addr+"/v1/status", "")
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("over TLS without the token: status %d, want 401", resp.StatusCode)
	}
	if _, err := client(tls.VersionTLS11).Get("https://" + addr + "/healthz"); err == nil {
		t.Error("a TLS 1.1 client was served")
	}
	if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Error("plain HTTP served on the TLS port")
		}
	}
}

func TestTLSBadKeyFailsListen(t *testing.T) {
	dir := t.TempDir()
	certPEM, _, _ := controltest.SelfSigned(t)
	_, otherKey, _ := controltest.SelfSigned(t)
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, certPEM, 0o600)
	os.WriteFile(keyFile, otherKey, 0o600)
	_, err := NewHTTPServer(HTTPConfig{Addr: "127.0.0.1:0", TLSCert: certFile, TLSKey: keyFile}, API{}, nil).Listen()
	if err == nil || !strings.Contains(err.Error(), certFile) {
		t.Errorf("Listen with a key that does not match = %v, want an error naming the files", err)
	}
}
