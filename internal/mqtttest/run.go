package mqtttest

import (
	"context"
	"testing"

	"github.com/praxis-robotics/praxis/internal/mqttapi"
)

// RunUnderWay starts run req through cli in the background and returns once its first
// progress event arrived (the run is under way); the channel delivers how the run ended.
// It fails the test when the run ends first or ctx is done.
func RunUnderWay(ctx context.Context, t testing.TB, cli *mqttapi.Client, req mqttapi.RunRequest) <-chan error {
	t.Helper()
	progressed := make(chan struct{}, 1)
	ended := make(chan error, 1)
	go func() {
		_, err := cli.Run(ctx, req, func(e mqttapi.Event) {
			if e.Type == mqttapi.Progress {
				select {
				case progressed <- struct{}{}:
				default:
				}
			}
		})
		ended <- err
	}()
	select {
	case <-progressed:
	case err := <-ended:
		t.Fatalf("run %s ended before any progress: %v", req.ID, err)
	case <-ctx.Done():
		t.Fatalf("no progress from run %s", req.ID)
	}
	return ended
}
