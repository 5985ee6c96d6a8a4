package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/arpbox/arpbox/control/controltest"
	"github.com/arpbox/arpbox/internal/nstest"
	"github.com/arpbox/arpbox/recorder"
)

// TestHTTPAPI runs arpbox with its HTTP API on every address of a
// namespace, behind a bearer token and TLS, and uses it as an operator
// would: the token is required, the frames counter equals the ARP frames
// sent, a bundle downloads byte for byte, paths out of the snapshots
// directory and oversized bodies are refused, the scrape passes
// `promtool check metrics`, and the token is in no log line.
func TestHTTPAPI(t *testing.T) {
	nstest.RequireRoot(t, "arping", "capinfos", "tshark")
	gw, peer := nstest.NewHost(t, "hg"), nstest.NewHost(t, "hp")
	lg, lp := nstest.Veth(t, gw, "10.209.1.1/24", peer, "10.209.1.2/24")
	dir := t.TempDir()

	tok := make([]byte, 24)
	rand.Read(tok)
	token := hex.EncodeToString(tok)
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	certFile, keyFile, pool := controltest.WriteSelfSigned(t, dir)
	const port = "9310"
	cfg := writeConfig(t, fmt.Sprintf(`log:
  level: debug
capture:
  interfaces: [%s]
ring:
  dir: %s/ring
snapshots:
  dir: %s/snapshots
  before: 30s
  after: 1s
  cooldown: 0s
control:
  socket: %s/arpbox.sock
  listen: "0.0.0.0:%s"
  token_file: %s
  tls_cert: %s
  tls_key: %s
triggers:
  - name: api-port
    check: tcp
    target: 127.0.0.1:%s
    interval: 1s
`, lg.Name, dir, dir, dir, port, tokenFile, certFile, keyFile, port))
	var d *daemonProc
	t.Cleanup(func() {
		// Every log line of the daemon, debug ones included, once it stopped.
		if d != nil && d.stop() == nil && strings.Contains(d.log(), token) {
			t.Errorf("the token is in arpbox's log")
		}
	})
	d = startDaemon(t, gw, cfg)
	if !d.waitLog("arpbox recording", 20*time.Second) {
		t.Fatal("arpbox did not start recording")
	}

	// The client dials from inside the daemon's namespace, over loopback
	// (no ARP on the captured link), to an address the config opens to
	// everyone, so the token is required.
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		var c net.Conn
		err := gw.Do(func() error {
			var err error
			c, err = (&net.Dialer{}).DialContext(ctx, network, addr)
			return err
		})
		return c, err
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext:     dial,
		TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"},
	}}
	base := "https://127.0.0.1:" + port
	call := func(method, path, tok string, body io.Reader) (int, []byte) {
		t.Helper()
		req, err := http.NewRequest(method, base+path, body)
		if err != nil {
			t.Fatal(err)
		}
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		return resp.StatusCode, b
	}

	deadline := time.Now().Add(10 * time.Second)
	for {
		if code, _ := call("GET", "/healthz", token, nil); code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("/healthz never answered 200")
		}
		time.Sleep(100 * time.Millisecond)
	}

	for _, tc := range []struct {
		name, tok string
		want      int
	}{{"no token", "", 401}, {"wrong token", strings.Repeat("0", len(token)), 401}, {"right token", token, 200}} {
		for _, path := range []string{"/v1/status", "/metrics"} {
			if code, body := call("GET", path, tc.tok, nil); code != tc.want {
				t.Errorf("%s: GET %s = %d, want %d: %s", tc.name, path, code, tc.want, body)
			}
		}
	}
	if fi, err := os.Stat(dir + "/arpbox.sock"); err != nil || fi.Mode().Perm() != 0o660 {
		t.Errorf("control socket: %v, %v; want mode 0660", fi, err)
	}

	// ARP requests for an address nobody has: exactly sent frames on the
	// wire, no replies.
	const sent = 40
	// arping exits 1 when nothing answers; what it sent is in its summary.
	out, _ := peer.Run("arping", "-c", fmt.Sprint(sent), "-W", "0.02", "-i", lp.Name, "10.209.1.77")
	if !strings.Contains(out, fmt.Sprintf("%d packets transmitted", sent)) {
		t.Fatalf("arping did not send %d requests: %s", sent, out)
	}
	var frames float64
	deadline = time.Now().Add(10 * time.Second)
	for {
		fams := scrape(t, call, token)
		frames = value(t, fams, recorder.MetricFrames, map[string]string{"interface": lg.Name})
		if frames >= sent || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(time.Second) // nothing more arrives
	fams := scrape(t, call, token)
	frames = value(t, fams, recorder.MetricFrames, map[string]string{"interface": lg.Name})
	if frames != sent {
		t.Errorf("%s = %v, want the %d frames arping sent", recorder.MetricFrames, frames, sent)
	}
	recordedBytes := value(t, fams, recorder.MetricBytes, map[string]string{"interface": lg.Name})
	if v := value(t, fams, recorder.MetricTriggerState, map[string]string{"trigger": "api-port", "state": "up"}); v != 1 {
		t.Errorf("%s{trigger=api-port,state=up} = %v, want 1", recorder.MetricTriggerState, v)
	}
	if h := fams[recorder.MetricCheckDuration]; h == nil || len(h.Metric) == 0 || h.Metric[0].GetHistogram().GetSampleCount() == 0 {
		t.Errorf("%s has no samples: %v", recorder.MetricCheckDuration, h)
	}
	var st struct {
		Interfaces []struct {
			Name           string `json:"name"`
			FramesRecorded uint64 `json:"frames_recorded"`
		} `json:"interfaces"`
		Triggers []struct {
			Name        string  `json:"name"`
			LastResult  string  `json:"last_result"`
			LastLatency float64 `json:"last_latency_seconds"`
		} `json:"triggers"`
	}
	if code, body := call("GET", "/v1/status", token, nil); code != 200 || json.Unmarshal(body, &st) != nil ||
		len(st.Triggers) != 1 || st.Triggers[0].LastResult != "ok" || st.Triggers[0].LastLatency <= 0 ||
		len(st.Interfaces) != 1 || st.Interfaces[0].FramesRecorded != sent {
		t.Errorf("status: %d %s", code, body)
	}

	// A bundle, over the API, downloaded byte for byte.
	code, body := call("POST", "/v1/snapshot", token, strings.NewReader(`{"reason": "over https"}`))
	var rep struct{ ID, Zip string }
	if code != 200 || json.Unmarshal(body, &rep) != nil || rep.Zip == "" {
		t.Fatalf("POST /v1/snapshot = %d %s", code, body)
	}
	code, got := call("GET", "/v1/snapshots/"+rep.ID+".zip", token, nil)
	want, err := os.ReadFile(rep.Zip)
	if err != nil {
		t.Fatal(err)
	}
	if code != 200 || !bytes.Equal(got, want) {
		t.Errorf("download of %s: status %d, %d bytes; the zip has %d", rep.ID, code, len(got), len(want))
	}
	if code, _ := call("GET", "/v1/snapshots/"+rep.ID+".zip", "", nil); code != 401 {
		t.Errorf("download without the token: %d, want 401", code)
	}
	fams = scrape(t, call, token)
	if v := value(t, fams, recorder.MetricSnapshots, nil); v != 1 {
		t.Errorf("%s = %v, want 1", recorder.MetricSnapshots, v)
	}
	if v := value(t, fams, recorder.MetricBundleBytes, nil); v < float64(len(want)) {
		t.Errorf("%s = %v, want at least the zip's %d bytes", recorder.MetricBundleBytes, v, len(want))
	}

	// Ids that would leave the snapshots directory, sent raw.
	for _, p := range []string{"../ring.zip", "..%2F..%2Fetc%2Fpasswd.zip", "..%2Fsnapshots%2F" + rep.ID + ".zip", "%2E%2E.zip", rep.ID + "%00.zip"} {
		code, reply := rawHTTPS(t, dial, pool, port, "/v1/snapshots/"+p, token)
		if code == 200 {
			t.Errorf("GET /v1/snapshots/%s = 200 (%d bytes)", p, len(reply))
		}
	}
	// A 10 MB body.
	if code, body := call("POST", "/v1/snapshot", token, strings.NewReader(`{"reason":"`+strings.Repeat("x", 10<<20)+`"}`)); code != http.StatusRequestEntityTooLarge {
		t.Errorf("10 MB body: %d, want 413: %.200s", code, body)
	}

	// The scrape passes promtool's lint.
	if promtool, err := exec.LookPath("promtool"); err != nil {
		t.Log("promtool not installed (Debian package prometheus): metrics not linted")
	} else {
		_, text := call("GET", "/metrics", token, nil)
		cmd := exec.Command(promtool, "check", "metrics")
		cmd.Stdin = bytes.NewReader(text)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool check metrics: %v\n%s", err, out)
		}
	}

	if err := d.stop(); err != nil {
		t.Fatalf("arpbox exit: %v", err)
	}
	// The ring holds what the counters said: arping's requests, their bytes.
	sealed, _ := ringFiles(t, dir+"/ring")
	inRing, requests, ringBytes := 0, 0, 0
	for _, f := range sealed {
		inRing += capinfosCount(t, f)
		out, err := exec.Command("tshark", "-r", f, "-T", "fields", "-E", "separator=/t", "-e", "frame.cap_len", "-e", "arp.dst.proto_ipv4").Output()
		if err != nil {
			t.Fatalf("tshark %s: %v", f, err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			var n int
			var tpa string
			fmt.Sscanf(line, "%d\t%s", &n, &tpa)
			ringBytes += n
			if tpa == "10.209.1.77" {
				requests++
			}
		}
	}
	if inRing != sent || requests != sent {
		t.Errorf("the ring holds %d frames (%d of them arping's requests); the counter said %v, arping sent %d", inRing, requests, frames, sent)
	}
	if float64(ringBytes) != recordedBytes {
		t.Errorf("%s = %v, the ring's frames hold %d bytes", recorder.MetricBytes, recordedBytes, ringBytes)
	}
}

