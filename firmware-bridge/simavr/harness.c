/*
 * fwharness: runs the Praxis reference firmware under simavr (ATmega328P, 16 MHz) and
 * bridges it to the outside world:
 *   - the MCU's UART0 <-> a pseudo-terminal, opened by the host like a real board; bytes
 *     into the MCU are paced at the baud rate in simulated time;
 *   - servo pins PD2..PD7 -> pulse reports on stdout, timed in simulated CPU cycles;
 *   - ADC0..ADC5 <- millivolt values from stdin.
 * The simulation is paced to wall-clock time (so that the host's timers and the firmware's
 * agree) unless -fast is given; when the harness falls behind (a loaded machine) simulated
 * time slips rather than racing to catch up.
 *
 * Usage: fwharness [-baud N] [-fast] firmware.elf
 * stdout (one event a line, cycles at 16 MHz):
 *   pty PATH                 the device path, once, first
 *   p J RISE WIDTH           servo J emitted a pulse starting at cycle RISE, WIDTH cycles long
 *   t CYCLE                  time mark, every simulated millisecond
 *   rx CYCLE                 a 0x00 frame delimiter was delivered to the MCU
 *   tx CYCLE                 the MCU sent a 0x00 frame delimiter
 *   exit STATE               the simulated core stopped (crash, sleep forever)
 * stdin (one command a line):
 *   adc CH MILLIVOLTS        set the voltage on ADC channel CH (0..5)
 *   corrupt in|out EVERY     flip bit 4 of every EVERY-th byte into / out of the MCU (0 off)
 *   drop in|out EVERY        drop every EVERY-th byte into / out of the MCU (0 off)
 *   reset                    reset the MCU (a board reset: the firmware reboots)
 *   quit                     exit; so does end of input
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <avr_adc.h>
#include <avr_ioport.h>
#include <avr_uart.h>
#include <sim_avr.h>
#include <sim_elf.h>

#define FREQ 16000000UL
#define NJ 6

static avr_t *avr;
static int pty_fd = -1;
static int xoff;
static uint64_t rise[NJ];
static unsigned long corrupt_in, corrupt_out, drop_in, drop_out;
static unsigned long n_in, n_out;

static void on_uart_out(struct avr_irq_t *irq, uint32_t value, void *param)
{
	(void)irq;
	(void)param;
	uint8_t c = (uint8_t)value;
	n_out++;
	if (drop_out && n_out % drop_out == 0)
		return;
	if (corrupt_out && n_out % corrupt_out == 0)
		c ^= 0x10;
	if (c == 0)
		printf("tx %llu\n", (unsigned long long)avr->cycle);
	/* The host may be absent: the pty buffers, or drops when full. */
	if (write(pty_fd, &c, 1) < 0 && errno != EAGAIN && errno != EIO)
		perror("harness: pty write");
}

static void on_xon(struct avr_irq_t *irq, uint32_t value, void *param)
{
	(void)irq;
	(void)value;
	(void)param;
	xoff = 0;
}

static void on_xoff(struct avr_irq_t *irq, uint32_t value, void *param)
{
	(void)irq;
	(void)value;
	(void)param;
	xoff = 1;
}

static void on_pin(struct avr_irq_t *irq, uint32_t value, void *param)
{
	(void)irq;
	int j = (int)(intptr_t)param;
	if (value)
		rise[j] = avr->cycle;
	else if (rise[j])
		printf("p %d %llu %llu\n", j, (unsigned long long)rise[j],
		       (unsigned long long)(avr->cycle - rise[j]));
}

static int open_pty(void)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY);
	if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0)
		return -1;
	struct termios t;
	if (tcgetattr(m, &t) == 0) {
		cfmakeraw(&t);
		tcsetattr(m, TCSANOW, &t);
	}
	const char *name = ptsname(m);
	/* Keep a slave descriptor open so the master never sees a hang-up between hosts. */
	int s = open(name, O_RDWR | O_NOCTTY);
	if (s >= 0 && tcgetattr(s, &t) == 0) {
		cfmakeraw(&t);
		tcsetattr(s, TCSANOW, &t);
	}
	fcntl(m, F_SETFL, fcntl(m, F_GETFL) | O_NONBLOCK);
	printf("pty %s\n", name);
	return m;
}

