#!/usr/bin/env bash
# Installs the Debian packages the test suite drives for real (MQTT broker, pseudo-terminal
# tools, qemu-user-static for the arm release binaries). Skips what is present; needs root
# (as in CI) to install what is missing.
set -euo pipefail
need=()
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || need+=(mosquitto)
command -v mosquitto_pub >/dev/null 2>&1 || need+=(mosquitto-clients)
command -v socat >/dev/null 2>&1 || need+=(socat)
# ROS 1 from Debian: a real master, the command-line tools, rospy and genpy, and the
# message packages rostopic needs to decode what it echoes.
command -v rosmaster >/dev/null 2>&1 || need+=(python3-rosmaster)
command -v rostopic >/dev/null 2>&1 || need+=(python3-rostopic)
command -v rosservice >/dev/null 2>&1 || need+=(python3-rosservice)
for m in rospy genpy sensor_msgs trajectory_msgs std_msgs std_srvs; do
  /usr/bin/python3 -c "import $m" >/dev/null 2>&1 || need+=("python3-${m//_/-}")
done
# packaging tests: arm64/armv7 release binaries under qemu-user (dpkg-deb comes with dpkg)
command -v qemu-aarch64-static >/dev/null 2>&1 || need+=(qemu-user-static)
# firmware-bridge: AVR toolchain, simavr library and headers (the firmware tests run under it)
command -v avr-gcc >/dev/null 2>&1 || need+=(gcc-avr binutils-avr)
[ -f /usr/lib/avr/include/avr/io.h ] || need+=(avr-libc)
[ -f /usr/include/simavr/sim_avr.h ] || need+=(simavr libsimavr-dev)
[ -f /usr/include/libelf.h ] || need+=(libelf-dev)
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
# dashboard end-to-end tests: Debian's headless Chromium, driven by chromedp
[ -x /usr/bin/chromium ] || need+=(chromium)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "deps: missing ${need[*]}; install them (apt-get install -y ${need[*]}) or tests that need them skip" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# Debian starts a system mosquitto on 1883; tests start their own brokers on free ports.
(systemctl disable --now mosquitto 2>/dev/null || service mosquitto stop 2>/dev/null || true) >/dev/null 2>&1
