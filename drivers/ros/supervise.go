package rosarm

import (
	"context"
	"net/http"
	"time"

	"github.com/bluenviron/goroslib/v2/pkg/apimaster"
)

// nodeName is the node's absolute name.
func (a *Arm) nodeName() string {
	ns := a.cfg.Namespace
	if ns == "" || ns == "/" {
		return "/" + a.cfg.Name
	}
	return ns + "/" + a.cfg.Name
}

// master returns a client of the master's API with a short timeout.
func (a *Arm) master() *apimaster.Client {
	return apimaster.NewClient(a.cfg.Master, a.nodeName(), &http.Client{Timeout: time.Second})
}

// supervise checks the master every CheckEvery. While the master is down the node is
// kept (its connections to the robot still flow); when the master answers but no longer
// knows this node (it restarted), or knows another node by this name, the node is
// rebuilt and registers again.
func (a *Arm) supervise(ctx context.Context) {
	defer a.wg.Done()
	mc := a.master()
	t := time.NewTicker(a.cfg.CheckEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		a.connMu.Lock()
		c := a.conn
		a.connMu.Unlock()
		if c != nil {
			if _, err := mc.GetURI(); err != nil {
				continue // master down: nothing to re-register with yet
			}
			uri, err := mc.LookupNode(a.nodeName())
			if err == nil && (c.uri == "" || uri == c.uri) {
				c.uri = uri
				continue
			}
			a.cfg.Logger.Warn("rosarm: master lost this node; reconnecting", "master", a.cfg.Master, "node", a.nodeName(), "lookup", uri, "err", err)
			a.connMu.Lock()
			a.conn = nil
			a.connMu.Unlock()
			a.closeConn(c)
		}
		nc, err := a.connect()
		if err != nil {
			continue
		}
		if err := a.attach(nc); err != nil {
			a.cfg.Logger.Warn("rosarm: reconnect", "err", err)
			a.closeConn(nc)
			continue
		}
		a.connMu.Lock()
		a.conn = nc
		a.connMu.Unlock()
		a.reconnects.Add(1)
	}
}
