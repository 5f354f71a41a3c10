#!/usr/bin/env bash
# Builds ScanBridge's .deb or .rpm from a release binary (built with --static-swift-stdlib, so
# target machines need no Swift toolchain; the C libraries come from the distribution).
#   Deploy/package.sh deb|rpm BINARY OUTDIR
#   Deploy/package.sh scripts deb|rpm OUTDIR    (only the maintainer scripts, for checking)
# Layout: /opt/scanbridge/{bin/scanbridge, bin/swift-backtrace, share/DSConfiguration.ini,
# uninstall.sh, README.md}, the system unit, the user unit, /usr/bin/scanbridge (a link).
# Maintainer scripts: Deploy/package/ (shared functions + one dispatcher per script).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
deploy="$repo/Deploy"

# A maintainer script: the shared functions, the format's unit control, then the dispatcher.
script() { # script OUTPUT DISPATCHER
    { echo "#!/bin/sh"; echo "set -e"; cat "$deploy/package/maintainer-functions.sh" "$deploy/package/$format-systemd.sh"
      cat "$deploy/package/$2"; } > "$1"
    chmod 0755 "$1"
}

if [ "${1:-}" = scripts ]; then
    format=${2:?deb or rpm}; outdir=${3:?output folder}; mkdir -p "$outdir"
    case "$format" in
        deb) for name in postinst prerm postrm; do script "$outdir/$name" "deb-$name"; done ;;
        rpm) for name in post preun postun; do script "$outdir/$name" "rpm-$name"; done ;;
        *) echo "package.sh: unknown format $format" >&2; exit 2 ;;
    esac
    exit 0
fi

format=${1:?deb or rpm}; binary=${2:?release binary}; outdir=${3:?output folder}
swift_libexec=${SWIFT_LIBEXEC:-/opt/swift/usr/libexec/swift/linux}
mkdir -p "$outdir"; outdir=$(cd "$outdir" && pwd)

