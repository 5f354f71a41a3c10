# ScanBridge's one entry point for people and CI. See README.md.
SHELL := /bin/bash
export PATH := $(PATH):/opt/swift/usr/bin

# Development service folder and SANE configuration, inside the repository (ignored by git).
DEV_HOME ?= $(CURDIR)/.dev/home
DEV_SANE ?= $(CURDIR)/.dev/sane.d
# Extra arguments for `scanbridge serve`, e.g. make run ARGS="--log-level 30".
ARGS ?=

.PHONY: install run test build release clean bench package-binary deb rpm test-deploy

## install: bring this Debian 12 machine to everything the project needs (idempotent)
install:
	@scripts/install.sh

## run: install, build (release) and run the service in the foreground with the SANE test scanner
run: install release
	@scripts/sane-test-config.sh "$(DEV_SANE)"
	@# Real scanners: export SANE_CONFIG_DIR=/etc/sane.d (or any folder) before `make run`.
	SANE_CONFIG_DIR="$${SANE_CONFIG_DIR:-$(DEV_SANE)}" .build/release/scanbridge serve --home "$(DEV_HOME)" $(ARGS)

# Swift test targets, each run in a process of its own: the live suites start servers, scanners
# and child processes, and one suite's load must not starve another's timeouts on two cores.
SWIFT_TEST_TARGETS := CLibraryTests ScanBridgePDFImportTests ScanBridgeServiceTests ScanBridgeIOTests ScanBridgeHTTPTests ScanBridgeESCLTests \
	ScanBridgeImagingTests ScanBridgeDevicesTests ScanBridgeStorageTests ScanBridgeUploadTests ScanBridgeDeployTests \
	ScanBridgeCoreTests ScanBridgeOCRTests

## test: install, build and run the whole test suite
test: install
	swift build --build-tests
	@# The build leaves gigabytes of dirty pages; while the kernel writes them back, the live
	@# socket tests stall for seconds (reproduced: 4 GB written just before them makes the HTTP
	@# suite time out; with `sync` first it passes). Flush them before any timed test starts.
	sync
	scripts/sane-test-config.sh "$(DEV_SANE)"
	@set -e; for target in $(SWIFT_TEST_TARGETS); do \
	  echo "== swift test $$target"; \
	  SANE_CONFIG_DIR="$(DEV_SANE)" swift test --skip-build --filter "^$$target\." ; done
	$(MAKE) --no-print-directory test-sdk
	SANE_CONFIG_DIR="$(DEV_SANE)" .venv/bin/python -m pytest -q -p no:cacheprovider Tests/Conformance
	SANE_CONFIG_DIR="$(DEV_SANE)" .venv/bin/python -m pytest -q -p no:cacheprovider Tests/Browser

# The browser SDK and pages the binary serves (compiled in by Plugins/EmbedWebAssets).
WEB_ASSETS := Sources/ScanBridgeService/Web/Assets

# The SDK as an npm package for applications that ship it from their own origin (docs/SDK.md).
SDK_DIR ?= $(CURDIR)/.build-sdk

.PHONY: sdk
## sdk: pack the browser SDK as the npm tarball scanbridge-sdk-<version>.tgz into $(SDK_DIR)
sdk:
	@scripts/sdk-package.sh "$(SDK_DIR)"

