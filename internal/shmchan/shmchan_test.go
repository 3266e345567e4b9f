//go:build linux

package shmchan

import (
	"errors"
	"os"
	"sync"
	"testing"
)

func TestPushPopOrderAndFull(t *testing.T) {
	c, err := Create(4)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var m Msg
	if c.Pop(&m) {
		t.Fatal("pop from an empty channel")
	}
	for round := range 3 { // wraps the ring
		for i := range 4 {
			in := Msg{Kind: 1, Seq: uint64(round*10 + i), SentNs: int64(i), N: 1}
			in.Val[0] = float64(i) / 2
			if !c.Push(&in) {
				t.Fatalf("round %d: push %d refused with %d waiting", round, i, c.Len())
			}
		}
		if c.Push(&Msg{}) {
			t.Fatal("push into a full channel")
		}
		if c.Len() != 4 {
			t.Fatalf("len %d, want 4", c.Len())
		}
		for i := range 4 {
			if !c.Pop(&m) || m.Seq != uint64(round*10+i) || m.Val[0] != float64(i)/2 || m.SentNs != int64(i) {
				t.Fatalf("round %d pop %d: %+v", round, i, m)
			}
		}
		if c.Pop(&m) {
			t.Fatal("pop past the end")
		}
	}
}

// TestAcrossMappings passes messages between two mappings of the same memory, as two
// processes do, producer and consumer running at once.
func TestAcrossMappings(t *testing.T) {
	p, err := Create(16)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	// A second mapping through a dup of the file, as the child gets it.
	fd2, err := dup(p.File())
	if err != nil {
		t.Fatal(err)
	}
	c, err := Open(fd2)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const n = 20000
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := uint64(1); i <= n; {
			m := Msg{Seq: i, N: 2}
			m.Val[0], m.Val[1] = float64(i), -float64(i)
			if p.Push(&m) {
				i++
			}
		}
	}()
	var m Msg
	for want := uint64(1); want <= n; {
		if !c.Pop(&m) {
			continue
		}
		if m.Seq != want || m.Val[0] != float64(want) || m.Val[1] != -float64(want) {
			t.Fatalf("got %+v, want seq %d", m, want)
		}
		want++
	}
	wg.Wait()
	p.SetEStop(true)
	p.Beat(7, 123)
	if !c.EStop() {
		t.Fatal("e-stop not seen through the other mapping")
	}
	if b, ns := c.Heartbeat(); b != 7 || ns != 123 {
		t.Fatalf("heartbeat %d %d", b, ns)
	}
	c.SetEStop(false)
	if p.EStop() {
		t.Fatal("e-stop not cleared")
	}
}

func TestNoAllocs(t *testing.T) {
	c, err := Create(8)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	m := Msg{Kind: 1}
	if n := testing.AllocsPerRun(1000, func() {
		m.SentNs = MonoNs()
		c.Push(&m)
		c.Pop(&m)
		c.EStop()
	}); n != 0 {
		t.Fatalf("%v allocations per push/pop", n)
	}
}

func TestOpenRejects(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "notachan")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(make([]byte, 4096)); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(f); !errors.Is(err, ErrBadMemory) {
		t.Fatalf("zeroed file: %v, want ErrBadMemory", err)
	}
	if _, err := Create(0); err == nil {
		t.Fatal("0 slots accepted")
	}
}

func TestMonoNsIsClockMonotonic(t *testing.T) {
	a := MonoNs()
	b := monoSyscall()
	c := MonoNs()
	if !(a <= b && b <= c) {
		t.Fatalf("vDSO %d, syscall %d, vDSO %d: not one time line", a, b, c)
	}
}
