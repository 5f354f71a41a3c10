// swift-tools-version:6.2
// ScanBridge's benchmarks: a separate package so that the main build stays fast. Run with
// `make bench` from the repository root. Each benchmark executable measures one subsystem
// against a reference in the same run and prints a Markdown table for the README.
import PackageDescription

let strict: [SwiftSetting] = [.treatAllWarnings(as: .error)]

let package = Package(
    name: "ScanBridgeBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "ScanBridge", path: ".."),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    ],
    targets: [
        // Timing, statistics, machine description and table output shared by every benchmark.
        .target(name: "BenchmarkSupport", swiftSettings: strict),
        // ScanBridgeUpload against the curl command line: large and many small HTTP PUTs.
        .executableTarget(name: "upload-benchmark", dependencies: [
            "BenchmarkSupport",
            .product(name: "ScanBridgeUpload", package: "ScanBridge"),
            .product(name: "Logging", package: "swift-log"),
        ], path: "Sources/UploadBenchmark", swiftSettings: strict),
    ]
)
