//go:build tools

// Package deps pins the modules the team is about to use, so go.mod stays
// stable while several packages are written at once. Removed once every
// dependency is imported by real code.
package deps

import (
	_ "github.com/fsnotify/fsnotify"
	_ "github.com/google/go-cmp/cmp"
	_ "github.com/gopacket/gopacket/afpacket"
	_ "github.com/gopacket/gopacket/layers"
	_ "github.com/gopacket/gopacket/pcapgo"
	_ "github.com/mdlayher/ethtool"
	_ "github.com/vishvananda/netlink"
	_ "golang.org/x/net/bpf"
	_ "golang.org/x/sync/errgroup"
	_ "golang.org/x/sys/unix"
	_ "gopkg.in/yaml.v3"
)