static void command(char *line)
{
	char what[16], dir[8];
	unsigned long a, b;
	if (sscanf(line, "adc %lu %lu", &a, &b) == 2 && a < NJ) {
		avr_raise_irq(avr_io_getirq(avr, AVR_IOCTL_ADC_GETIRQ, ADC_IRQ_ADC0 + a), (uint32_t)b);
	} else if (sscanf(line, "%15s %7s %lu", what, dir, &a) == 3 && (!strcmp(dir, "in") || !strcmp(dir, "out"))) {
		int in = !strcmp(dir, "in");
		if (!strcmp(what, "corrupt"))
			*(in ? &corrupt_in : &corrupt_out) = a;
		else if (!strcmp(what, "drop"))
			*(in ? &drop_in : &drop_out) = a;
		else
			fprintf(stderr, "harness: bad command %s", line);
	} else if (!strncmp(line, "reset", 5)) {
		avr_reset(avr);
		for (int j = 0; j < NJ; j++)
			rise[j] = 0;
	} else if (!strncmp(line, "quit", 4)) {
		exit(0);
	} else {
		fprintf(stderr, "harness: bad command %s", line);
	}
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	unsigned long baud = 115200;
	int fast = 0;
	const char *elf = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-baud") && i + 1 < argc)
			baud = strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "-fast"))
			fast = 1;
		else
			elf = argv[i];
	}
	if (!elf || baud == 0) {
		fprintf(stderr, "usage: fwharness [-baud N] [-fast] firmware.elf\n");
		return 2;
	}
	elf_firmware_t fw;
	memset(&fw, 0, sizeof fw);
	if (elf_read_firmware(elf, &fw) != 0) {
		fprintf(stderr, "harness: cannot read %s\n", elf);
		return 1;
	}
	avr = avr_make_mcu_by_name("atmega328p");
	if (!avr) {
		fprintf(stderr, "harness: simavr has no atmega328p\n");
		return 1;
	}
	avr_init(avr);
	avr->frequency = FREQ;
	avr->vcc = avr->avcc = avr->aref = 5000;
	avr->log = LOG_ERROR;
	avr_load_firmware(avr, &fw);

	/* UART: no console echo, no host sleeps when the firmware polls. */
	uint32_t flags = 0;
	avr_ioctl(avr, AVR_IOCTL_UART_GET_FLAGS('0'), &flags);
	flags &= ~(AVR_UART_FLAG_STDIO | AVR_UART_FLAG_POLL_SLEEP);
	avr_ioctl(avr, AVR_IOCTL_UART_SET_FLAGS('0'), &flags);
	avr_irq_register_notify(avr_io_getirq(avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_OUTPUT), on_uart_out, NULL);
	avr_irq_register_notify(avr_io_getirq(avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_OUT_XON), on_xon, NULL);
	avr_irq_register_notify(avr_io_getirq(avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_OUT_XOFF), on_xoff, NULL);
	avr_irq_t *uart_in = avr_io_getirq(avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_INPUT);
	for (int j = 0; j < NJ; j++)
		avr_irq_register_notify(avr_io_getirq(avr, AVR_IOCTL_IOPORT_GETIRQ('D'), IOPORT_IRQ_PIN2 + j),
					on_pin, (void *)(intptr_t)j);
	for (int ch = 0; ch < NJ; ch++)
		avr_raise_irq(avr_io_getirq(avr, AVR_IOCTL_ADC_GETIRQ, ADC_IRQ_ADC0 + ch), 2500);

	pty_fd = open_pty();
	if (pty_fd < 0) {
		perror("harness: pty");
		return 1;
	}
	fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
	fflush(stdout);

	const uint64_t byte_cycles = FREQ * 10 / baud; /* 8N1: 10 bits a byte */
	const uint64_t ms_cycles = FREQ / 1000;
	uint64_t next_byte = 0, next_mark = ms_cycles;
	uint8_t inbuf[256];
	size_t in_n = 0, in_off = 0;
	char line[256];
	size_t line_n = 0;
	uint64_t wall0 = now_ns();

	for (;;) {
		for (int k = 0; k < 400; k++) {
			int st = avr_run(avr);
			if (st == cpu_Done || st == cpu_Crashed) {
				printf("exit %d\n", st);
				fflush(stdout);
				return 1;
			}
		}
		/* host -> MCU, one byte per byte time */
		if (in_off == in_n) {
			ssize_t r = read(pty_fd, inbuf, sizeof inbuf);
			in_off = 0;
			in_n = r > 0 ? (size_t)r : 0;
		}
		while (in_off < in_n && !xoff && avr->cycle >= next_byte) {
			uint8_t c = inbuf[in_off++];
			n_in++;
			if (drop_in && n_in % drop_in == 0) {
				continue;
			}
			if (corrupt_in && n_in % corrupt_in == 0)
				c ^= 0x10;
			avr_raise_irq(uart_in, c);
			if (c == 0)
				printf("rx %llu\n", (unsigned long long)avr->cycle);
			next_byte = avr->cycle + byte_cycles;
		}
		if (avr->cycle >= next_mark) {
			printf("t %llu\n", (unsigned long long)avr->cycle);
			next_mark += ms_cycles;
			/* commands */
			ssize_t r;
			char ch;
			while ((r = read(0, &ch, 1)) == 1) {
				if (line_n < sizeof line - 1)
					line[line_n++] = ch;
				if (ch == '\n') {
					line[line_n] = 0;
					command(line);
					line_n = 0;
				}
			}
			if (r == 0)
				return 0; /* stdin closed: the test is gone */
			fflush(stdout);
			if (!fast) {
				uint64_t sim_ns = avr->cycle * 1000ULL / (FREQ / 1000000ULL);
				uint64_t wall = now_ns() - wall0;
				if (sim_ns > wall + 200000) {
					struct timespec d = {0, (long)(sim_ns - wall)};
					nanosleep(&d, NULL);
				} else if (wall > sim_ns + 2000000) {
					/* Descheduled: slip instead of racing to catch up, so that the
					 * firmware never sees a burst of simulated time the host could
					 * not answer in. */
					wall0 += wall - sim_ns - 2000000;
				}
			}
		}
	}
}
