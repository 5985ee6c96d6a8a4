// Command arpstorm floods an interface with ARP who-has requests for benchmarks.
//
// It sends broadcast requests from one MAC through an AF_PACKET socket, in
// batches with sendmmsg(2), on one OS thread, at a fixed rate or as fast as the
// kernel takes them. On exit it prints one line to stdout:
//
//	sent=1234567 seconds=10.00 rate=123457 errors=0
//
// Examples:
//
//	arpstorm -i veth0 -duration 10s              # as fast as possible
//	arpstorm -i veth0 -rate 10 -duration 30s     # a quiet LAN
//	arpstorm -i veth0 -count 1000000 -batch 128  # a fixed number of frames
//
// It is Linux only and needs CAP_NET_RAW.
package main
