/*
 * Praxis firmware bridge: reference firmware for the ATmega328P (Arduino Uno/Nano class,
 * 16 MHz). Speaks firmware-bridge/PROTOCOL.md over the UART, drives up to 6 hobby servos
 * with pulses timed by Timer1, reads one potentiometer per joint on ADC0..ADC5, and stops
 * (or holds) the servos when the host goes silent for the heartbeat timeout.
 *
 * Pins: servo j on PD(2+j) (Arduino D2..D7), pot j on ADCj (A0..A5), UART on PD0/PD1.
 * Timers: Timer0 = 1 ms tick (heartbeat), Timer1 = servo pulses (0.5 us resolution).
 * No Arduino core; avr-libc only. Build: make (see Makefile), BAUD selects the rate.
 */
#include <avr/interrupt.h>
#include <avr/io.h>
#include <stdint.h>
#include <util/atomic.h>
#include <util/crc16.h>

#ifndef BAUD
#define BAUD 115200UL
#endif

#define FW_MAJOR 1
#define FW_MINOR 0
#define PROTO_VERSION 1
#define NJ 6                 /* servo channels */
#define PULSE_MIN 500        /* us */
#define PULSE_MAX 2500       /* us */
#define PULSE_CENTER 1500    /* us */
#define FRAME_TICKS 40000    /* 20 ms servo period */
#define DEFAULT_TIMEOUT_MS 250
#define TRIM_TICKS 8         /* compare-ISR entry latency (4 us), measured under simavr */
#define MAX_RAW 72
#define MAX_ENC 76

enum { T_HELLO = 0x01, T_CONFIG, T_ENABLE, T_COMMAND, T_HEARTBEAT, T_GETSTATS,
       T_HELLO_ACK = 0x81, T_ACK, T_STATE, T_FAULT, T_STATS = 0x86 };
enum { C_OK, C_BAD_VERSION, C_BAD_LENGTH, C_BAD_TYPE, C_RANGE, C_TIMEOUT, C_NOT_READY,
       C_BAD_JOINTS, C_RESET, C_OVERRUN };
enum { A_DETACH = 0, A_HOLD = 1 };
#define FLAG_VEL 0x01
#define FLAG_TIMED_OUT 0x80

/* ---- servo output: shared with the Timer1 ISR ---- */
static volatile uint16_t pulse_cur[NJ];   /* ticks being emitted */
static volatile uint16_t pulse_tgt[NJ];   /* ticks commanded */
static volatile uint16_t pulse_step[NJ];  /* ticks per 20 ms frame, 0 = jump */
static volatile uint8_t enabled;          /* bit j: joint j pulses */
static volatile int8_t channel = NJ; /* NJ: waiting for the next frame */

/* ---- heartbeat: shared with the Timer0 ISR ---- */
static volatile uint16_t since_rx_ms;
static volatile uint16_t timeout_ms = DEFAULT_TIMEOUT_MS;
static volatile uint8_t timeout_action = A_DETACH;
static volatile uint8_t timed_out;        /* set by the ISR, cleared by COMMAND/ENABLE */
static volatile uint8_t timeout_report;   /* the ISR asks main to send FAULT */
static volatile uint8_t session;          /* a HELLO has been received */

/* ---- ADC: shared with the ADC ISR ---- */
static volatile uint16_t adc_val[NJ];
static volatile uint8_t adc_ch;

/* ---- UART receive ring: shared with the RX ISR ---- */
static volatile uint8_t rx_buf[128];
static volatile uint8_t rx_head, rx_tail;
static volatile uint8_t rx_overrun;

/* ---- link counters (STATS), main loop only ---- */
static uint16_t st_rx, st_crc, st_framing, st_lost, st_dups, st_overruns, st_timeouts;
static uint8_t tx_seq, last_rx_seq, have_rx_seq;

/*
 * The compare-A interrupt walks the channels back to back: each pulse ends where the next
 * begins, then the timer waits for the end of the 20 ms frame. Timer1 runs free (16 bits,
 * wrapping); the frame start is kept in frame_base and compares use wrapping arithmetic.
 */
static uint16_t frame_base;

ISR(TIMER1_COMPA_vect)
{
	if (channel >= 0 && channel < NJ)
		PORTD &= (uint8_t)~(1 << (channel + 2));
	channel++;
	if (channel > NJ) {
		/* frame start: slew toward the targets. */
		frame_base += FRAME_TICKS;
		for (uint8_t j = 0; j < NJ; j++) {
			uint16_t c = pulse_cur[j], t = pulse_tgt[j], s = pulse_step[j];
			if (s == 0 || (c < t ? t - c : c - t) <= s)
				c = t;
			else if (c < t)
				c += s;
			else
				c -= s;
			pulse_cur[j] = c;
		}
		channel = 0;
	}
	if (channel < NJ) {
		if (enabled & (1 << channel))
			PORTD |= (uint8_t)(1 << (channel + 2));
		OCR1A = TCNT1 + pulse_cur[channel] - TRIM_TICKS;
	} else {
		OCR1A = frame_base + FRAME_TICKS; /* wait out the frame */
	}
}

