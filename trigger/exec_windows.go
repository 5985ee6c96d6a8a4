package trigger

import "os/exec"

// killGroupOnCancel keeps exec.CommandContext's default on Windows: the
// process itself is killed when the probe's context ends.
func killGroupOnCancel(cmd *exec.Cmd) {}
