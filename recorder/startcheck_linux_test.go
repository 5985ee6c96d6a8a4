package recorder

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/arpbox/arpbox/configs"
)

// startChildEnv makes the test binary the unprivileged recorder of
// TestCaptureRefusedIsAStartError.
const startChildEnv = "ARPBOX_START_CHILD"

// TestCaptureRefusedIsAStartError: a recorder whose capture fails before it
// was ever ready (user nobody may not open AF_PACKET) could not start: Run
// returns a *StartError (logged "arpbox could not start"), not the error
// of a recorder that stopped.
func TestCaptureRefusedIsAStartError(t *testing.T) {
	if dir := os.Getenv(startChildEnv); dir != "" {
		cfg, err := configs.Load(filepath.Join(dir, "arpbox.yaml"))
		if err != nil {
			fmt.Println("CONFIG", err)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err = New(cfg, nil, Options{Ready: func() { fmt.Println("READY") }}).Run(ctx)
		var se *StartError
		if errors.As(err, &se) {
			fmt.Println("STARTERROR", err)
			return
		}
		fmt.Println("OTHER", err)
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("skipping: needs root to run the recorder as user nobody")
	}
	dir := t.TempDir()
	top := filepath.Clean(os.TempDir())
	for d := dir; strings.HasPrefix(d, top+string(filepath.Separator)); d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf("data_dir: %s\ncapture:\n  interfaces: [lo]\ncontrol:\n  socket: %s/arpbox.sock\ntriggers: []\n", dir, dir)
	if err := os.WriteFile(filepath.Join(dir, "arpbox.yaml"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "recorder.test")
	self, err := os.ReadFile("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, self, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^TestCaptureRefusedIsAStartError$")
	cmd.Env = append(os.Environ(), startChildEnv+"="+dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, _ := cmd.CombinedOutput()
	if !strings.Contains(string(out), "STARTERROR") || !strings.Contains(string(out), "operation not permitted") || strings.Contains(string(out), "READY") {
		t.Fatalf("recorder as nobody: want a *StartError for the refused capture and no Ready:\n%s", out)
	}
	t.Logf("%s", out)
}
