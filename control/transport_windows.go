package control

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/arpbox/arpbox/internal/filekind"
)

// On Windows the control endpoint is a loopback TCP listener on a port the
// system picks, guarded by a secret: control.socket names a small file
// (default %ProgramData%\arpbox\control.json) that holds the address and a
// random token, created with a DACL that admits only LocalSystem (the
// service's account), Administrators and the account arpbox runs as. A
// client reads the file, connects, and sends the token before anything
// else; a connection that does not is closed. So only those who can read
// the file can control arpbox, as only those who can open the socket can
// on Linux. (Named pipes would do as well on Windows, but their overlapped
// I/O hangs under Wine, where the Windows build is tested, and Wine has no
// AF_UNIX.)

// tokenLen is the length of the hex token a client sends first.
const tokenLen = 64

// endpoint is the content of the control file.
type endpoint struct {
	Addr  string `json:"addr"`
	Token string `json:"token"`
}

// CheckPath checks a control.socket setting: the control file's path.
func CheckPath(path string) error {
	if !filepath.IsAbs(path) {
		return fmt.Errorf("%q is not an absolute path (on Windows, control.socket names the control file, e.g. C:\\ProgramData\\arpbox\\control.json)", path)
	}
	return nil
}

// FileSDDL is the security descriptor of the control file: protected (no
// inherited entries), full access for LocalSystem, Administrators and the
// account SID self (arpbox's own), nobody else.
func FileSDDL(self string) string {
	sddl := "D:P(A;;FA;;;SY)(A;;FA;;;BA)"
	if self != "" && self != "S-1-5-18" {
		sddl += "(A;;FA;;;" + self + ")"
	}
	return sddl
}

// selfSID is the SID of the account this process runs as.
func selfSID() (string, error) {
	u, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return "", err
	}
	return u.User.Sid.String(), nil
}

func readEndpoint(path string) (endpoint, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrPermission) {
			return endpoint{}, fmt.Errorf("control file %s: permission denied (run as Administrator or as the account arpbox runs as): %w", path, err)
		}
		return endpoint{}, fmt.Errorf("control file %s: %w", path, err)
	}
	var ep endpoint
	if err := json.Unmarshal(b, &ep); err != nil || len(ep.Token) != tokenLen || ep.Addr == "" {
		return endpoint{}, fmt.Errorf("control file %s: not an arpbox control file", path)
	}
	return ep, nil
}

// CheckAccess checks control.group and control.mode: on Windows the
// control file's DACL decides who may use it, so neither may be set.
func CheckAccess(group string, mode fs.FileMode) error {
	if group != "" || mode != 0 {
		return errors.New("control.group and control.mode are for the unix socket; on Windows the control file's DACL admits LocalSystem, Administrators and arpbox's account")
	}
	return nil
}

// listen writes the control file. Only a stale control file (its arpbox
// does not answer) or an empty one (a crash while writing it) is
// replaced; anything else at the path is an error, and stays.
func listen(path string, _ Access, log *slog.Logger) (net.Listener, error) {
	if err := CheckPath(path); err != nil {
		return nil, fmt.Errorf("control: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("control file %s: %w", path, err)
	}
	if fi, err := os.Lstat(path); err == nil {
		if !fi.Mode().IsRegular() {
			return nil, fmt.Errorf("control file %s: a %s is in the way (arpbox replaces only a stale control file): remove it or set another control.socket", path, filekind.Of(fi.Mode()))
		}
		ep, err := readEndpoint(path)
		switch {
		case err == nil && arpboxAnswers(ep):
			return nil, fmt.Errorf("%s: %w", path, ErrInUse)
		case err != nil && fi.Size() > 0:
			return nil, fmt.Errorf("control file %s: a file that is not arpbox's is in the way: remove it or set another control.socket: %w", path, err)
		}
	}
	sid, err := selfSID()
	if err != nil {
		return nil, fmt.Errorf("control file %s: reading this process's account: %w", path, err)
	}
	var raw [tokenLen / 2]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return nil, err
	}
	token := hex.EncodeToString(raw[:])
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("control listener: %w", err)
	}
	b, _ := json.Marshal(endpoint{Addr: ln.Addr().String(), Token: token})
	if err := writeProtected(path, b, FileSDDL(sid)); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control file %s: %w", path, err)
	}
	return &tokenListener{Listener: ln, path: path, token: []byte(token), log: log}, nil
}

// arpboxAnswers reports whether an arpbox serves the endpoint of a control
// file: a stale file (a killed arpbox) may name a port that another program
// has since taken, which must not stop this one from starting.
func arpboxAnswers(ep endpoint) bool {
	c, err := net.DialTimeout("tcp", ep.Addr, time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.WriteString(c, ep.Token+"GET /healthz HTTP/1.0\r\n\r\n"); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && strings.HasPrefix(line, "HTTP/")
}

// writeProtected replaces path with data, created with the DACL sddl.
func writeProtected(path string, data []byte, sddl string) error {
	sd, err := windows.SecurityDescriptorFromString(sddl)
	if err != nil {
		return err
	}
	sa := &windows.SecurityAttributes{Length: uint32(unsafe.Sizeof(windows.SecurityAttributes{})), SecurityDescriptor: sd}
	_ = os.Remove(path)
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return err
	}
	h, err := windows.CreateFile(p, windows.GENERIC_WRITE, 0, sa, windows.CREATE_NEW, windows.FILE_ATTRIBUTE_NORMAL, 0)
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(h), path)
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// tokenListener hands out connections whose first bytes must be the token.
type tokenListener struct {
	net.Listener
	path  string
	token []byte
	log   *slog.Logger
}

// removeOwned removes the control file if it still holds this listener's
// token (not another arpbox's, written since).
func (l *tokenListener) removeOwned() {
	if ep, err := readEndpoint(l.path); err == nil && subtle.ConstantTimeCompare([]byte(ep.Token), l.token) == 1 {
		_ = os.Remove(l.path)
	}
}

func (l *tokenListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &tokenConn{Conn: c, token: l.token, log: l.log}, nil
}

// tokenConn checks the token on its first Read (so one slow client never
// holds up Accept), and closes the connection when it is wrong.
type tokenConn struct {
	net.Conn
	token []byte
	log   *slog.Logger
	once  sync.Once
	err   error
}

func (c *tokenConn) Read(p []byte) (int, error) {
	c.once.Do(func() {
		_ = c.Conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		got := make([]byte, tokenLen)
		if _, err := io.ReadFull(c.Conn, got); err != nil || subtle.ConstantTimeCompare(got, c.token) != 1 {
			c.log.Warn("control: refused a connection without the control file's token", "remote", c.Conn.RemoteAddr().String())
			c.err = errors.New("control: connection refused: no valid token")
			c.Conn.Close()
			return
		}
		_ = c.Conn.SetReadDeadline(time.Time{})
	})
	if c.err != nil {
		return 0, c.err
	}
	return c.Conn.Read(p)
}

func dial(ctx context.Context, path string) (net.Conn, error) {
	ep, err := readEndpoint(path)
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", ep.Addr)
	if err != nil {
		return nil, err
	}
	if _, err := io.Copy(c, bytes.NewReader([]byte(ep.Token))); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}