ISR(TIMER0_COMPA_vect)
{
	if (!session || timeout_ms == 0 || timed_out)
		return;
	if (++since_rx_ms >= timeout_ms) {
		timed_out = 1;
		timeout_report = 1;
		if (timeout_action == A_DETACH)
			enabled = 0;
	}
}

ISR(ADC_vect)
{
	adc_val[adc_ch] = ADC;
	if (++adc_ch >= NJ)
		adc_ch = 0;
	ADMUX = (1 << REFS0) | adc_ch;
	ADCSRA |= (1 << ADSC);
}

ISR(USART_RX_vect)
{
	uint8_t c = UDR0;
	uint8_t next = (uint8_t)((rx_head + 1) & 127);
	if (next == rx_tail) {
		rx_overrun = 1;
		return;
	}
	rx_buf[rx_head] = c;
	rx_head = next;
}

static void uart_init(void)
{
	/* double speed: 16 MHz / (8 * (UBRR + 1)); 1 Mbit/s exact, 115200 at +2.1 % */
	uint16_t ubrr = (uint16_t)((F_CPU + 4 * BAUD) / (8 * BAUD) - 1);
	UCSR0A = (1 << U2X0); /* before UBRR: simavr derives the bit time when UBRR0L is written */
	UBRR0H = (uint8_t)(ubrr >> 8);
	UBRR0L = (uint8_t)ubrr;
	UCSR0B = (1 << RXEN0) | (1 << TXEN0) | (1 << RXCIE0);
	UCSR0C = (1 << UCSZ01) | (1 << UCSZ00); /* 8N1 */
}

static void uart_put(uint8_t c)
{
	while (!(UCSR0A & (1 << UDRE0)))
		;
	UDR0 = c;
}

static int16_t uart_get(void)
{
	uint8_t c;
	if (rx_head == rx_tail)
		return -1;
	c = rx_buf[rx_tail];
	rx_tail = (uint8_t)((rx_tail + 1) & 127);
	return c;
}

/* ---- frame output ---- */
static uint8_t tx_raw[MAX_RAW];
static uint8_t tx_len;

static void tx_begin(uint8_t type, uint8_t ack)
{
	tx_raw[0] = type;
	tx_raw[1] = tx_seq++;
	tx_raw[2] = ack;
	tx_len = 3;
}

static void tx_u8(uint8_t v) { tx_raw[tx_len++] = v; }
static void tx_u16(uint16_t v) { tx_raw[tx_len++] = (uint8_t)v; tx_raw[tx_len++] = (uint8_t)(v >> 8); }

/* tx_end appends the CRC and writes the frame COBS-stuffed with its 0x00 delimiter. */
static void tx_end(void)
{
	uint16_t crc = 0xFFFF;
	for (uint8_t i = 0; i < tx_len; i++)
		crc = _crc_xmodem_update(crc, tx_raw[i]); /* poly 0x1021, MSB first */
	tx_u16(crc);
	uint8_t code_at = 0, run = 1;
	uint8_t out[MAX_ENC];
	uint8_t n = 1;
	for (uint8_t i = 0; i < tx_len; i++) {
		if (tx_raw[i] == 0) {
			out[code_at] = run;
			code_at = n++;
			run = 1;
		} else {
			out[n++] = tx_raw[i];
			run++;
		}
	}
	out[code_at] = run;
	for (uint8_t i = 0; i < n; i++)
		uart_put(out[i]);
	uart_put(0);
}

static void send_ack(uint8_t type, uint8_t ack, uint8_t code, uint8_t detail)
{
	tx_begin(type, ack);
	tx_u8(code);
	tx_u8(detail);
	tx_end();
}

static void send_state(uint8_t ack)
{
	uint16_t pos[NJ], pul[NJ];
	uint8_t en, to;
	ATOMIC_BLOCK(ATOMIC_RESTORESTATE) {
		for (uint8_t j = 0; j < NJ; j++) {
			pos[j] = adc_val[j];
			pul[j] = pulse_cur[j];
		}
		en = enabled;
		to = timed_out;
	}
	tx_begin(T_STATE, ack);
	tx_u8(to ? FLAG_TIMED_OUT : 0);
	tx_u8(en);
	tx_u8(NJ);
	for (uint8_t j = 0; j < NJ; j++)
		tx_u16(pos[j]);
	for (uint8_t j = 0; j < NJ; j++)
		tx_u16((en & (1 << j)) ? pul[j] / 2 : 0);
	tx_end();
}

