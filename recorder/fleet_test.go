package recorder

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/arpbox/arpbox/peer"
	"github.com/arpbox/arpbox/trigger"
)

// TestFleetMetrics: the fleet's counters exist at zero for every peer and
// result, pass promlint, and count what they are told.
func TestFleetMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := newFleetMetrics(reg, []peer.Config{{Name: "server"}})
	if err != nil {
		t.Fatal(err)
	}
	m.observePeer("server", "failed")
	m.observePeer("server", "failed")
	m.observePeer("server", "ok")
	m.received.WithLabelValues("frozen").Inc()
	m.observeReceipt(trigger.Receipt{Alerts: 3, Matched: 2, Fired: 1, Repeated: 1})
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
	want := `# HELP arpbox_alertmanager_alerts_total Alerts received from Alertmanager: fired (a snapshot), repeated (episode seen before), refused (no snapshot), ignored (resolved or not matching).
# TYPE arpbox_alertmanager_alerts_total counter
arpbox_alertmanager_alerts_total{result="fired"} 1
arpbox_alertmanager_alerts_total{result="ignored"} 1
arpbox_alertmanager_alerts_total{result="refused"} 0
arpbox_alertmanager_alerts_total{result="repeated"} 1
# HELP arpbox_peer_incidents_total Incidents this host asked a peer to freeze, by how it ended: ok (the peer froze it) or missing (given up).
# TYPE arpbox_peer_incidents_total counter
arpbox_peer_incidents_total{peer="server",state="missing"} 0
arpbox_peer_incidents_total{peer="server",state="ok"} 1
# HELP arpbox_peer_request_failures_total Requests to a peer that failed (down, slow, busy, refused), retried or not.
# TYPE arpbox_peer_request_failures_total counter
arpbox_peer_request_failures_total{peer="server"} 2
# HELP arpbox_peer_requests_received_total Incidents peers asked this host to freeze: frozen, repeat (already frozen) or refused.
# TYPE arpbox_peer_requests_received_total counter
arpbox_peer_requests_received_total{result="frozen"} 1
arpbox_peer_requests_received_total{result="refused"} 0
arpbox_peer_requests_received_total{result="repeat"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), MetricAlerts, MetricPeerIncidents, MetricPeerFailures, MetricPeerReceived); err != nil {
		t.Error(err)
	}
}
