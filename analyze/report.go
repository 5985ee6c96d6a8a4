package analyze

import (
	"time"
)

// Schema identifies the JSON report format. Fields are only ever added
// within one schema version; renames or removals change the version.
const Schema = "arpbox.report/v1"

// Mark is a labelled point in time, e.g. the trigger that froze a bundle.
type Mark struct {
	Time  time.Time `json:"time"`
	Label string    `json:"label"`
	// Check and Target are the trigger's check (tcp, arp, manual, …) and
	// what it checked (a bundle.Event's). The verdict leads with the
	// findings about the addresses in Target; without one (a manual
	// trigger, a host name, an HAProxy server) with the failures going on
	// at Time.
	Check  string `json:"check,omitempty"`
	Target string `json:"target,omitempty"`
	// WindowEnd is when recording stopped (a bundle window's end): the
	// capture ends then, not at its last packet, so a request is "not
	// judged" only within a reply timeout of WindowEnd. Zero: the last
	// packet.
	WindowEnd time.Time `json:"window_end,omitzero"`
}

// NeighborEvent is one neighbor-table state change (from a bundle's journal
// or passed in by the caller), drawn on the timeline.
type NeighborEvent struct {
	Time  time.Time `json:"time"`
	IP    string    `json:"ip"`
	State string    `json:"state"` // e.g. REACHABLE, STALE, INCOMPLETE, FAILED
	Side  string    `json:"side,omitempty"`
}

// Report is the result of an analysis. Its JSON encoding is the stable
// "arpbox.report/v1" schema documented in the package comment.
type Report struct {
	Schema   string          `json:"schema"`
	Settings Settings        `json:"settings"`
	Trigger  *Mark           `json:"trigger,omitempty"`
	Verdict  Verdict         `json:"verdict"`
	Sides    []SideReport    `json:"sides"`
	TwoSided []PairReport    `json:"two_sided,omitempty"`
	Neighbor []NeighborEvent `json:"neighbor_events,omitempty"`
	Incident *Incident       `json:"incident,omitempty"` // several hosts' bundles of one incident (multihost.go)
}

// Settings are the thresholds the analysis used.
type Settings struct {
	ReplyTimeoutMS int64 `json:"reply_timeout_ms"`
	StormRate      int   `json:"storm_rate_per_s"`
}

// Verdict ranks the findings, most likely explanation of a failure first.
type Verdict struct {
	Summary  string    `json:"summary"`
	Findings []Finding `json:"findings"`
}

// Finding kinds.
const (
	FindUnanswered    = "unanswered"        // requests for an IP got no reply
	FindTwoSided      = "two-sided"         // where, between two captures, exchanges failed
	FindDuplicate     = "duplicate"         // two MACs answered the same request
	FindFlipFlop      = "flip-flop"         // an IP moved back and forth between MACs
	FindMACChange     = "mac-change"        // an IP moved to a new MAC
	FindProbeConflict = "probe-conflict"    // an RFC 5227 probe / DAD was answered
	FindUnicastStale  = "unicast-refresh"   // unicast requests unanswered, broadcast answered
	FindStorm         = "storm"             // request rate spike from one sender
	FindMismatch      = "mismatch"          // Ethernet source ≠ ARP sender MAC
	FindGratuitous    = "gratuitous"        // gratuitous ARP, announcements, unsolicited NA
	FindLatency       = "slow-replies"      // replies came, but slowly
	FindSpoof         = "unsolicited-reply" // a reply nobody asked for claimed another MAC's or a gateway's address
	FindMultiIP       = "multi-ip"          // one MAC answers for several addresses
	FindBogon         = "bogon"             // addresses outside the host's subnets claimed on the link
)

// Severity levels, in the order the verdict ranks them.
const (
	SevLikely   = "likely cause"
	SevPossible = "possible cause"
	SevInfo     = "informational"
)

// Finding is one explained observation with the evidence behind it.
type Finding struct {
	Rank     int        `json:"rank"`
	Kind     string     `json:"kind"`
	Severity string     `json:"severity"`
	Score    int        `json:"score"` // 0-100, how likely it explains a failure
	Side     string     `json:"side"`
	IP       string     `json:"ip,omitempty"`
	VLAN     string     `json:"vlan,omitempty"`
	MACs     []string   `json:"macs,omitempty"`
	Title    string     `json:"title"`
	Summary  string     `json:"summary"`
	First    time.Time  `json:"first"`
	Last     time.Time  `json:"last"`
	Count    uint64     `json:"count"`
	Evidence []Evidence `json:"evidence,omitempty"`

	never bool      // an address that never answered: merged when there are many
	end   time.Time // when it stopped: the recovery of an outage, else Last
	class int       // verdict order before the score: 0 the trigger's target, 1 going on at the trigger, 2 the rest
}

