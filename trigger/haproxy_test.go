package trigger

import (
	"testing"
)

// A trimmed `show stat` answer in HAProxy's format: "# " then the CSV header,
// one line per frontend, server and backend.
const showStat = `# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,
fe,FRONTEND,,,0,0,262125,0,0,0,0,0,0,,,,,OPEN,,,,
www,web1,0,0,0,0,,0,0,0,,0,,0,0,0,0,UP,1,1,0,
www,web2,0,0,0,0,,0,0,0,,0,,0,0,0,0,DOWN,1,1,0,
www,web3,0,0,0,0,,0,0,0,,0,,0,0,0,0,MAINT,1,1,0,
www,web4,0,0,0,0,,0,0,0,,0,,0,0,0,0,DOWN 1/2,1,1,0,
www,web5,0,0,0,0,,0,0,0,,0,,0,0,0,0,UP 1/3,1,1,0,
www,web6,0,0,0,0,,0,0,0,,0,,0,0,0,0,MAINT (via www/web1),1,1,0,
www,BACKEND,0,0,0,0,26213,0,0,0,0,0,,0,0,0,0,UP,1,1,0,

`

func TestHAProxyServerStatus(t *testing.T) {
	tests := []struct {
		data, backend, server string
		want                  serverStat
		wantErr               string
	}{
		{showStat, "www", "web1", serverStat{status: "UP"}, ""},
		{showStat, "www", "web2", serverStat{status: "DOWN"}, ""},
		{showStat, "www", "web3", serverStat{status: "MAINT"}, ""},
		{showStat, "www", "web4", serverStat{status: "DOWN 1/2"}, ""},
		{showStat, "www", "web6", serverStat{status: "MAINT (via www/web1)"}, ""},
		{showStat, "www", "nosuch", serverStat{}, `server "nosuch" not found in backend "www"`},
		{showStat, "api", "web1", serverStat{}, `backend "api" not found in show stat`},
		{"Unknown command: 'show stat'\n", "www", "web1", serverStat{}, `unexpected answer to show stat: "Unknown command: 'show stat'"`},
		{"", "www", "web1", serverStat{}, `unexpected answer to show stat: ""`},
		{"# pxname,svname,status,check_status,last_chk\nwww,web1,DOWN,L4CON,Connection refused\n", "www", "web1", serverStat{status: "DOWN", check: "L4CON Connection refused"}, ""},
		{"# a,b,c\nx,y,z\n", "www", "web1", serverStat{}, `show stat header lacks pxname, svname or status`},
		{"# pxname,svname,status\nwww,web1\n", "www", "web1", serverStat{}, `backend "www" not found in show stat`},
	}
	for _, tc := range tests {
		got, err := haproxyServerStatus([]byte(tc.data), tc.backend, tc.server)
		gotErr := ""
		if err != nil {
			gotErr = err.Error()
		}
		if got != tc.want || gotErr != tc.wantErr {
			t.Errorf("%s/%s: got (%+v, %q), want (%+v, %q)", tc.backend, tc.server, got, gotErr, tc.want, tc.wantErr)
		}
	}
}

func FuzzHAProxyServerStatus(f *testing.F) {
	f.Add([]byte(showStat))
	f.Add([]byte("# pxname,svname,status\n\"www\",\"we\"\"b1\",UP\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = haproxyServerStatus(data, "www", "web1") // must not panic
	})
}