.PHONY: test-sdk
## test-sdk: syntax-check the SDK's JavaScript and run its unit tests (Tests/SDK) under Node's test
## runner, among them packing the npm tarball and installing it offline into an empty project
test-sdk:
	@# Through stdin as a module: Node before 20.19 takes a .js file for CommonJS.
	@set -e; for script in $(WEB_ASSETS)/*.js; do echo "node --check $$script"; node --input-type=module --check < "$$script"; done
	node --test Tests/SDK/*.test.mjs

.PHONY: test-browser
## test-browser: the browser suite alone (security policy, events, SDK routes, the demo in headless Chromium)
test-browser: install build
	scripts/sane-test-config.sh "$(DEV_SANE)"
	SANE_CONFIG_DIR="$(DEV_SANE)" .venv/bin/python -m pytest -q -p no:cacheprovider Tests/Browser

build:
	swift build

release:
	swift build -c release --product scanbridge

clean:
	rm -rf .build .dev

# Benchmark executables of Benchmarks/Package.swift, in the order `make bench` runs them.
# Each area appends its own: BENCHMARKS += name
BENCHMARKS :=
# Devices: SANE test backend acquisition vs scanimage --batch (uses .build/release/scanbridge when built).
BENCHMARKS += device-bench
BENCHMARKS += imaging-bench
BENCHMARKS += storage-bench
BENCHMARKS += http-bench
BENCHMARKS += upload-benchmark
# Socket engines: loopback echo, io_uring vs epoll vs SwiftNIO (IO_BENCH_SECONDS, IO_BENCH_RUNS).
BENCHMARKS += io-bench

## bench: build and run every benchmark in Benchmarks/ (release); each prints its tables and writes JSON to Benchmarks/results/
bench: install
	cd Benchmarks && swift build -c release
	@set -e; for exe in $(BENCHMARKS); do echo "== $$exe"; Benchmarks/.build/release/$$exe; done

.PHONY: bench-report bench-check job-bench
## bench-report: render docs/PERFORMANCE.md's benchmark tables from the newest JSON of each benchmark in Benchmarks/results/
bench-report:
	python3 Benchmarks/bench_results.py report

## bench-check: fail when a ratio (ours ÷ reference) in the newest results is below its target in Benchmarks/targets.json
bench-check:
	python3 Benchmarks/bench_results.py check

# In-process micro-benchmarks under ordo-one/benchmark (Benchmarks/Benchmarks/ImagingMicro):
# bench-micro runs them; bench-micro-baseline stores this machine's figures as static thresholds
# (Benchmarks/Thresholds/, run it on a quiet machine); bench-micro-check runs them and fails on a
# regression beyond the tolerances in the benchmark's code (exit 2; 4 means improvements only).
.PHONY: bench-micro bench-micro-baseline bench-micro-check
## bench-micro: the imaging micro-benchmarks (swift package benchmark)
bench-micro:
	cd Benchmarks && swift package benchmark --target ImagingMicro
## bench-micro-baseline: store their static thresholds in Benchmarks/Thresholds/ (on a quiet machine)
bench-micro-baseline:
	cd Benchmarks && swift package --allow-writing-to-package-directory benchmark thresholds update --target ImagingMicro
## bench-micro-check: run them and fail when one regresses beyond its tolerance against Benchmarks/Thresholds/
bench-micro-check:
	cd Benchmarks && swift package benchmark thresholds check --target ImagingMicro || [ $$? -eq 4 ]

# Per-page CPU of a scan job against acquisition + one encode, in the same run (Benchmarks/job_bench.py).
# JOB_ARGS is passed to the harness, e.g. make job-bench JOB_ARGS="--rounds 7 --modes colour".
JOB_ARGS ?=
## job-bench: the service's CPU s/page in scan jobs vs acquisition + one TurboJPEG/G4 encode (writes JSON)
job-bench: install release
	cd Benchmarks && swift build -c release --product batch-ceiling
	.venv/bin/python Benchmarks/job_bench.py $(JOB_ARGS)

# The HTTP parser under libFuzzer (Fuzz/ package). FUZZ_SECONDS bounds the run (0 = forever).
FUZZ_SECONDS ?= 30
FUZZ_CORPUS ?= $(CURDIR)/.dev/fuzz-http-corpus

# Linked with lld: the sanitizer flags reach the build plugin's tool too, and ld.gold at times
# crashes (internal error in format_file_lineno) printing the warning it gives for that link.
.PHONY: fuzz-http
## fuzz-http: fuzz the HTTP request parser with libFuzzer for FUZZ_SECONDS (default 30)
fuzz-http:
	swift build --package-path Fuzz -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -use-ld=lld --product fuzz-http
	mkdir -p "$(FUZZ_CORPUS)"
	Fuzz/.build/release/fuzz-http -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 \
		"$(FUZZ_CORPUS)" Fuzz/corpus

# Batch benchmark: 500-page batches through the REST API the way a browser drives it,
# against scanimage --batch + img2pdf / ImageMagick convert and the raw TurboJPEG ceiling.
# BATCH_ARGS is passed to the harness, e.g. make batch-bench BATCH_ARGS="--pages 50".
BATCH_ARGS ?=

# OCR_ARGS is passed to the harness, e.g. make ocr-bench OCR_ARGS="--pages 8 --rounds 2".
OCR_ARGS ?=

.PHONY: ocr-bench
## ocr-bench: searchable PDFs through ScanBridge against the tesseract command line (Benchmarks/ocr_bench.py)
ocr-bench: install release
	SCANBRIDGE_BINARY=$(CURDIR)/.build/release/scanbridge .venv/bin/python Benchmarks/ocr_bench.py $(OCR_ARGS)

.PHONY: batch-bench
## batch-bench: build the service and the ceiling tool (release) and run Benchmarks/batch_bench.py
batch-bench: install release
	cd Benchmarks && swift build -c release --product batch-ceiling
	.venv/bin/python Benchmarks/batch_bench.py $(BATCH_ARGS)
# Packages (Deploy/, README "Install, upgrade, uninstall"). A release build with the Swift
# runtime linked in (targets need no toolchain), in its own build folder so that it does not
# undo `make release`.
PACKAGE_BUILD := .build-package
PACKAGE_BINARY := $(PACKAGE_BUILD)/release/scanbridge
PACKAGE_DIR ?= $(CURDIR)/.build-package/packages

package-binary:
	swift build -c release --product scanbridge --static-swift-stdlib --disable-local-rpath --scratch-path $(PACKAGE_BUILD)

## deb: build the .deb into $(PACKAGE_DIR)
deb: package-binary
	@Deploy/package.sh deb $(PACKAGE_BINARY) $(PACKAGE_DIR)

## rpm: build the .rpm into $(PACKAGE_DIR)
rpm: package-binary
	@Deploy/package.sh rpm $(PACKAGE_BINARY) $(PACKAGE_DIR)

## test-deploy: build both packages once, then run the package tests on them (install into a
## throwaway root, file lists, lintian). `make test` runs every other deploy test.
test-deploy: install
	swift build --build-tests
	$(MAKE) --no-print-directory deb rpm
	sync
	SCANBRIDGE_DEB="$$(ls -t $(PACKAGE_DIR)/scanbridge_*.deb | head -1)" \
	SCANBRIDGE_RPM="$$(ls -t $(PACKAGE_DIR)/scanbridge-*.rpm | head -1)" \
	swift test --skip-build --filter ScanBridgeDeployTests.PackageTests
