package seed

import (
	"bytes"
	"flag"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/praxis-robotics/praxis/demos"
)

var update = flag.Bool("update", false, "regenerate the bundled seed demos")

// so101 joint order, as in sim/models/so101.urdf.
var so101 = []string{"shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll", "gripper"}

// via is a pose reached at time t (s).
type via struct {
	t float64
	q [6]float64
}

var home = [6]float64{0, -0.3, 0.4, 0.6, 0, 0.1}

// seedScripts are the operator's motions, as via points; each segment is a minimum-jerk
// move, then a slow human-like drift and sensor noise are added.
var seedScripts = map[string][]via{
	"wave": {
		{0, home},
		{1.0, [6]float64{0.2, -0.9, 0.2, -0.2, 0, 0.1}},
		{1.5, [6]float64{0.2, -0.9, 0.2, 0.5, 0, 0.1}},
		{2.0, [6]float64{0.2, -0.9, 0.2, -0.3, 0, 0.1}},
		{2.5, [6]float64{0.2, -0.9, 0.2, 0.5, 0, 0.1}},
		{3.0, [6]float64{0.2, -0.9, 0.2, -0.2, 0, 0.1}},
		{4.0, home},
	},
	"reach": {
		{0, home},
		{1.2, [6]float64{0.1, 0.3, -0.2, 0.5, 0.2, 0.9}},
		{2.5, [6]float64{0.35, 0.8, -0.6, 0.4, 0.3, 0.9}},
	},
	"pick_place": {
		{0, home},
		{1.2, [6]float64{-0.5, 0.4, -0.1, 0.8, 0, 1.2}},
		{2.0, [6]float64{-0.5, 0.7, -0.3, 0.9, 0, 1.2}},
		{2.6, [6]float64{-0.5, 0.7, -0.3, 0.9, 0, 0.05}},
		{3.4, [6]float64{-0.5, 0.3, 0.0, 0.7, 0, 0.05}},
		{4.8, [6]float64{0.6, 0.3, 0.0, 0.7, 0.4, 0.05}},
		{5.6, [6]float64{0.6, 0.7, -0.3, 0.9, 0.4, 0.05}},
		{6.2, [6]float64{0.6, 0.7, -0.3, 0.9, 0.4, 1.2}},
		{7.5, home},
	},
}

// synth samples a script at rate Hz with a fixed seed.
func synth(script []via, rate float64, seed int64) *demos.Demo {
	rng := rand.New(rand.NewSource(seed))
	end := script[len(script)-1].t
	n := int(math.Round(end*rate)) + 1
	d := &demos.Demo{Joints: so101}
	var phase [6]float64
	for j := range phase {
		phase[j] = rng.Float64() * 2 * math.Pi
	}
	for i := 0; i < n; i++ {
		t := float64(i) / rate
		seg := 0
		for seg < len(script)-2 && t > script[seg+1].t {
			seg++
		}
		a, b := script[seg], script[seg+1]
		s := (t - a.t) / (b.t - a.t)
		s = math.Max(0, math.Min(1, s))
		mj := s * s * s * (10 - 15*s + 6*s*s)
		row := make([]float64, 6)
		env := math.Sin(math.Pi * t / end) // drift vanishes at both ends
		for j := range row {
			row[j] = a.q[j] + (b.q[j]-a.q[j])*mj
			row[j] += 0.01 * env * math.Sin(2*math.Pi*0.7*t+phase[j])
			row[j] += 0.0005 * rng.NormFloat64()
			row[j] = math.Round(row[j]*1e5) / 1e5
		}
		d.T = append(d.T, math.Round(t*1e4)/1e4)
		d.Y = append(d.Y, row)
	}
	return d
}

func TestSeedDemosUpToDate(t *testing.T) {
	seed := int64(1)
	for _, name := range []string{"pick_place", "reach", "wave"} {
		var buf bytes.Buffer
		if err := demos.WriteCSV(&buf, synth(seedScripts[name], 100, seed)); err != nil {
			t.Fatal(err)
		}
		seed++
		p := filepath.Join("demos", name+".csv")
		if *update {
			if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, buf.Bytes()) {
			t.Errorf("%s is stale: run go test ./internal/seed -run TestSeedDemosUpToDate -update", p)
		}
	}
}
