package daemon

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	ftproto "github.com/praxis-robotics/praxis/drivers/feetech/proto"
	"github.com/praxis-robotics/praxis/internal/busarm"
)

func TestConfigDefaults(t *testing.T) {
	t.Setenv("XDG_DATA_HOME", "/x/data")
	c, err := ParseConfig(strings.NewReader(""))
	if err != nil {
		t.Fatal(err)
	}
	if c.RobotID != "arm1" || c.DataDir != "/x/data/praxis" || c.Arm.Driver != "sim" || c.Arm.Model != "so101" {
		t.Fatalf("defaults: %+v", c)
	}
	if c.Executor.RateHz != 500 || c.Recorder.RateHz != 100 || c.MQTT.Listen != "127.0.0.1:1883" ||
		!*c.MQTT.Embedded || !*c.Seed || c.MQTT.StateRateHz != 20 || c.Arm.Timeout != 5*time.Millisecond {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestConfigWebDefaults(t *testing.T) {
	c, err := ParseConfig(strings.NewReader(""))
	if err != nil {
		t.Fatal(err)
	}
	if !*c.Web.Enabled || c.Web.Listen != DefaultWebListen || !c.Web.listenDefault || c.Web.TLSCert != "" {
		t.Fatalf("web defaults: %+v", c.Web)
	}
	// The dashboard reuses the MQTT certificate unless it has its own.
	c, err = ParseConfig(strings.NewReader("mqtt: {tls_cert: m.pem, tls_key: m.key}\nweb: {listen: ':9443', enabled: false}"))
	if err != nil {
		t.Fatal(err)
	}
	if *c.Web.Enabled || c.Web.Listen != ":9443" || c.Web.listenDefault || c.Web.TLSCert != "m.pem" || c.Web.TLSKey != "m.key" {
		t.Fatalf("web: %+v", c.Web)
	}
	c, err = ParseConfig(strings.NewReader("mqtt: {tls_cert: m.pem, tls_key: m.key}\nweb: {tls_cert: w.pem, tls_key: w.key}"))
	if err != nil || c.Web.TLSCert != "w.pem" || c.Web.TLSKey != "w.key" {
		t.Fatalf("web's own certificate: %+v, %v", c.Web, err)
	}
}

func TestConfigErrorsNameTheField(t *testing.T) {
	cases := []struct{ yaml, want string }{
		{"robot_id: a/b", "robot_id"},
		{"arm: {driver: kuka}", "arm.driver"},
		{"arm: {driver: dynamixel}", "arm.port"},
		{"arm: {driver: feetech, port: /dev/x}", "arm.servos"},
		{"arm: {driver: feetech, port: /dev/x, servos: [{id: 1, joint: a, min: -1, max: 1}, {id: 1, joint: b, min: -1, max: 1}]}", "arm.servos[1].id"},
		{"arm: {driver: feetech, port: /dev/x, servos: [{id: 1, joint: a, min: 1, max: -1}]}", "arm.servos[0].min"},
		{"arm: {driver: feetech, port: /dev/x, servos: [{id: 1, joint: a, min: -1, max: 1, direction: 2}]}", "arm.servos[0].direction"},
		{"executor: {rate_hz: 5000}", "executor.rate_hz"},
		{"executor: {lead: 0.5}", "executor.lead"},
		{"executor: {lead: -0.01}", "executor.lead"},
		{"executor: {lag_tolerance: 1}", "executor.lag_tolerance"},
		{"executor: {isolate: true}\narm: {sim_hand: h.csv}", "executor.isolate"},
		{"recorder: {rate_hz: 900}", "recorder.rate_hz"},
		{"mqtt: {embedded: false}", "mqtt.broker"},
		{"mqtt: {tls_cert: a.pem}", "mqtt.tls_cert"},
		{"log_level: loud", "log_level"},
		{"web: {tls_key: k.pem}", "web.tls_cert"},
		{"web: {listen: localhost}", "web.listen"},
		{bus("feetech", "series: xl430"), "arm.series"},
		{bus("dynamixel", "series: sts"), "arm.series"},
		{bus("feetech", "fast_sync_read: true"), "arm.fast_sync_read"},
		{bus("feetech", "position_only: true"), "arm.position_only"},
		{bus("feetech", "baud: 9600"), "arm.baud"},
		{bus("feetech", "retries: 11"), "arm.retries"},
		{bus("dynamixel", "retries: -1"), "arm.retries"},
		{bus("dynamixel", "timeout: 2s"), "arm.timeout"},
		{bus("dynamixel", "timeout: -1ms"), "arm.timeout"},
		{bus("dynamixel", "sim_hand: h.csv"), "arm.sim_hand"},
		{"arm: {driver: feetech, port: /dev/x, servos: [{id: 1, joint: a, min: -1, max: 1, offset: -3}]}", "arm.servos[0].offset"},
		{"arm: {driver: feetech, port: /dev/x, servos: [{id: 1, joint: a, min: -1, max: 1, ticks: 1}]}", "arm.servos[0].ticks"},
		{"arm: {driver: feetech, port: /dev/x, servos: [{id: 1, joint: a, min: -1, max: 1, ofset: 0}]}", "ofset"},
		{"robto_id: x", "robto_id"},           // typo: unknown field
		{"executor: {rate_hz: fast}", "fast"}, // wrong type
	}
	for _, tc := range cases {
		_, err := ParseConfig(strings.NewReader(tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err %v, want it to name %q", tc.yaml, err, tc.want)
		}
	}
}

func TestConfigServoDefaults(t *testing.T) {
	c, err := ParseConfig(strings.NewReader("arm: {driver: feetech, port: /dev/x, servos: [{id: 3, joint: a, min: -1, max: 1}]}"))
	if err != nil {
		t.Fatal(err)
	}
	s := c.Arm.Servos[0]
	if s.Ticks != 4096 || s.Offset != 2048 || s.Direction != 1 || s.MaxVel != 3 || s.MaxAcc != 20 {
		t.Fatalf("servo defaults: %+v", s)
	}
}

// bus returns a one-servo bus arm section with extra flow-style fields.
func bus(driver, extra string) string {
	return "arm: {driver: " + driver + ", port: /dev/x, " + extra + ", servos: [{id: 1, joint: a, min: -1, max: 1}]}"
}

// TestBusConfig: the one conversion of the daemon's arm section into the bus
// configuration, with an explicit offset 0 kept (not read as "default").
func TestBusConfig(t *testing.T) {
	c, err := ParseConfig(strings.NewReader(`
arm:
  driver: dynamixel
  port: /dev/praxis-arm1
  baud: 57600
  timeout: 20ms
  retries: 0
  fast_sync_read: true
  position_only: true
  servos:
    - {id: 3, joint: a, offset: 0, direction: -1, ticks: 4096, min: 0.1, max: 1.5, max_vel: 2, max_acc: 9}
    - {id: 4, joint: b, min: -1, max: 1}
`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Arm.Series != "x" || c.Arm.Retries == nil || *c.Arm.Retries != 0 {
		t.Fatalf("arm defaults: series %q retries %v", c.Arm.Series, c.Arm.Retries)
	}
	bc, err := c.Arm.BusConfig()
	if err != nil {
		t.Fatal(err)
	}
	if bc.Driver != busarm.Dynamixel || bc.Port != "/dev/praxis-arm1" || bc.Baud != 57600 || bc.ReplyTimeout != 20*time.Millisecond ||
		bc.Series != "x" || bc.Retries != -1 || !bc.FastSyncRead || !bc.PositionOnly {
		t.Fatalf("bus config: %+v", bc)
	}
	want := []busarm.Servo{
		{ID: 3, Joint: "a", Offset: 0, Direction: -1, Ticks: 4096, Min: 0.1, Max: 1.5, MaxVel: 2, MaxAcc: 9},
		{ID: 4, Joint: "b", Offset: 2048, Direction: 1, Ticks: 4096, Min: -1, Max: 1, MaxVel: 3, MaxAcc: 20},
	}
	if len(bc.Servos) != 2 || bc.Servos[0] != want[0] || bc.Servos[1] != want[1] {
		t.Fatalf("servos:\n got %+v\nwant %+v", bc.Servos, want)
	}
	// Offset 0 reaches the driver: tick 0 is 0 rad, tick 1024 is -π/2 (direction -1).
	dc, err := bc.DynamixelConfig()
	if err != nil {
		t.Fatal(err)
	}
	if r := dc.Servos[0].Cal.Radians(1024); math.Abs(r+math.Pi/2) > 1e-12 {
		t.Fatalf("servo 3 at tick 1024: %v rad, want -π/2", r)
	}
	if dc.Retries != -1 || !dc.FastSyncRead || !dc.PositionOnly || dc.Model != "x" {
		t.Fatalf("dynamixel options: %+v", dc)
	}

	c, err = ParseConfig(strings.NewReader("arm: {driver: feetech, port: /dev/x, series: scs, retries: 4, servos: [{id: 1, joint: a, ticks: 1024, min: -1, max: 1}]}"))
	if err != nil {
		t.Fatal(err)
	}
	bc, err = c.Arm.BusConfig()
	if err != nil {
		t.Fatal(err)
	}
	fc, err := bc.FeetechConfig()
	if err != nil {
		t.Fatal(err)
	}
	if fc.Series != ftproto.SCS || fc.Retries != 4 || fc.Joints[0].Offset != 512 || fc.ReplyTimeout != 5*time.Millisecond {
		t.Fatalf("feetech config: %+v", fc)
	}
	// In Go, Offset 0 is the default unless set with SetOffset.
	a := ArmConfig{Driver: "feetech", Port: "/dev/x", Servos: []ServoConfig{{ID: 1, Joint: "a", Min: -1, Max: 1}, {ID: 2, Joint: "b", Min: 0.1, Max: 1}}}
	a.Servos[1].SetOffset(0)
	c = Config{Arm: a}
	c.ApplyDefaults()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	bc, err = c.Arm.BusConfig()
	if err != nil || bc.Servos[0].Offset != 2048 || bc.Servos[1].Offset != 0 {
		t.Fatalf("Go offsets: %+v, %v", bc.Servos, err)
	}
	// Unset retries take the driver's default.
	c, _ = ParseConfig(strings.NewReader(bus("feetech", "baud: 1000000")))
	if bc, _ := c.Arm.BusConfig(); bc.Retries != 0 || bc.Series != "sts" {
		t.Fatalf("default retries/series: %+v", bc)
	}
}

func TestConfigRealtimePriority(t *testing.T) {
	c, err := ParseConfig(strings.NewReader(""))
	if err != nil || *c.Executor.RealtimePriority != 50 {
		t.Fatalf("default priority: %v, %v", c.Executor.RealtimePriority, err)
	}
	c, err = ParseConfig(strings.NewReader("executor: {realtime_priority: 0}"))
	if err != nil || *c.Executor.RealtimePriority != 0 {
		t.Fatalf("priority 0 must stay 0 (off): %v, %v", c.Executor.RealtimePriority, err)
	}
	if _, err := ParseConfig(strings.NewReader("executor: {realtime_priority: 120}")); err == nil || !strings.Contains(err.Error(), "executor.realtime_priority") {
		t.Fatalf("priority 120: %v", err)
	}
}

// TestConfigCrossesToTheControlProcess: executor.isolate hands the whole configuration to
// the control process as JSON (ControlMain opens the arm from it): every field survives.
func TestConfigCrossesToTheControlProcess(t *testing.T) {
	c, err := ParseConfig(strings.NewReader(`executor: {isolate: true, lead: 0.02}
arm: {driver: feetech, port: /dev/x, baud: 1000000, retries: 2, timeout: 30ms,
  servos: [{id: 3, joint: a, min: -1, max: 1, direction: -1, offset: 2000}, {id: 4, joint: b, min: -1, max: 1, offset: 0}]}`))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var back Config
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.Arm, back.Arm) || !reflect.DeepEqual(c.Executor, back.Executor) {
		t.Fatalf("arm %+v\nexecutor %+v\nafter JSON: arm %+v\nexecutor %+v", c.Arm, c.Executor, back.Arm, back.Executor)
	}
}
