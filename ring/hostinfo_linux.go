package ring

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// hostInfo reads the CPU model from /proc/cpuinfo and the kernel from
// uname(2), as dumpcap does.
func hostInfo() Host {
	var h Host
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		h.OS = strings.TrimSpace(unix.ByteSliceToString(u.Sysname[:]) + " " + unix.ByteSliceToString(u.Release[:]))
	}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		h.Hardware = cpuModel(io.LimitReader(f, 1<<20))
		f.Close()
	}
	return h
}

// cpuModel finds the CPU model in /proc/cpuinfo: x86's "model name", or
// what ARM, POWER and RISC-V kernels call it instead.
func cpuModel(r io.Reader) string {
	fields := map[string]string{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		k, v, ok := bytes.Cut(sc.Bytes(), []byte(":"))
		if !ok {
			continue
		}
		key := string(bytes.TrimSpace(k))
		if _, seen := fields[key]; !seen {
			fields[key] = string(bytes.TrimSpace(v))
		}
	}
	for _, k := range []string{"model name", "Model", "Hardware", "cpu", "uarch"} {
		if v := fields[k]; v != "" {
			return v
		}
	}
	return ""
}