// Evidence names frames to look at: 1-based frame numbers as Wireshark shows
// them, per input file. Frames is a sample (the first few and the last);
// Total is how many frames the entry stands for: the listed ones plus those
// left out before the last listed frame. When a finding's frames span
// several files there is one entry per file.
type Evidence struct {
	Side   string   `json:"side"`
	File   string   `json:"file"`
	Frames []uint64 `json:"frames"`
	Total  uint64   `json:"total"`
	Note   string   `json:"note,omitempty"`
}

// SideReport describes one input (one capture point).
type SideReport struct {
	Name           string           `json:"name"`
	Path           string           `json:"path"`
	Files          []FileReport     `json:"files"`
	Packets        uint64           `json:"packets"`
	ARP            uint64           `json:"arp"`
	NDP            uint64           `json:"ndp"`
	First          time.Time        `json:"first"`
	Last           time.Time        `json:"last"`
	Targets        []TargetReport   `json:"targets"`
	TargetsOmitted int              `json:"targets_omitted,omitempty"`
	Untracked      uint64           `json:"untracked_addresses,omitempty"` // addresses not tracked: limit reached
	Storms         []StormReport    `json:"storms,omitempty"`
	Mismatches     []MismatchReport `json:"mismatches,omitempty"`
	TopSenders     []SenderReport   `json:"top_senders,omitempty"`
	// NotDecoded counts the frames that may carry neighbor resolution but
	// were not analysed, by cause, most frames first.
	NotDecoded []NotDecoded `json:"not_decoded,omitempty"`
}

// FileReport describes one file read for a side.
type FileReport struct {
	Name      string    `json:"name"`
	Format    string    `json:"format"`
	Packets   uint64    `json:"packets"`
	First     time.Time `json:"first,omitzero"`
	Last      time.Time `json:"last,omitzero"`
	Truncated bool      `json:"truncated"`
	Error     string    `json:"error,omitempty"`
}

// Seen is one packet from the capture.
type Seen struct {
	Time  time.Time `json:"time"`
	MAC   string    `json:"mac"`
	File  string    `json:"file"`
	Frame uint64    `json:"frame"`
}

// TargetReport is everything seen about one IP address.
type TargetReport struct {
	IP                string          `json:"ip"`
	VLAN              string          `json:"vlan,omitempty"`
	Proto             string          `json:"proto"`
	Requests          uint64          `json:"requests"`
	Broadcast         uint64          `json:"broadcast_requests"`
	Unicast           uint64          `json:"unicast_requests"`
	Replies           uint64          `json:"replies"`
	Answered          uint64          `json:"answered"`
	Unanswered        uint64          `json:"unanswered"`
	Probes            uint64          `json:"probes"`
	Announcements     uint64          `json:"announcements"`
	GratuitousReplies uint64          `json:"gratuitous_replies"`
	Latency           *LatencyReport  `json:"latency,omitempty"`
	MACs              []MACReport     `json:"macs,omitempty"`
	LastReply         *Seen           `json:"last_reply,omitempty"`
	Episodes          []EpisodeReport `json:"unanswered_episodes,omitempty"`
	MACChanges        []MACChange     `json:"mac_changes,omitempty"`
	Duplicates        []Conflict      `json:"duplicates,omitempty"`
	ProbeConflicts    []Conflict      `json:"probe_conflicts,omitempty"`
	Flips             uint64          `json:"flip_flops"`
	// Unsolicited counts replies that answered no request seen from their
	// asker; Claims lists those that claimed the address for another MAC
	// than the one holding it (ARP spoofing or a takeover).
	Unsolicited uint64        `json:"unsolicited_replies,omitempty"`
	Claims      []Unsolicited `json:"unsolicited_claims,omitempty"`

	timeline timeline
	origin   int64
}

// Unsolicited is one reply nobody asked for that claimed an address.
type Unsolicited struct {
	Time  time.Time `json:"time"`
	MAC   string    `json:"mac"`
	Held  string    `json:"held,omitempty"` // the MAC that held the address before
	To    string    `json:"to"`             // the asker the reply was addressed to
	File  string    `json:"file"`
	Frame uint64    `json:"frame"`
}

