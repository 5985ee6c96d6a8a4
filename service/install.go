package service

import (
	"os"
	"path/filepath"
	"slices"
)

// InstallSelf registers the running executable as the service, started
// with args followed, when config is not "", by "-config" and config's
// absolute path. check reads that configuration first (nothing is
// installed when it fails) and returns the data directory it names. That
// directory and the log file's hold evidence (ring, bundles, log): both
// are made with SecureDir, so that only SYSTEM and Administrators may read
// them or create files there.
func InstallSelf(args []string, config string, check func(config string) (dataDir string, err error)) error {
	return installSelf(args, config, check, SecureDir, Install)
}

// installSelf is InstallSelf with the directories secured by secure and
// the service installed by install.
func installSelf(args []string, config string, check func(string) (string, error), secure func(dir string) error, install func(exe string, args []string) error) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	args = slices.Clone(args)
	if config != "" {
		if config, err = filepath.Abs(config); err != nil {
			return err
		}
		args = append(args, "-config", config)
	}
	dataDir, err := check(config)
	if err != nil {
		return err
	}
	for _, dir := range []string{dataDir, filepath.Dir(LogFile())} {
		if err := secure(dir); err != nil {
			return err
		}
	}
	return install(exe, args)
}
