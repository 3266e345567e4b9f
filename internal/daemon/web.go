package daemon

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"syscall"

	"github.com/praxis-robotics/praxis/drivers"
	"github.com/praxis-robotics/praxis/internal/broker"
	"github.com/praxis-robotics/praxis/internal/core"
	"github.com/praxis-robotics/praxis/internal/web"
)

// openWeb builds the dashboard server (not yet serving) on web.listen or
// Options.WebListener; nil when web.enabled is false, when there are no users (external
// broker and no credentials file), or when the default port is taken (logged).
func (d *Daemon) openWeb(arm drivers.Arm) (*web.Server, error) {
	if !*d.cfg.Web.Enabled {
		if d.opt.WebListener != nil {
			d.opt.WebListener.Close()
		}
		return nil, nil
	}
	users := d.creds
	if len(users.Users) == 0 {
		// An external broker: the dashboard's users live in the same file, made on first use.
		c, created, err := broker.LoadOrCreateCredentials(d.cfg.DataDir)
		if err != nil {
			return nil, fmt.Errorf("daemon: web: users: %w", err)
		}
		if created {
			d.log.Warn("dashboard: generated its users (operator, observer); passwords in the file", "file", credentialsPath(d.cfg.DataDir))
		}
		users = c
	}
	ln := d.opt.WebListener
	if ln == nil {
		var err error
		ln, err = net.Listen("tcp", d.cfg.Web.Listen)
		if err != nil {
			if d.cfg.Web.listenDefault && errors.Is(err, syscall.EADDRINUSE) {
				d.log.Warn("dashboard not served: its default address is in use (set web.listen)", "listen", d.cfg.Web.Listen)
				return nil, nil
			}
			return nil, fmt.Errorf("daemon: web.listen: %w", err)
		}
	}
	skel, err := armModel(d.cfg.Arm.Model, arm.Joints())
	if err != nil {
		d.log.Warn("dashboard: no 3-D view", "err", err)
	}
	ws, err := web.New(web.Config{Listener: ln, TLSCert: d.cfg.Web.TLSCert, TLSKey: d.cfg.Web.TLSKey,
		Users: users, Service: (*service)(d), Inspector: (*inspector)(d), Editor: (*inspector)(d),
		FlightLog: d.flightLog(), Metrics: d.metricsForWeb(), Skeleton: skel, Logger: d.log.With("component", "web")})
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("daemon: web: %w", err)
	}
	d.webURL = ws.URL()
	return ws, nil
}

// flightLog is the dashboard's flight log: Options.FlightLog, else the daemon's recorder
// when flight.enabled; nil hides the tab.
func (d *Daemon) flightLog() core.FlightLog {
	if d.opt.FlightLog != nil {
		return d.opt.FlightLog
	}
	if *d.cfg.Flight.Enabled && d.flights != nil {
		return d.flights
	}
	return nil
}

// metricsForWeb is what the dashboard serves at /metrics: the metrics when enabled.
func (d *Daemon) metricsForWeb() http.Handler {
	if d.met == nil {
		return nil
	}
	return d.MetricsHandler()
}

// credentialsPath is where the dashboard's users come from.
func credentialsPath(data string) string { return filepath.Join(data, broker.CredentialsFile) }