static uint16_t rd16(const uint8_t *p) { return (uint16_t)p[0] | (uint16_t)p[1] << 8; }

/* handle dispatches one CRC-checked frame of len bytes (without the CRC). */
static void handle(const uint8_t *f, uint8_t len)
{
	uint8_t type = f[0], seq = f[1];
	const uint8_t *p = f + 3;
	uint8_t plen = (uint8_t)(len - 3);

	if (type == T_HELLO) {
		if (plen != 1) {
			send_ack(T_ACK, seq, C_BAD_LENGTH, type);
			return;
		}
		if (p[0] != PROTO_VERSION) {
			send_ack(T_ACK, seq, C_BAD_VERSION, PROTO_VERSION);
			return;
		}
		session = 1;
		have_rx_seq = 1;
		last_rx_seq = seq;
		ATOMIC_BLOCK(ATOMIC_RESTORESTATE) { since_rx_ms = 0; }
		tx_begin(T_HELLO_ACK, seq);
		tx_u8(PROTO_VERSION);
		tx_u8(FW_MAJOR);
		tx_u8(FW_MINOR);
		tx_u8(NJ);
		tx_u8((1 << NJ) - 1); /* every joint has a pot */
		tx_u8(FLAG_VEL);      /* CapSlew: slew rates honoured */
		tx_u16(PULSE_MIN);
		tx_u16(PULSE_MAX);
		tx_u16(1023);
		tx_u16(timeout_ms);
		tx_end();
		return;
	}
	if (!session) {
		send_ack(T_ACK, seq, C_NOT_READY, type);
		return;
	}
	/* sequence accounting: duplicates are dropped, gaps are counted. */
	if (have_rx_seq && seq == last_rx_seq) {
		st_dups++;
		return;
	}
	if (have_rx_seq)
		st_lost += (uint8_t)(seq - last_rx_seq - 1);
	last_rx_seq = seq;
	have_rx_seq = 1;
	ATOMIC_BLOCK(ATOMIC_RESTORESTATE) { since_rx_ms = 0; }

	switch (type) {
	case T_CONFIG:
		if (plen != 3 || p[2] > A_HOLD) {
			send_ack(T_ACK, seq, C_BAD_LENGTH, type);
			return;
		}
		ATOMIC_BLOCK(ATOMIC_RESTORESTATE) {
			timeout_ms = rd16(p);
			timeout_action = p[2];
		}
		send_ack(T_ACK, seq, C_OK, 0);
		return;
	case T_ENABLE:
		if (plen != 1) {
			send_ack(T_ACK, seq, C_BAD_LENGTH, type);
			return;
		}
		if (p[0] & (uint8_t)~((1 << NJ) - 1)) {
			send_ack(T_ACK, seq, C_BAD_JOINTS, p[0]);
			return;
		}
		ATOMIC_BLOCK(ATOMIC_RESTORESTATE) {
			for (uint8_t j = 0; j < NJ; j++)
				if ((p[0] & (1 << j)) && !(enabled & (1 << j)))
					pulse_cur[j] = pulse_tgt[j]; /* a newly enabled servo starts at its target */
			enabled = p[0];
			timed_out = 0;
		}
		send_ack(T_ACK, seq, C_OK, 0);
		return;
	case T_COMMAND: {
		if (plen < 2) {
			send_ack(T_ACK, seq, C_BAD_LENGTH, type);
			return;
		}
		uint8_t n = p[0], fl = p[1];
		uint8_t want = (uint8_t)(2 + 2 * n * ((fl & FLAG_VEL) ? 2 : 1));
		if (n != NJ) {
			send_ack(T_ACK, seq, C_BAD_JOINTS, n);
			return;
		}
		if (plen != want) {
			send_ack(T_ACK, seq, C_BAD_LENGTH, type);
			return;
		}
		uint8_t clamped = 0xFF;
		for (uint8_t j = 0; j < NJ; j++) {
			uint16_t us = rd16(p + 2 + 2 * j);
			uint16_t step = 0;
			if (us < PULSE_MIN) {
				us = PULSE_MIN;
				clamped = j;
			} else if (us > PULSE_MAX) {
				us = PULSE_MAX;
				clamped = j;
			}
			if (fl & FLAG_VEL) {
				uint16_t v = rd16(p + 2 + 2 * NJ + 2 * j); /* us/s */
				step = v / 25;                               /* ticks per 20 ms */
				if (v && !step)
					step = 1;
			}
			ATOMIC_BLOCK(ATOMIC_RESTORESTATE) {
				pulse_tgt[j] = (uint16_t)(us * 2);
				pulse_step[j] = step;
			}
		}
		ATOMIC_BLOCK(ATOMIC_RESTORESTATE) { timed_out = 0; }
		if (clamped != 0xFF)
			send_ack(T_FAULT, seq, C_RANGE, clamped);
		send_state(seq);
		return;
	}
	case T_HEARTBEAT:
		if (plen != 0) {
			send_ack(T_ACK, seq, C_BAD_LENGTH, type);
			return;
		}
		send_state(seq);
		return;
	case T_GETSTATS:
		tx_begin(T_STATS, seq);
		tx_u16(st_rx);
		tx_u16(st_crc);
		tx_u16(st_framing);
		tx_u16(st_lost);
		tx_u16(st_dups);
		tx_u16(st_overruns);
		tx_u16(st_timeouts);
		tx_end();
		return;
	default:
		send_ack(T_ACK, seq, C_BAD_TYPE, type);
	}
}

