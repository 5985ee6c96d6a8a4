package service

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestInstallSelf(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	errBad := errors.New("arpbox.yaml:2: ring.segment_size: bad")
	tests := []struct {
		name       string
		config     string
		checkErr   error
		wantConfig string   // what check is given
		wantArgs   []string // what the service runs (nil: nothing installed)
		wantErr    error
	}{
		{"the embedded default", "", nil, "", []string{"run", "-service"}, nil},
		{"a relative path becomes absolute", "arpbox.yaml", nil, filepath.Join(wd, "arpbox.yaml"),
			[]string{"run", "-service", "-config", filepath.Join(wd, "arpbox.yaml")}, nil},
		{"a bad configuration installs nothing", "arpbox.yaml", errBad, filepath.Join(wd, "arpbox.yaml"), nil, errBad},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var gotConfig string
			var secured []string
			var gotExe string
			var gotArgs []string
			base := []string{"run", "-service"}
			err := installSelf(base, tt.config, func(c string) (string, error) {
				gotConfig = c
				return "/var/lib/arpbox-test", tt.checkErr
			}, func(dir string) error {
				secured = append(secured, dir)
				return nil
			}, func(exe string, args []string) error {
				gotExe, gotArgs = exe, args
				return nil
			})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if gotConfig != tt.wantConfig {
				t.Errorf("check got %q, want %q", gotConfig, tt.wantConfig)
			}
			if diff := cmp.Diff(tt.wantArgs, gotArgs); diff != "" {
				t.Errorf("installed args (-want +got):\n%s", diff)
			}
			if tt.wantArgs == nil {
				if secured != nil || gotExe != "" {
					t.Errorf("after a failed check: secured %q, installed %q", secured, gotExe)
				}
				return
			}
			if gotExe != exe {
				t.Errorf("installed %q, want this executable %q", gotExe, exe)
			}
			if want := []string{"/var/lib/arpbox-test", filepath.Dir(LogFile())}; !cmp.Equal(want, secured) {
				t.Errorf("secured %q, want %q", secured, want)
			}
			if diff := cmp.Diff([]string{"run", "-service"}, base); diff != "" {
				t.Errorf("the caller's args changed (-want +got):\n%s", diff)
			}
		})
	}
}

// Securing a directory stops the install where it fails.
func TestInstallSelfSecureFails(t *testing.T) {
	errDenied := errors.New("access denied")
	installed := false
	err := installSelf(nil, "", func(string) (string, error) { return "/data", nil },
		func(string) error { return errDenied },
		func(string, []string) error { installed = true; return nil })
	if !errors.Is(err, errDenied) || installed {
		t.Errorf("err = %v, installed = %v; want %v and nothing installed", err, installed, errDenied)
	}
}

// Elsewhere than Windows there is no service manager to install into.
func TestInstallSelfUnsupported(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("skipping on Windows: installing there registers a real service (the Wine test in cmd/arpbox does)")
	}
	checked := false
	err := InstallSelf([]string{"run", "-service"}, "", func(string) (string, error) { checked = true; return t.TempDir(), nil })
	if !errors.Is(err, errors.ErrUnsupported) || !checked {
		t.Errorf("InstallSelf = %v (config checked: %v); want errors.ErrUnsupported after the check", err, checked)
	}
}
