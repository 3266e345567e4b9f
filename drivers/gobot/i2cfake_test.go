package gobot

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"gobot.io/x/gobot/v2/drivers/i2c"
)

// fakeBus is an I2C bus with register-level models of a PCA9685 (NXP datasheet rev. 4,
// section 7.3) and ADS1115s (TI datasheet, section 8.6), standing in for gobot's Linux
// adaptor. It records every PCA9685 transaction.
type fakeBus struct {
	t      *testing.T
	mu     sync.Mutex
	pca    map[int]*pcaModel
	ads    map[int]*adsModel
	record bool
	log    []string // PCA9685 transactions: "W 00 11", "R 01"
	notify chan struct{}
	convs  int // ADS1115 conversion reads served
}

func newFakeBus(t *testing.T) *fakeBus {
	return &fakeBus{t: t, pca: map[int]*pcaModel{0x40: newPCA()}, ads: map[int]*adsModel{}, record: true,
		notify: make(chan struct{})}
}

func (b *fakeBus) GetI2cConnection(address, bus int) (i2c.Connection, error) {
	if bus != 1 {
		return nil, fmt.Errorf("fake: no bus %d", bus)
	}
	if b.pca[address] == nil && b.ads[address] == nil {
		return nil, fmt.Errorf("fake: no device at 0x%02x", address)
	}
	return &fakeConn{b: b, addr: address}, nil
}

func (b *fakeBus) DefaultI2cBus() int { return 1 }

// waitConversions blocks until n ADS1115 conversions have been read (or failed) in total.
func (b *fakeBus) waitConversions(n int) {
	b.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		b.mu.Lock()
		got, ch := b.convs, b.notify
		b.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			b.t.Fatalf("only %d of %d ADS1115 conversions were read", got, n)
		}
	}
}

// bump counts an ADS1115 conversion read (or failed attempt) and wakes waiters; b.mu held.
func (b *fakeBus) bump() {
	b.convs++
	close(b.notify)
	b.notify = make(chan struct{})
}

func (b *fakeBus) transcript() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.log...)
}

// pcaModel is the PCA9685's register file and pointer.
type pcaModel struct {
	reg [256]byte
	ptr byte
}

func newPCA() *pcaModel {
	m := &pcaModel{}
	m.reg[0x00] = 0x11 // MODE1: SLEEP, ALLCALL
	m.reg[0x01] = 0x04 // MODE2: OUTDRV
	m.reg[0xFE] = 0x1E // PRE_SCALE: 200 Hz
	for n := range 16 {
		m.reg[0x09+4*n] = 0x10 // LEDn_OFF_H: full off
	}
	m.reg[0xFD] = 0x10
	return m
}

// write stores one byte at the pointer, applying the datasheet's rules, and advances
// the pointer when MODE1.AI is set.
func (m *pcaModel) write(v byte) {
	switch r := m.ptr; {
	case r == 0xFE && m.reg[0]&0x10 == 0:
		// PRE_SCALE writes are blocked while the oscillator runs (SLEEP = 0).
	case r == 0x00:
		old := m.reg[0]
		nv := v &^ 0x80 // writing 1 to RESTART clears it
		if v&0x80 == 0 && old&0x80 != 0 {
			nv |= 0x80
		}
		if old&0x10 == 0 && v&0x10 != 0 {
			nv |= 0x80 // sleeping with PWM active: RESTART reads 1
		}
		m.reg[0] = nv
	default:
		m.reg[r] = v
	}
	if m.reg[0]&0x20 != 0 {
		m.ptr++
	}
}

// pulseUs is channel n's high time in µs, or -1 when off or asleep.
func (m *pcaModel) pulseUs(n int) float64 {
	on := int(m.reg[0x06+4*n]) | int(m.reg[0x07+4*n]&0x0F)<<8
	off := int(m.reg[0x08+4*n]) | int(m.reg[0x09+4*n]&0x0F)<<8
	if m.reg[0]&0x10 != 0 || m.reg[0x09+4*n]&0x10 != 0 || m.reg[0xFD]&0x10 != 0 {
		return -1
	}
	return float64(off-on) * float64(int(m.reg[0xFE])+1) / 25e6 * 1e6
}

// adsModel is an ADS1115: config and conversion registers, input voltages.
type adsModel struct {
	config uint16
	ptr    byte
	volts  [4]float64
	fail   bool
	seen   []uint16 // config words that started a conversion
}

func (a *adsModel) fsr() float64 {
	return [8]float64{6.144, 4.096, 2.048, 1.024, 0.512, 0.256, 0.256, 0.256}[(a.config>>9)&7]
}

type fakeConn struct {
	b    *fakeBus
	addr int
}