version=$("$binary" version | sed -n 's/^scanbridge \([^ ]*\) .*/\1/p')
[ -n "$version" ] || { echo "package.sh: cannot read the version from $binary" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/scanbridge-package.XXXXXX")
trap 'rm -rf "$work"' EXIT
stage="$work/root"

if [ "$format" = deb ]; then system_units=lib/systemd/system; else system_units=usr/lib/systemd/system; fi
install -d "$stage/opt/scanbridge/bin" "$stage/opt/scanbridge/share" "$stage/$system_units" \
    "$stage/usr/lib/systemd/user" "$stage/usr/bin"
# Debug info out (the binary shrinks tenfold), symbols kept: crash reports in dump/ name functions.
strip --strip-debug -o "$stage/opt/scanbridge/bin/scanbridge" "$binary"
# The backtracer that writes those reports; the static build needs no Swift runtime.
strip --strip-debug -o "$stage/opt/scanbridge/bin/swift-backtrace" "$swift_libexec/swift-backtrace-static"
chmod 0755 "$stage/opt/scanbridge/bin/"*
install -m 0644 "$repo/Config/DSConfiguration.ini" "$stage/opt/scanbridge/share/DSConfiguration.ini"
install -m 0644 "$repo/README.md" "$stage/opt/scanbridge/README.md"
install -m 0755 "$deploy/uninstall.sh" "$stage/opt/scanbridge/uninstall.sh"
install -m 0644 "$deploy/systemd/scanbridge.service" "$stage/$system_units/scanbridge.service"
install -m 0644 "$deploy/systemd/scanbridge-user.service" "$stage/usr/lib/systemd/user/scanbridge.service"
ln -s /opt/scanbridge/bin/scanbridge "$stage/usr/bin/scanbridge"
install -D -m 0644 "$deploy/package/copyright" "$stage/usr/share/doc/scanbridge/copyright"

summary="local scanning service speaking the Dynamic Web TWAIN REST API"
description=" ScanBridge lets web pages and local programs drive document scanners (SANE)
 and cameras (V4L2) through the Dynamic Web TWAIN Service REST API on 127.0.0.1.
 It buffers, encodes (JPEG, PNG, TIFF, PDF), stores and uploads scanned pages.
 Runs as the systemd service scanbridge.service from /opt/scanbridge."

build_deb() {
    local architecture depends doc="$stage/usr/share/doc/scanbridge"
    architecture=$(dpkg --print-architecture)
    install -d "$doc" "$stage/usr/share/lintian/overrides" "$stage/DEBIAN"
    { echo "scanbridge ($version) unstable; urgency=medium"; echo
      echo "  * ScanBridge $version, built from its repository."; echo
      echo " -- ScanBridge maintainers <scanbridge-maintainers@users.noreply.github.com>  $(date -R -d @"${SOURCE_DATE_EPOCH:-$(date +%s)}")"
    } | gzip -9n > "$doc/changelog.gz"
    install -m 0644 "$deploy/package/lintian-overrides" "$stage/usr/share/lintian/overrides/scanbridge"
    # Shared-library dependencies, as dpkg-shlibdeps computes them for any Debian package.
    mkdir -p "$work/shlibs/debian"
    printf 'Source: scanbridge\n\nPackage: scanbridge\nArchitecture: any\n' > "$work/shlibs/debian/control"
    depends=$(cd "$work/shlibs" && dpkg-shlibdeps -O "$stage/opt/scanbridge/bin/scanbridge" \
        "$stage/opt/scanbridge/bin/swift-backtrace" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
    local size; size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
    cat > "$stage/DEBIAN/control" <<CONTROL
Package: scanbridge
Version: $version
Architecture: $architecture
Maintainer: ScanBridge maintainers <scanbridge-maintainers@users.noreply.github.com>
Installed-Size: $size
Depends: $depends, passwd, init-system-helpers (>= 1.54)
Recommends: libnss3-tools, sane-utils
Suggests: avahi-daemon
Section: graphics
Priority: optional
Homepage: https://github.com/scanbridge/scanbridge
Description: $summary
$description
CONTROL
    script "$stage/DEBIAN/postinst" deb-postinst
    script "$stage/DEBIAN/prerm" deb-prerm
    script "$stage/DEBIAN/postrm" deb-postrm
    local output="$outdir/scanbridge_${version}_${architecture}.deb"
    dpkg-deb --root-owner-group -Zxz --build "$stage" "$output" >/dev/null
    echo "$output"
}

build_rpm() {
    local topdir="$work/rpmbuild" spec="$work/scanbridge.spec" rpm_description
    # The .deb's description without its one-space indentation.
    rpm_description=${description//$'\n' /$'\n'}; rpm_description=${rpm_description# }
    mkdir -p "$topdir"/{BUILD,RPMS,SPECS,SRPMS,BUILDROOT}
    script "$work/post" rpm-post; script "$work/preun" rpm-preun; script "$work/postun" rpm-postun
    cat > "$spec" <<SPEC
Name: scanbridge
Version: $version
Release: 1
Summary: ScanBridge, a $summary
License: Apache-2.0
URL: https://github.com/scanbridge/scanbridge
# A prebuilt binary: no debuginfo subpackage, no re-stripping; Requires come from the ELF files.
%global debug_package %{nil}
%global __os_install_post %{nil}
%global _build_id_links none
AutoReqProv: yes

%description
$rpm_description

%install
cp -a "$stage/." "%{buildroot}/"

%files
%defattr(-,root,root,-)
%dir /opt/scanbridge
%dir /opt/scanbridge/bin
/opt/scanbridge/bin/scanbridge
/opt/scanbridge/bin/swift-backtrace
/opt/scanbridge/share
/opt/scanbridge/uninstall.sh
%doc /opt/scanbridge/README.md
/$system_units/scanbridge.service
/usr/lib/systemd/user/scanbridge.service
/usr/bin/scanbridge
%doc /usr/share/doc/scanbridge/copyright

%post
$(cat "$work/post")

%preun
$(cat "$work/preun")

%postun
$(cat "$work/postun")
SPEC
    rpmbuild -bb --quiet --define "_topdir $topdir" --define "_rpmdir $outdir" \
        --define "_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm" --target x86_64 "$spec" >/dev/null
    echo "$outdir/scanbridge-$version-1.x86_64.rpm"
}

case "$format" in
    deb) build_deb ;;
    rpm) build_rpm ;;
    *) echo "package.sh: unknown format $format (deb or rpm)" >&2; exit 2 ;;
esac
