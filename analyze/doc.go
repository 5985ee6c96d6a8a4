// Package analyze decodes ARP and NDP from captures and explains neighbor-resolution failures.
//
// It reads pcap and pcapng files (either gzip-compressed), arpbox bundles
// (directory or zip) and ring directories as a stream with bounded memory,
// decodes Ethernet (802.1Q and QinQ tags, Linux cooked captures v1 and v2,
// LLC/SNAP), IEEE 802.11 data frames (radiotap, PPI, Prism, AVS), IP over
// InfiniBand, and ARP inside VXLAN, Geneve, GRE/ERSPAN and MPLS tunnels,
// then ARP (RFC 826) and IPv6 neighbor solicitations and advertisements
// (RFC 4861) without allocating per packet (see outer.go). Frames that may
// carry ARP but cannot be read (other link types, RARP, ARP for other
// hardware, unreadable tunnels, encrypted 802.11) are counted by cause, and
// the verdict says so. A file with a malformed header or block, or of a
// version nobody reads, is an error naming the file, offset and reason. It
// finds:
//
//   - unanswered requests per target address, grouped into outages, with who
//     asked and the last reply seen before (and after) the outage;
//   - reply latency (p50, p99, max);
//   - MAC changes, flip-flops (A→B→A) and duplicate addresses (two MACs
//     answering one request), and answered RFC 5227 probes / DAD;
//   - gratuitous ARP, RFC 5227 announcements and unsolicited NAs;
//   - unsolicited replies (no request from the asker within the reply
//     timeout) that claim an address another MAC held, or a default
//     gateway's; one MAC answering for several addresses (proxy ARP, a
//     router, or spoofing); addresses outside the host's subnets (a
//     bundle's netstate.json): arpwatch's changed ethernet address, flip
//     flop and bogon;
//   - frames whose Ethernet source differs from the ARP sender MAC;
//   - request storms per sender (one-second windows above a threshold);
//   - unicast (cache refresh) versus broadcast requests.
//
// Given a bundle, the verdict leads with the findings about its trigger's
// target (for a manual trigger, with what was going on at the trigger); an
// outage over well before the trigger is told in the past and ranked below.
//
// Given captures from two or more capture points, it matches requests across
// them (estimating the clock offset) and says for each unanswered exchange
// whether the request never arrived, arrived but got no reply, or got a reply
// that never arrived. See twoside.go for the method. AnalyzeIncident does so
// for the bundles of one incident from several hosts (arpbox peers), lined up
// by their recorded clock offsets, and names each failing direction (the
// report's incident key and INCIDENT section; see multihost.go).
//
// Analyze returns a Report; WriteText, WriteJSON and WriteHTML render it and
// WriteReports writes all three into a bundle directory. Detector runs the
// same detectors incrementally on a live stream for triggers.
//
// # JSON schema arpbox.report/v1
//
// The JSON encoding of Report is stable: fields are only added within v1.
// Times are RFC 3339 UTC with nanoseconds; durations are milliseconds in
// fields ending in _ms. Frame numbers are 1-based per file, as Wireshark
// numbers them.
//
//	{
//	  "schema": "arpbox.report/v1",
//	  "settings": {"reply_timeout_ms": 1000, "storm_rate_per_s": 50},
//	  "trigger": {"time": T, "label": "web1 (tcp 10.0.0.5:80): ...",        // optional
//	              "check": "tcp", "target": "10.0.0.5:80", "window_end": T},
//	  "verdict": {
//	    "summary": "plain sentence: the most likely explanation",
//	    "findings": [{                                  // most likely first
//	      "rank": 1, "kind": "unanswered|two-sided|duplicate|flip-flop|mac-change|
//	               probe-conflict|unicast-refresh|storm|mismatch|gratuitous|slow-replies|
//	               unsolicited-reply|multi-ip|bogon",
//	      "severity": "likely cause|possible cause|informational",
//	      "score": 0-100, "side": "gateway" (or "a ↔ b"), "ip": "10.0.0.5",
//	      "vlan": "100" or "10.20" (outer.inner), "macs": ["02:..."],
//	      "title": "...", "summary": "...", "first": T, "last": T, "count": N,
//	      "evidence": [{"side": "...", "file": "capture.pcapng",
//	                    "frames": [12, 15, 240], "total": 14, "note": "..."}]
//	    }]
//	  },
//	  "sides": [{
//	    "name": "gateway", "path": "...",
//	    "files": [{"name", "format": "pcap|pcapng", "packets", "first", "last",
//	               "truncated": bool, "error"}],
//	    "packets", "arp", "ndp", "first", "last",
//	    "targets": [{
//	      "ip", "vlan", "proto": "ARP|NDP",
//	      "requests", "broadcast_requests", "unicast_requests", "replies",
//	      "answered", "unanswered", "probes", "announcements",
//	      "gratuitous_replies", "flip_flops",
//	      "latency": {"count", "p50_ms", "p99_ms", "max_ms"},
//	      "macs": [{"mac", "first", "last", "packets"}],
//	      "last_reply": {"time", "mac", "file", "frame"},
//	      "unanswered_episodes": [{"start", "end", "count", "unicast",
//	          "askers": [{"ip", "mac", "count"}],
//	          "last_reply_before": Seen, "recovered": Seen, "evidence": Evidence}],
//	      "mac_changes": [{"time", "from", "to", "via", "file", "frame"}],
//	      "unsolicited_replies": N,
//	      "unsolicited_claims": [{"time", "mac", "held", "to", "file", "frame"}],
//	      "duplicates" / "probe_conflicts": [{"time", "macs": [a, b], "asker",
//	          "file", "frames": [a, b]}]
//	    }],
//	    "targets_omitted": N, "untracked_addresses": N,
//	    "storms": [{"mac", "ip", "start", "end", "packets", "peak_per_s", "evidence"}],
//	    "mismatches": [{"ethernet_src", "sender_mac", "sender_ip", "first", "last", "evidence"}],
//	    "top_senders": [{"mac", "ip", "requests"}],
//	    "not_decoded": [{"kind": "link-type|short|arp-cut|arp-type|arp-opcode|rarp|
//	                     tunnel|encrypted|ndp-malformed",
//	                     "cause": "link type 107 (FRELAY)", "count", "evidence"}]
//	  }],
//	  "two_sided": [{
//	    "sides": ["gateway", "backend"],
//	    "clock_offset_ms": 2.5,            // second side's clock minus the first's
//	    "offset_basis": "...", "matched_requests": N, "truncated": bool,
//	    "failures": [{"class": "request never arrived|request arrived, no reply sent|
//	                  reply sent but never arrived",
//	      "asker", "target", "vlan", "asker_side", "other_side", "count",
//	      "first", "last", "reply_mac", "evidence": [Evidence]}]
//	  }],
//	  "neighbor_events": [{"time", "ip", "state", "side"}],
//	  "incident": {                         // only for one incident's bundles from several hosts
//	    "id": "20261130T080000Z-gw-0a0b0c0d",   // trigger.incident, shared by the peers
//	    "initiator": "gw",                  // host that declared it; absent if its bundle was not given
//	    "hosts": [{"host", "bundle", "path",   // initiator first, then by host; one side each
//	               "clock_offset_ms": 5000,    // this host's clock minus the initiator's; absent if not recorded
//	               "clock_offset_basis": "measured by gw when it asked ...",
//	               "window": {"from": T, "to": T}}],  // requested, on this host's clock
//	    "absent": [{"name", "host", "state": "ok|pending|missing", "error"}],  // peers asked, bundle not given
//	    "directions": [{"from", "to", "what": "requests|replies|no reply",  // most failures first
//	                    "asker", "target", "count", "text"}]
//	  }
//	}
//
// Memory is bounded by the number of distinct addresses (Options.MaxTargets)
// and, with several inputs, by a per-side cap of 500,000 requests kept for
// matching; everything else per address is fixed-size.
package analyze
