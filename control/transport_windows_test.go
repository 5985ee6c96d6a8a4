package control

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/windows"

	"github.com/arpbox/arpbox/internal/wine"
)

func serveWindows(t *testing.T, api API) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "control.json")
	s := NewServer(path, api, nil)
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
	})
	return path
}

// TestWindowsRoundTrip: a client that reads the control file gets the
// API; a second daemon on the same control file is refused.
func TestWindowsRoundTrip(t *testing.T) {
	path := serveWindows(t, API{Status: func() any { return map[string]string{"state": "recording"} }})
	var st map[string]string
	if err := NewClient(path).Status(context.Background(), &st); err != nil || st["state"] != "recording" {
		t.Fatalf("Status = %v, %v", st, err)
	}
	if _, err := NewServer(path, API{}, nil).Listen(); !errors.Is(err, ErrInUse) {
		t.Errorf("second Listen on a live control file = %v, want ErrInUse", err)
	}
}

// TestWindowsTokenRequired: a connection to the listener that does not
// start with the control file's token gets no answer, whether it sends a
// plain HTTP request or a wrong token.
func TestWindowsTokenRequired(t *testing.T) {
	path := serveWindows(t, API{Status: func() any { return "secret state" }})
	ep, err := readEndpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	for name, prefix := range map[string]string{
		"no token":    "",
		"wrong token": strings.Repeat("0", tokenLen),
		"short token": ep.Token[:10],
	} {
		c, err := net.DialTimeout("tcp", ep.Addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		// Longer than a token, so the server judges it at once.
		_, _ = c.Write([]byte(prefix + "GET /v1/status HTTP/1.1\r\nHost: arpbox\r\nUser-Agent: a-client-without-the-token\r\n\r\n"))
		line, err := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if err == nil || strings.Contains(line, "200") {
			t.Errorf("%s: got %q, %v; want the connection closed without an answer", name, line, err)
		}
	}
}

// TestWindowsControlFileDACL reads the control file's security descriptor
// back: a protected DACL for LocalSystem, Administrators and this process's
// account only. (Wine does not enforce file DACLs, so a refused read by
// another account can only be shown on Windows itself; the DACL is what
// Windows checks there.)
func TestWindowsControlFileDACL(t *testing.T) {
	path := serveWindows(t, API{})
	sd, err := windows.GetNamedSecurityInfo(path, windows.SE_FILE_OBJECT, windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		t.Fatalf("GetNamedSecurityInfo %s: %v", path, err)
	}
	sddl := sd.String()
	self, err := selfSID()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("control file DACL: %s", sddl)
	for _, who := range []string{";;;WD)", ";;;AU)", ";;;BU)", ";;;AN)"} {
		if strings.Contains(sddl, who) {
			t.Errorf("DACL %q grants access to %s", sddl, strings.Trim(who, ";)"))
		}
	}
	// What arpbox asks Windows for, whole:
	if want := "D:P(A;;FA;;;SY)(A;;FA;;;BA)(A;;FA;;;" + self + ")"; self != "S-1-5-18" && FileSDDL(self) != want {
		t.Errorf("FileSDDL = %q, want %q", FileSDDL(self), want)
	}
	wine.SkipIf(t, "Wine keeps only part of a file's DACL (it drops Administrators and the protected flag)")
	if !strings.HasPrefix(sddl, "D:P") {
		t.Errorf("DACL %q is not protected (inherits entries)", sddl)
	}
	want := []string{";;;SY)", ";;;BA)"}
	if self != "S-1-5-18" {
		want = append(want, ";;;"+self+")")
	}
	for _, who := range want {
		if !strings.Contains(sddl, who) {
			t.Errorf("DACL %q grants nothing to %s", sddl, strings.Trim(who, ";)"))
		}
	}
}

func TestCheckPathWindows(t *testing.T) {
	for path, ok := range map[string]bool{`C:\ProgramData\arpbox\control.json`: true, `control.json`: false} {
		if err := CheckPath(path); (err == nil) != ok {
			t.Errorf("CheckPath(%q) = %v", path, err)
		}
	}
}

// TestWindowsStaleControlFile: a control file left by a killed arpbox that
// names a port another program now listens on does not stop a new start.
func TestWindowsStaleControlFile(t *testing.T) {
	other, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	go func() {
		for {
			c, err := other.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	path := filepath.Join(t.TempDir(), "control.json")
	stale := fmt.Sprintf(`{"addr":%q,"token":%q}`, other.Addr().String(), strings.Repeat("a", tokenLen))
	if err := os.WriteFile(path, []byte(stale), 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := NewServer(path, API{}, nil).Listen()
	if err != nil {
		t.Fatalf("Listen over a stale control file: %v", err)
	}
	ln.Close()
}

// TestWindowsWhatIsInTheWay: Listen replaces a stale control file (its
// arpbox gone) or an empty one, and refuses a directory or a file that is
// not arpbox's, leaving it in place; at exit it removes only its own.
func TestWindowsWhatIsInTheWay(t *testing.T) {
	for _, tc := range []struct {
		name    string
		make    func(path string) error
		wantErr string
	}{
		{"stale control file", func(p string) error {
			return os.WriteFile(p, []byte(`{"addr":"127.0.0.1:1","token":"`+strings.Repeat("0", tokenLen)+`"}`), 0o600)
		}, ""},
		{"empty file", func(p string) error { return os.WriteFile(p, nil, 0o600) }, ""},
		{"someone's file", func(p string) error { return os.WriteFile(p, []byte("keep me"), 0o600) }, "a file that is not arpbox's is in the way"},
		{"directory", func(p string) error { return os.Mkdir(p, 0o700) }, "a directory is in the way"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "control.json")
			if err := tc.make(path); err != nil {
				t.Fatal(err)
			}
			s := NewServer(path, API{}, nil)
			ln, err := s.Listen()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Listen = %v", err)
				}
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				if err := s.Run(ctx, ln); err != nil {
					t.Fatal(err)
				}
				if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("control file left after Run: %v", err)
				}
				return
			}
			if err == nil {
				ln.Close()
				t.Fatalf("Listen succeeded, want %q", tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), path) {
				t.Errorf("Listen = %v, want %q and the path", err, tc.wantErr)
			}
			if _, err := os.Stat(path); err != nil {
				t.Errorf("what was in the way is gone: %v", err)
			}
		})
	}
}
