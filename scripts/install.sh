#!/usr/bin/env bash
# Brings a Debian 12 machine to everything ScanBridge needs to build, run and test.
# Idempotent: installs only what is missing. Uses sudo when not run as root.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  # C libraries behind the system-library targets (Package.swift)
  pkg-config liburing-dev libsane-dev libturbojpeg0-dev libpng-dev libtiff-dev
  libcurl4-openssl-dev libssl-dev
  # sd-bus, through which the eSCL server talks to Avahi on the system bus (CSystemdBus)
  libsystemd-dev
  # PDF import: poppler-glib renders the pages that are not a single image (CPoppler)
  libpoppler-glib-dev
  # Imaging: zlib for the PDF writer's Flate streams; libvips (its C API, in-process) and img2pdf
  # (its Python API) as imaging-bench's references
  zlib1g-dev libvips-dev img2pdf
  # Barcode reading (POST /api/process/read-barcode)
  libzbar-dev
  # OCR (ScanBridgeOCR over CTesseract): the library, English and orientation data; DejaVu draws
  # the OCR tests' pages; icc-profiles-free has the sRGB profile of PDF/A output intents
  libtesseract-dev tesseract-ocr tesseract-ocr-eng tesseract-ocr-osd fonts-dejavu-core icc-profiles-free
  # The SANE test backend and its command-line tools
  libsane1 sane-utils
  # The eSCL server's client in the conformance tests (Tests/Conformance/test_escl.py)
  sane-airscan
  # A private system bus and Avahi daemon that the eSCL announcement test reads back
  # (Tests/Conformance/test_escl_mdns.py)
  dbus avahi-daemon avahi-utils
  # Tools the tests check outputs with, and the load generator of the benchmarks
  qpdf poppler-utils libtiff-tools openssl curl wrk util-linux
  # MuPDF's renderer, the second decoder the G4 and JBIG2 pages are checked against
  mupdf-tools
  # Devices tests: netpbm's pnmfile and yuy2topam check scanned pages and camera conversion
  netpbm
  # The camera tests build their stand-in V4L2 device (Tests/Support/v4l2-standin) with gcc;
  # linux-libc-dev has the V4L2 header (linux/videodev2.h) that CLibV4L2 and the stand-in include
  gcc libc6-dev linux-libc-dev
  # Batch benchmark (make batch-bench): ImageMagick `convert` as the scanservjs-style PDF baseline,
  # djpeg (libjpeg-turbo-progs) to decode every output JPEG strictly (exit 2 on corrupt data)
  imagemagick libjpeg-turbo-progs
  # Deploy: packaging (make deb/rpm), lintian, systemd-analyze for the units, certutil for `cert trust`
  dpkg-dev fakeroot rpm lintian shellcheck systemd libnss3-tools binutils gzip xz-utils passwd
  # Browser tests (Tests/Browser): headless Chromium driven by Selenium through chromedriver
  chromium chromium-driver
  # The test virtualenv
  python3 python3-venv
  # The browser SDK's syntax check and unit tests (make test-sdk: node --check, node --test)
  nodejs
  # promtool, which checks GET /metrics (Tests/Conformance/test_metrics.py); Debian 12 ships it
  # only in the server package (19 MB download, 96 MB installed)
  prometheus
)

sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
for package in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install.sh: installing ${missing[*]}"
  sudo_if_needed apt-get update -qq
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  # Installed for promtool alone: the Prometheus server the package enables on :9090 is not wanted.
  if [[ " ${missing[*]} " == *" prometheus "* ]] && [ -d /run/systemd/system ]; then
    sudo_if_needed systemctl disable --now prometheus.service >/dev/null 2>&1 || true
  fi
fi

# npm packs the SDK (make sdk) and installs the tarball in its test. NodeSource's nodejs ships it;
# Debian's nodejs does not, and its npm package conflicts with NodeSource's: only when missing.
if ! command -v npm >/dev/null 2>&1; then
  echo "install.sh: installing npm"
  sudo_if_needed apt-get update -qq
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm
fi

if ! command -v swift >/dev/null 2>&1; then
  if [ -x /opt/swift/usr/bin/swift ]; then
    echo "install.sh: swift is at /opt/swift/usr/bin; add it to PATH" >&2
  else
    echo "install.sh: Swift 6 is required (https://swift.org/install); it is not on PATH" >&2
  fi
  exit 1
fi

# Python packages for the tests live in .venv (ignored by git). Reinstalled only when
# Tests/requirements.txt changes.
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
stamp=.venv/.requirements.sha256
wanted=$(sha256sum Tests/requirements.txt | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r Tests/requirements.txt
  echo "$wanted" > "$stamp"
fi

# The DWT 18 era's client (/DWTAPI) shares the module name `dynamsoftservice` with the current
# one, so it lives in a second virtualenv, .venv-dwt18 (ignored by git), with its own stamp.
if [ ! -x .venv-dwt18/bin/python ]; then
  python3 -m venv .venv-dwt18
fi
stamp=.venv-dwt18/.requirements.sha256
wanted=$(sha256sum Tests/requirements-dwt18.txt | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  .venv-dwt18/bin/python -m pip install --quiet --disable-pip-version-check -r Tests/requirements-dwt18.txt
  echo "$wanted" > "$stamp"
fi
