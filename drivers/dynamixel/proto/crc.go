package dxlproto

// crcTable is the ROBOTIS CRC-16 table (polynomial 0x8005, MSB first); crcTable[1] is 0x8005.
var crcTable = makeCRCTable()

func makeCRCTable() (t [256]uint16) {
	for i := range t {
		c := uint16(i) << 8
		for range 8 {
			if c&0x8000 != 0 {
				c = c<<1 ^ 0x8005
			} else {
				c <<= 1
			}
		}
		t[i] = c
	}
	return t
}

// CRC continues the Protocol 2.0 CRC-16 crc over b; start with 0 at the first header byte.
func CRC(crc uint16, b []byte) uint16 {
	for _, x := range b {
		crc = crc<<8 ^ crcTable[byte(crc>>8)^x]
	}
	return crc
}

func crcByte(crc uint16, x byte) uint16 { return crc<<8 ^ crcTable[byte(crc>>8)^x] }
