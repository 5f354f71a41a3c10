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
        // The reference server for http-bench (only here, never in the main package).
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        // Reference servers measured in the same run.
        .package(url: "https://github.com/apple/swift-nio", from: "2.81.0"),
    ],
    targets: [
        // Timing, statistics, machine description and table output shared by every benchmark.
        .target(name: "BenchmarkSupport", swiftSettings: strict),
        // HTTP requests/s and MB/s: ScanBridge on io_uring and epoll vs Hummingbird 2, driven by wrk.
        .executableTarget(name: "http-bench", dependencies: [
            "BenchmarkSupport",
            .product(name: "ScanBridgeHTTP", package: "ScanBridge"),
            .product(name: "ScanBridgeIO", package: "ScanBridge"),
            .product(name: "Hummingbird", package: "hummingbird"),
        ], swiftSettings: strict),
        // Socket engines: echo round trips and bulk throughput, io_uring vs epoll vs SwiftNIO.
        .executableTarget(name: "io-bench", dependencies: [
            "BenchmarkSupport",
            .product(name: "ScanBridgeIO", package: "ScanBridge"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ], swiftSettings: strict),
    ]
)
