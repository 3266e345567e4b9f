// Package seed holds the example skills the daemon installs into an empty library on first
// start: demonstrations for the SO-101 arm (wave, reach, pick_place), bundled in the binary
// as demo CSV files and learned at install time like any other demonstration.
package seed

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/praxis-robotics/praxis/demos"
	"github.com/praxis-robotics/praxis/skilllib"
)

//go:embed demos/*.csv
var files embed.FS

// Names returns the seed skill names, sorted.
func Names() []string {
	ents, _ := files.ReadDir("demos")
	var out []string
	for _, e := range ents {
		out = append(out, strings.TrimSuffix(e.Name(), ".csv"))
	}
	sort.Strings(out)
	return out
}

// Demo returns the bundled demonstration of a seed skill and its raw CSV bytes.
func Demo(name string) (*demos.Demo, []byte, error) {
	data, err := files.ReadFile(path.Join("demos", name+".csv"))
	if err != nil {
		return nil, nil, fmt.Errorf("seed: no demo %q", name)
	}
	d, err := demos.ParseCSV(bytes.NewReader(data), name+".csv")
	if err != nil {
		return nil, nil, fmt.Errorf("seed: %w", err)
	}
	return d, data, nil
}

// Learn learns the seed skill name as every other skill is learned (skilllib.LearnData),
// recording the praxis version.
func Learn(name, version string) (*skilllib.Skill, error) {
	_, data, err := Demo(name)
	if err != nil {
		return nil, err
	}
	return skilllib.LearnData(context.Background(), []skilllib.DemoFile{{Name: name + ".csv", Data: data}},
		skilllib.FileOptions{LearnOptions: skilllib.LearnOptions{Name: name, Created: time.Now().UTC(), PraxisVersion: version}})
}

// Install learns every seed skill that the store lacks and stores it as version 1; it
// returns the names it installed. Existing skills of the same name are left alone.
func Install(st *skilllib.Store, version string) ([]string, error) {
	var installed []string
	for _, name := range Names() {
		if _, err := st.Get(name, 0); err == nil {
			continue
		} else if !errors.Is(err, skilllib.ErrNotFound) {
			return installed, fmt.Errorf("seed: %s: %w", name, err)
		}
		s, err := Learn(name, version)
		if err != nil {
			return installed, fmt.Errorf("seed: learn %s: %w", name, err)
		}
		if _, err := st.Put(s); err != nil {
			return installed, fmt.Errorf("seed: store %s: %w", name, err)
		}
		installed = append(installed, name)
	}
	return installed, nil
}
