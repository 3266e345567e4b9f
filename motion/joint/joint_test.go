package joint

import (
	"strings"
	"testing"
)

func TestMapByName(t *testing.T) {
	have := []string{"a", "b", "c"}
	idx, err := MapByName(have, []string{"c", "a"})
	if err != nil || len(idx) != 2 || idx[0] != 2 || idx[1] != 0 {
		t.Fatalf("got %v, %v", idx, err)
	}
	for _, tc := range []struct {
		have, want []string
		msg        string
	}{
		{have, []string{"a", "x"}, `unknown joint "x"`},
		{have, []string{"a", "a"}, `duplicate joint "a"`},
		{[]string{"a", "a"}, []string{"a"}, `duplicate joint "a"`},
	} {
		if _, err := MapByName(tc.have, tc.want); err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%v/%v: err %v, want %q", tc.have, tc.want, err, tc.msg)
		}
	}
}

func TestLimitsAndState(t *testing.T) {
	l := Limits{Min: -1, Max: 2}
	if l.Clamp(-3) != -1 || l.Clamp(5) != 2 || l.Clamp(0.5) != 0.5 || !l.Contains(2) || l.Contains(2.0001) {
		t.Fatal("clamp/contains wrong")
	}
	s := NewState(3)
	s.Pos[1] = 7
	var c State
	c.CopyFrom(&s)
	if len(c.Pos) != 3 || c.Pos[1] != 7 || &c.Pos[0] == &s.Pos[0] {
		t.Fatal("CopyFrom must copy, not alias")
	}
	if n := testingAllocs(func() { c.CopyFrom(&s) }); n != 0 {
		t.Fatalf("CopyFrom into a sized state allocates %v", n)
	}
}

func testingAllocs(f func()) float64 { return testing.AllocsPerRun(100, f) }

func TestFeedbackString(t *testing.T) {
	var j Joint
	if j.Feedback != Measured || Measured.String() != "measured" || Commanded.String() != "commanded" {
		t.Fatalf("zero Joint feedback %v, strings %q %q", j.Feedback, Measured, Commanded)
	}
}
