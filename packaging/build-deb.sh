#!/usr/bin/env bash
# Builds Debian packages from the release binaries: build-deb.sh DIST VERSION [ARCH...]
# DIST holds praxis-linux-{amd64,arm64,armv7} (make release); ARCH are Debian
# architectures (default: amd64 arm64 armhf, those whose binary exists). Writes
# DIST/praxis_<version>_<arch>.deb with dpkg-deb.
set -euo pipefail
dist=$1 version=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
# Debian versions: a tag v1.2.3(-4-gabc) -> 1.2.3(.4.gabc); an untagged describe (a bare
# commit, maybe -dirty) -> 0~git<commit>(.dirty), which sorts before any release.
deb_version=${version#v}
if ! [[ $deb_version =~ ^[0-9]+\.[0-9]+ ]]; then deb_version="0~git${deb_version}"; fi
deb_version=${deb_version//-/.}
archs=("$@")
[ ${#archs[@]} -gt 0 ] || archs=(amd64 arm64 armhf)
for arch in "${archs[@]}"; do
	case $arch in
	amd64) bin=praxis-linux-amd64 ;;
	arm64) bin=praxis-linux-arm64 ;;
	armhf) bin=praxis-linux-armv7 ;;
	*) echo "build-deb: unknown architecture $arch" >&2; exit 2 ;;
	esac
	if [ ! -f "$dist/$bin" ]; then
		[ $# -gt 0 ] && { echo "build-deb: $dist/$bin missing (make release)" >&2; exit 1; }
		continue
	fi
	root=$(mktemp -d)
	chmod 0755 "$root"
	trap 'rm -rf "$root"' EXIT
	install -D -m 0755 "$dist/$bin" "$root/usr/bin/praxis"
	install -D -m 0644 "$here/praxis.service" "$root/lib/systemd/system/praxis.service"
	install -D -m 0644 "$here/60-praxis.rules" "$root/lib/udev/rules.d/60-praxis.rules"
	install -D -m 0644 "$here/praxis.yaml" "$root/etc/praxis/praxis.yaml"
	install -D -m 0644 "$here/../LICENSE" "$root/usr/share/doc/praxis/copyright"
	install -d "$root/DEBIAN"
	install -m 0755 "$here/deb/postinst" "$here/deb/prerm" "$here/deb/postrm" "$root/DEBIAN/"
	echo /etc/praxis/praxis.yaml > "$root/DEBIAN/conffiles"
	size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
	cat > "$root/DEBIAN/control" <<CONTROL
Package: praxis
Version: $deb_version
Architecture: $arch
Maintainer: Praxis developers <praxis@praxis-robotics.org>
Installed-Size: $size
Depends: passwd
Section: misc
Priority: optional
Homepage: https://github.com/praxis-robotics/praxis
Description: robot skills learned by demonstration (daemon and CLI)
 Praxis learns skills from demonstrations as dynamic movement primitives and replays
 them on robot arms (Dynamixel, Feetech, PCA9685 and Firmata hobby servos, or a
 simulator). The package installs the praxis binary, a systemd service running as the
 praxis user with its data in /var/lib/praxis, and udev rules for servo adapters.
CONTROL
	out="$dist/praxis_${deb_version}_${arch}.deb"
	dpkg-deb --root-owner-group -Zxz --build "$root" "$out" >/dev/null
	rm -rf "$root"
	trap - EXIT
	echo "deb: $out"
done