/* ---- frame input ---- */
static uint8_t rx_enc[MAX_ENC];
static uint8_t rx_n, rx_too_long;

/* rx_frame unstuffs and checks the frame in rx_enc[0:rx_n] and dispatches it. */
static void rx_frame(void)
{
	uint8_t raw[MAX_RAW];
	uint8_t n = 0, i = 0;
	while (i < rx_n) {
		uint8_t code = rx_enc[i++];
		if (code == 0 || i + code - 1 > rx_n) {
			st_framing++;
			return;
		}
		for (uint8_t k = 1; k < code; k++) {
			if (n >= MAX_RAW) {
				st_framing++;
				return;
			}
			raw[n++] = rx_enc[i++];
		}
		if (code != 0xFF && i < rx_n) {
			if (n >= MAX_RAW) {
				st_framing++;
				return;
			}
			raw[n++] = 0;
		}
	}
	if (n < 5) {
		st_framing++;
		return;
	}
	uint16_t crc = 0xFFFF;
	for (uint8_t k = 0; k < n - 2; k++)
		crc = _crc_xmodem_update(crc, raw[k]);
	if (crc != rd16(raw + n - 2)) {
		st_crc++;
		return;
	}
	st_rx++;
	handle(raw, (uint8_t)(n - 2));
}

int main(void)
{
	uint8_t cause = MCUSR;
	MCUSR = 0;

	DDRD |= 0xFC; /* PD2..PD7 servo outputs, low */
	PORTD &= 0x03;
	for (uint8_t j = 0; j < NJ; j++)
		pulse_cur[j] = pulse_tgt[j] = PULSE_CENTER * 2;

	/* Timer1: normal mode, clk/8 = 2 MHz (0.5 us), compare A drives the channel walk. */
	TCCR1A = 0;
	TCCR1B = (1 << CS11);
	frame_base = (uint16_t)(100 - FRAME_TICKS); /* first frame starts at tick 100 */
	OCR1A = 100;
	TIMSK1 = (1 << OCIE1A);
	/* Timer0: CTC, clk/64, 250 counts = 1 ms. */
	TCCR0A = (1 << WGM01);
	TCCR0B = (1 << CS01) | (1 << CS00);
	OCR0A = 249;
	TIMSK0 = (1 << OCIE0A);
	/* ADC: AVcc reference, clk/128 = 125 kHz, interrupt walks ADC0..ADC5. */
	ADMUX = (1 << REFS0);
	ADCSRA = (1 << ADEN) | (1 << ADIE) | (1 << ADPS2) | (1 << ADPS1) | (1 << ADPS0);
	uart_init();
	sei();
	ADCSRA |= (1 << ADSC);

	send_ack(T_FAULT, 0, C_RESET, cause);

	for (;;) {
		if (timeout_report) {
			ATOMIC_BLOCK(ATOMIC_RESTORESTATE) { timeout_report = 0; }
			st_timeouts++;
			send_ack(T_FAULT, last_rx_seq, C_TIMEOUT, timeout_action);
		}
		if (rx_overrun) {
			ATOMIC_BLOCK(ATOMIC_RESTORESTATE) { rx_overrun = 0; }
			st_overruns++;
			rx_too_long = 1; /* the frame in progress lost bytes: drop it */
			send_ack(T_FAULT, last_rx_seq, C_OVERRUN, 0);
		}
		int16_t c = uart_get();
		if (c < 0)
			continue;
		if (c != 0) {
			if (rx_n < MAX_ENC)
				rx_enc[rx_n++] = (uint8_t)c;
			else
				rx_too_long = 1;
			continue;
		}
		if (rx_too_long)
			st_framing++;
		else if (rx_n > 0)
			rx_frame();
		rx_n = 0;
		rx_too_long = 0;
	}
}