// LatencyReport summarises reply latency (request to first reply).
type LatencyReport struct {
	Count uint64  `json:"count"`
	P50MS float64 `json:"p50_ms"`
	P99MS float64 `json:"p99_ms"`
	MaxMS float64 `json:"max_ms"`
}

// MACReport is one hardware address seen claiming an IP.
type MACReport struct {
	MAC   string    `json:"mac"`
	First time.Time `json:"first"`
	Last  time.Time `json:"last"`
	Count uint64    `json:"packets"`
}

// EpisodeReport is a run of consecutive unanswered requests for one IP.
type EpisodeReport struct {
	Start           time.Time     `json:"start"`
	End             time.Time     `json:"end"` // time of the last unanswered request
	Count           uint64        `json:"count"`
	Unicast         uint64        `json:"unicast"`
	Askers          []AskerReport `json:"askers"`
	LastReplyBefore *Seen         `json:"last_reply_before,omitempty"`
	RecoveredAt     *Seen         `json:"recovered,omitempty"`
	Evidence        []Evidence    `json:"evidence"`
}

// AskerReport is who sent unanswered requests.
type AskerReport struct {
	IP    string `json:"ip"`
	MAC   string `json:"mac"`
	Count uint64 `json:"count"`
}

// MACChange is an IP moving from one MAC to another.
type MACChange struct {
	Time  time.Time `json:"time"`
	From  string    `json:"from"`
	To    string    `json:"to"`
	Via   string    `json:"via"` // packet kind that carried the new MAC
	File  string    `json:"file"`
	Frame uint64    `json:"frame"`
}

// Conflict is two MACs claiming one IP at once: both answered one request
// (duplicate), or a probe was answered (probe conflict).
type Conflict struct {
	Time   time.Time `json:"time"`
	MACs   [2]string `json:"macs"`
	Asker  string    `json:"asker,omitempty"`
	File   string    `json:"file"`
	Frames [2]uint64 `json:"frames"`
}

// StormReport is a burst of requests from one sender.
type StormReport struct {
	MAC      string     `json:"mac"`
	IP       string     `json:"ip"`
	Start    time.Time  `json:"start"`
	End      time.Time  `json:"end"`
	Packets  uint64     `json:"packets"`
	PeakPerS int        `json:"peak_per_s"`
	Evidence []Evidence `json:"evidence"`
}

// MismatchReport is frames whose Ethernet source differs from the ARP sender MAC.
type MismatchReport struct {
	EthernetSrc string     `json:"ethernet_src"`
	SenderMAC   string     `json:"sender_mac"`
	SenderIP    string     `json:"sender_ip"`
	First       time.Time  `json:"first"`
	Last        time.Time  `json:"last"`
	Evidence    []Evidence `json:"evidence"`
}

// SenderReport is request volume per sender.
type SenderReport struct {
	MAC      string `json:"mac"`
	IP       string `json:"ip"`
	Requests uint64 `json:"requests"`
}

// PairReport is the two-sided analysis of two inputs.
type PairReport struct {
	Sides       [2]string     `json:"sides"`
	OffsetMS    float64       `json:"clock_offset_ms"` // Sides[1]'s clock minus Sides[0]'s
	OffsetBasis string        `json:"offset_basis"`
	Matched     uint64        `json:"matched_requests"`
	Exchanges   []PairFailure `json:"failures"`
	Truncated   bool          `json:"truncated,omitempty"`
}

// Two-sided failure classes.
const (
	NeverArrived = "request never arrived"
	NoReplySent  = "request arrived, no reply sent"
	ReplyLost    = "reply sent but never arrived"
)

// PairFailure aggregates unanswered exchanges from one asker to one target
// by where they failed.
type PairFailure struct {
	Class     string     `json:"class"`
	Asker     string     `json:"asker"`
	Target    string     `json:"target"`
	VLAN      string     `json:"vlan,omitempty"`
	AskerSide string     `json:"asker_side"`
	OtherSide string     `json:"other_side"`
	Count     uint64     `json:"count"`
	First     time.Time  `json:"first"`
	Last      time.Time  `json:"last"`
	ReplyMAC  string     `json:"reply_mac,omitempty"`
	Evidence  []Evidence `json:"evidence"`
}
