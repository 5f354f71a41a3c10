// swift-tools-version:6.2
// ScanBridge's benchmarks: a separate package so that the main build stays fast. Run with
// `make bench` from the repository root. Each benchmark executable measures one subsystem
// against a reference in the same run, prints Markdown tables and writes its results as JSON
// under results/ (`make bench-report`, `make bench-check`).
import PackageDescription

let strict: [SwiftSetting] = [.treatAllWarnings(as: .error)]

let package = Package(
    name: "ScanBridgeBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "ScanBridge", path: ".."),
        // The reference server for http-bench (only here, never in the main package).
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        // Reference servers measured in the same run.
        .package(url: "https://github.com/apple/swift-nio", from: "2.81.0"),
        // Baselines and thresholds for the in-process micro-benchmarks (Benchmarks/ImagingMicro).
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        // Timing, statistics, machine description and table output shared by every benchmark.
        .target(name: "BenchmarkSupport", swiftSettings: strict),
        // Raw page acquisition from the SANE test backend vs `scanimage --batch` (Devices).
        .executableTarget(name: "device-bench", dependencies: [
            "BenchmarkSupport",
            .product(name: "ScanBridgeDevices", package: "ScanBridge"),
            .product(name: "ScanBridgeImaging", package: "ScanBridge"),
        ], swiftSettings: strict),
        // libvips' C API (libvips-dev), imaging-bench's in-process reference for resize and thumbnails.
        .systemLibrary(name: "CVips", pkgConfig: "vips", providers: [.apt(["libvips-dev"])]),
        // Imaging: codecs vs the raw library calls, resize/thumbnail vs libvips in-process,
        // pipeline pages/s, 100-page PDF vs img2pdf's Python API in a warm interpreter.
        .executableTarget(name: "imaging-bench", dependencies: [
            "BenchmarkSupport", "CVips", .product(name: "ScanBridgeImaging", package: "ScanBridge"),
            .product(name: "ScanBridgeStorage", package: "ScanBridge"),
        ], swiftSettings: strict),
        // The image buffer's memory bound: peak RSS while A4 300 dpi colour pages stream through a
        // small BufferMemoryLimit, against a plain write of the same bytes.
        .executableTarget(name: "storage-bench", dependencies: [
            "BenchmarkSupport",
            .product(name: "ScanBridgeStorage", package: "ScanBridge"),
            .product(name: "ScanBridgeImaging", package: "ScanBridge"),
        ], swiftSettings: strict),
        // HTTP requests/s and MB/s: ScanBridge on io_uring and epoll vs Hummingbird 2, driven by wrk.
        .executableTarget(name: "http-bench", dependencies: [
            "BenchmarkSupport",
            .product(name: "ScanBridgeHTTP", package: "ScanBridge"),
            .product(name: "ScanBridgeIO", package: "ScanBridge"),
            .product(name: "Hummingbird", package: "hummingbird"),
            // Hummingbird 2 over TLS (NIOSSL, which builds BoringSSL): the HTTPS row's reference.
            .product(name: "HummingbirdTLS", package: "hummingbird"),
        ], swiftSettings: strict),
        // ScanBridgeUpload against the curl command line: large and many small HTTP PUTs.
        .executableTarget(name: "upload-benchmark", dependencies: [
            "BenchmarkSupport",
            .product(name: "ScanBridgeUpload", package: "ScanBridge"),
            .product(name: "Logging", package: "swift-log"),
        ], path: "Sources/UploadBenchmark", swiftSettings: strict),
        // Socket engines: echo round trips and bulk throughput, io_uring vs epoll vs SwiftNIO.
        .executableTarget(name: "io-bench", dependencies: [
            "BenchmarkSupport",
            .product(name: "ScanBridgeIO", package: "ScanBridge"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ], swiftSettings: strict),
        // The ceilings of `make batch-bench` (Benchmarks/batch_bench.py): acquisition from the
        // same SANE test scanner plus one raw encode a page (TurboJPEG; G4 and PNG for BW).
        .executableTarget(name: "batch-ceiling", dependencies: [
            "BenchmarkSupport", .product(name: "ScanBridgeImaging", package: "ScanBridge"),
            .product(name: "ScanBridgeDevices", package: "ScanBridge"),
            .product(name: "ScanBridgeStorage", package: "ScanBridge"),
        ], swiftSettings: strict),
        // Micro-benchmarks of a scan job's imaging steps beside the bare library calls, with
        // baselines and thresholds: `swift package benchmark` (make bench-micro).
        .executableTarget(name: "ImagingMicro", dependencies: [
            .product(name: "Benchmark", package: "benchmark"),
            .product(name: "ScanBridgeImaging", package: "ScanBridge"),
        ], path: "Benchmarks/ImagingMicro", swiftSettings: strict,
        plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]),
    ]
)