func hexs(bs []byte) string {
	var s []string
	for _, v := range bs {
		s = append(s, fmt.Sprintf("%02X", v))
	}
	return strings.Join(s, " ")
}

// i2cWrite is a plain I2C write: a register pointer then data bytes.
func (c *fakeConn) i2cWrite(data []byte) error {
	b := c.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if m := b.pca[c.addr]; m != nil {
		if b.record {
			b.log = append(b.log, "W "+hexs(data))
		}
		if len(data) == 0 {
			return errors.New("fake: empty write")
		}
		m.ptr = data[0]
		for _, v := range data[1:] {
			m.write(v)
		}
		return nil
	}
	a := b.ads[c.addr]
	if a.fail {
		b.bump()
		return errors.New("fake: ADS1115 NACK")
	}
	a.ptr = data[0]
	if len(data) == 3 && data[0] == 0x01 {
		a.config = uint16(data[1])<<8 | uint16(data[2])
		if a.config&0x8000 != 0 {
			a.seen = append(a.seen, a.config)
		}
	}
	return nil
}

// i2cRead reads len(buf) bytes from the pointer.
func (c *fakeConn) i2cRead(buf []byte) error {
	b := c.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if m := b.pca[c.addr]; m != nil {
		if b.record {
			b.log = append(b.log, fmt.Sprintf("R %02X", m.ptr))
		}
		for i := range buf {
			buf[i] = m.reg[m.ptr]
			if m.reg[0]&0x20 != 0 {
				m.ptr++
			}
		}
		return nil
	}
	a := b.ads[c.addr]
	if a.fail {
		return errors.New("fake: ADS1115 NACK")
	}
	var v uint16
	switch a.ptr {
	case 0x01:
		v = a.config | 0x8000 // OS = 1: no conversion in progress
	case 0x00:
		mux := (a.config >> 12) & 7
		if mux < 4 {
			b.t.Errorf("ADS1115 conversion with differential mux %03b", mux)
		}
		raw := math.Round(a.volts[mux-4] / a.fsr() * 32768)
		v = uint16(int16(max(min(raw, 32767), -32768)))
		b.bump()
	}
	if len(buf) >= 2 {
		buf[0], buf[1] = byte(v>>8), byte(v) // MSB first on the wire
	}
	return nil
}

func (c *fakeConn) Read(p []byte) (int, error)  { return len(p), c.i2cRead(p) }
func (c *fakeConn) Write(p []byte) (int, error) { return len(p), c.i2cWrite(p) }
func (c *fakeConn) Close() error                { return nil }
func (c *fakeConn) ReadByte() (byte, error) {
	var b [1]byte
	err := c.i2cRead(b[:])
	return b[0], err
}

func (c *fakeConn) ReadByteData(reg uint8) (uint8, error) {
	if err := c.i2cWrite([]byte{reg}); err != nil {
		return 0, err
	}
	return c.ReadByte()
}

func (c *fakeConn) ReadBlockData(reg uint8, data []byte) error {
	if err := c.i2cWrite([]byte{reg}); err != nil {
		return err
	}
	return c.i2cRead(data)
}
func (c *fakeConn) WriteByteData(reg, val uint8) error { return c.i2cWrite([]byte{reg, val}) }

// WriteBlockData is an SMBus I2C-block write: register then data in one transaction.
// It does not allocate (the model is fed byte by byte) so Command's alloc test holds.
func (c *fakeConn) WriteBlockData(reg uint8, data []byte) error {
	b := c.b
	b.mu.Lock()
	defer b.mu.Unlock()
	m := b.pca[c.addr]
	if m == nil {
		return errors.New("fake: block write to a non-PCA9685")
	}
	if b.record {
		b.log = append(b.log, "W "+hexs(append([]byte{reg}, data...)))
	}
	m.ptr = reg
	for _, v := range data {
		m.write(v)
	}
	return nil
}
func (c *fakeConn) WriteByte(val byte) error     { return c.i2cWrite([]byte{val}) }
func (c *fakeConn) WriteBytes(data []byte) error { return c.i2cWrite(data) }

// ReadWordData and WriteWordData are SMBus word transfers: the low byte goes first on
// the wire (gobot's ADS1x15 driver swaps bytes so the device sees MSB first).
func (c *fakeConn) ReadWordData(reg uint8) (uint16, error) {
	if err := c.i2cWrite([]byte{reg}); err != nil {
		return 0, err
	}
	var w [2]byte
	err := c.i2cRead(w[:])
	return uint16(w[0]) | uint16(w[1])<<8, err
}

func (c *fakeConn) WriteWordData(reg uint8, val uint16) error {
	return c.i2cWrite([]byte{reg, byte(val), byte(val >> 8)})
}