type caller func(method, path, tok string, body io.Reader) (int, []byte)

// scrape reads /metrics and parses it.
func scrape(t *testing.T, call caller, token string) map[string]*dto.MetricFamily {
	t.Helper()
	code, text := call("GET", "/metrics", token, nil)
	if code != 200 {
		t.Fatalf("GET /metrics = %d: %s", code, text)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(text))
	if err != nil {
		t.Fatalf("parse /metrics: %v\n%s", err, text)
	}
	return fams
}

// value returns the value of the sample of name whose labels include want.
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	t.Helper()
	f := fams[name]
	if f == nil {
		t.Fatalf("no metric %s", name)
	}
next:
	for _, m := range f.Metric {
		for k, v := range want {
			found := false
			for _, l := range m.Label {
				if l.GetName() == k && l.GetValue() == v {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		}
	}
	t.Fatalf("no sample of %s with labels %v", name, want)
	return 0
}

// rawHTTPS sends path as written (a client would clean "../").
func rawHTTPS(t *testing.T, dial func(context.Context, string, string) (net.Conn, error), pool *x509.CertPool, port, path, token string) (int, []byte) {
	t.Helper()
	nc, err := dial(context.Background(), "tcp", "127.0.0.1:"+port)
	if err != nil {
		t.Fatal(err)
	}
	c := tls.Client(nc, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: arpbox\r\nAuthorization: Bearer %s\r\nConnection: close\r\n\r\n", path, token)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}
