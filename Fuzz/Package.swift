// swift-tools-version:6.2
// libFuzzer target for ScanBridge's HTTP parser: `make fuzz-http` from the repository root
// (FUZZ_SECONDS=N to bound it; CI runs it for 30 seconds). A separate package so that the
// fuzzer's instrumentation never reaches the main build.
import PackageDescription

let package = Package(
    name: "ScanBridgeFuzz",
    dependencies: [
        .package(name: "ScanBridge", path: ".."),
    ],
    targets: [
        .target(name: "CFuzzDriver"),
        // Built with `-sanitize=fuzzer,address -parse-as-library` (see the Makefile); its entry
        // point hands over to libFuzzer's driver.
        .executableTarget(name: "fuzz-http", dependencies: [
            "CFuzzDriver",
            .product(name: "ScanBridgeHTTP", package: "ScanBridge"),
        ], swiftSettings: [.treatAllWarnings(as: .error)]),
    ]
)
