package capture

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/arpbox/arpbox/analyze"
	"github.com/arpbox/arpbox/internal/pcapng"
)

// FileInterface is one interface of a capture file, as its pcapng
// interface description block (or pcap file header) describes it; replay
// records its frames under the same description.
type FileInterface struct {
	Name        string // if_name, or "if<N>" where the block has none, or the file's name for pcap
	Description string // if_description
	OS          string // if_os
	Filter      string // if_filter
	LinkType    uint16 // LINKTYPE_*
	SnapLen     uint32
}

// FileInfo is what a capture file says about itself.
type FileInfo struct {
	// Interfaces are those of every section, in file order: Batch.Iface of
	// a replayed frame indexes them.
	Interfaces []FileInterface
	// First is the first packet's timestamp (in file order); zero if the
	// file holds no timestamped packet.
	First time.Time
	// Hardware and OS are the first section's shb_hardware and shb_os:
	// where the capture was made, if it says.
	Hardware, OS string
	// sections[s] is the index in Interfaces of section s's first one.
	sections []int
}

// iface returns the index in Interfaces of interface id of section s, or -1.
func (fi *FileInfo) iface(section, id int) int {
	if section < 0 || section >= len(fi.sections) {
		return -1
	}
	i := fi.sections[section] + id
	end := len(fi.Interfaces)
	if section+1 < len(fi.sections) {
		end = fi.sections[section+1]
	}
	if id < 0 || i >= end {
		return -1
	}
	return i
}

// ReadFileInfo reads the interfaces of a capture file (pcap or pcapng,
// optionally gzip-compressed) and its first packet's time. It reads the
// whole file, since a pcapng interface block may come after packets of
// other interfaces; a torn tail is ReplayFile's to report. A file none of
// whose interfaces has a link type replay reads (LinkReadable) is an error.
func ReadFileInfo(path string) (FileInfo, error) {
	var fi FileInfo
	r, err := openReader(path)
	if err != nil {
		return fi, err
	}
	defer r.Close()
	if r.Format() == pcapng.FormatPcap {
		in := r.Interfaces()[0]
		fi.Interfaces = []FileInterface{{Name: filepath.Base(path), LinkType: in.LinkType, SnapLen: in.SnapLen}}
		fi.sections = []int{0}
		var p pcapng.Packet
		if r.Next(&p) == nil {
			fi.First = time.Unix(0, p.Timestamp)
		}
		return fi, fi.checkLinks(path)
	}
	// Sections are told apart by their packets (Packet.Section); an
	// interface declared after its section's last packet has no frames to
	// replay and is left out.
	fi.Hardware, fi.OS = r.Section().Hardware, r.Section().OS
	var p pcapng.Packet
	section := -1
	var cur []pcapng.Interface // the current section's interfaces, copied
	endSection := func() {
		for _, in := range cur {
			name := in.Name
			if name == "" {
				name = fmt.Sprintf("if%d", len(fi.Interfaces))
			}
			fi.Interfaces = append(fi.Interfaces, FileInterface{Name: name, Description: in.Description, OS: in.OS,
				Filter: in.Filter, LinkType: in.LinkType, SnapLen: in.SnapLen})
		}
		cur = cur[:0]
	}
	for {
		err := r.Next(&p)
		if err != nil {
			if section < 0 { // no packets: the interfaces of the first section
				cur = append(cur, r.Interfaces()...)
				fi.sections = append(fi.sections, 0)
			}
			if errors.Is(err, io.EOF) || errors.Is(err, pcapng.ErrTruncated) {
				break
			}
			return fi, fmt.Errorf("replay %s: %w", path, err)
		}
		if p.Section != section {
			endSection()
			for section < p.Section {
				fi.sections = append(fi.sections, len(fi.Interfaces))
				section++
			}
		}
		if ifs := r.Interfaces(); len(ifs) > len(cur) {
			cur = append(cur, ifs[len(cur):]...)
		}
		if fi.First.IsZero() && p.Kind != pcapng.KindSimple {
			fi.First = time.Unix(0, p.Timestamp)
		}
	}
	endSection()
	return fi, fi.checkLinks(path)
}

// checkLinks refuses a file with interfaces none of which has a link type
// replay reads.
func (fi *FileInfo) checkLinks(path string) error {
	for _, in := range fi.Interfaces {
		if LinkReadable(in.LinkType) {
			return nil
		}
	}
	if len(fi.Interfaces) == 0 {
		return nil // nothing to replay
	}
	return fmt.Errorf("replay %s: link type %d: no interface of a link type arpbox reads (Ethernet, Linux cooked SLL and SLL2, 802.11, IPoIB, …)", path, fi.Interfaces[0].LinkType)
}

// LinkReadable reports whether frames of a link type (LINKTYPE_*) are read
// by replay: those the report decodes (analyze.LinkDecoded), so a replayed
// ring holds what `arpbox report` reads of the file.
func LinkReadable(link uint16) bool { return analyze.LinkDecoded(int(link)) }

// FileInterfaces names the interfaces of a capture file, in the order of
// the Batch.Iface values ReplayFile gives their frames (see ReadFileInfo).
func FileInterfaces(path string) ([]string, error) {
	fi, err := ReadFileInfo(path)
	if err != nil {
		return nil, err
	}
	if len(fi.Interfaces) == 0 {
		return nil, fmt.Errorf("replay %s: no interfaces in the file", path)
	}
	names := make([]string, len(fi.Interfaces))
	for i, in := range fi.Interfaces {
		names[i] = in.Name
	}
	return names, nil
}
