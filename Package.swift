// swift-tools-version:6.2
// ScanBridge: a local scanning service for Linux speaking the DWT Service REST API.
// Licensed under the Apache License 2.0; see LICENSE.
// Module layout and dependency direction: docs/ARCHITECTURE.md.
import PackageDescription

/// A system-library target for one C library, found by pkg-config and provided by a Debian package.
/// Each lives in `Sources/<name>/` with a `module.modulemap` and a `shim.h` that holds only
/// macro and variadic-function wrappers (prefixed `sb_`).
func cLibrary(_ name: String, pkgConfig: String, apt: String) -> Target {
    .systemLibrary(name: name, pkgConfig: pkgConfig, providers: [.apt([apt])])
}

/// Swift 6 language mode (the tools version's default) with strict concurrency, and no warnings:
/// every ScanBridge target treats warnings as errors.
let strict: [SwiftSetting] = [.treatAllWarnings(as: .error)]

let package = Package(
    name: "ScanBridge",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "scanbridge", targets: ["scanbridge"]),
        // Libraries for the Benchmarks/ package, which measures the subsystems directly.
        .library(name: "ScanBridgeIO", targets: ["ScanBridgeIO"]),
        .library(name: "ScanBridgeHTTP", targets: ["ScanBridgeHTTP"]),
        .library(name: "ScanBridgeImaging", targets: ["ScanBridgeImaging"]),
        .library(name: "ScanBridgeDevices", targets: ["ScanBridgeDevices"]),
        .library(name: "ScanBridgeStorage", targets: ["ScanBridgeStorage"]),
        .library(name: "ScanBridgeOCR", targets: ["ScanBridgeOCR"]),
        .library(name: "ScanBridgeUpload", targets: ["ScanBridgeUpload"]),
        .library(name: "ScanBridgeService", targets: ["ScanBridgeService"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.3.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
    ],
    targets: [
        // C libraries (system-library targets, pkg-config + apt provider).
        cLibrary("CLibURing", pkgConfig: "liburing", apt: "liburing-dev"),
        cLibrary("CLibSANE", pkgConfig: "sane-backends", apt: "libsane-dev"),
        cLibrary("CTurboJPEG", pkgConfig: "libturbojpeg", apt: "libturbojpeg0-dev"),
        cLibrary("CLibPNG", pkgConfig: "libpng", apt: "libpng-dev"),
        cLibrary("CLibTIFF", pkgConfig: "libtiff-4", apt: "libtiff-dev"),
        cLibrary("CLibCurl", pkgConfig: "libcurl", apt: "libcurl4-openssl-dev"),
        cLibrary("COpenSSL", pkgConfig: "openssl", apt: "libssl-dev"),
        // The kernel's V4L2 headers only: ScanBridge makes the ioctl calls itself.
        .systemLibrary(name: "CLibV4L2", providers: [.apt(["linux-libc-dev"])]),
        cLibrary("CZlib", pkgConfig: "zlib", apt: "zlib1g-dev"),
        cLibrary("CLibZBar", pkgConfig: "zbar", apt: "libzbar-dev"),
        cLibrary("CSystemdBus", pkgConfig: "libsystemd", apt: "libsystemd-dev"),
        cLibrary("CPoppler", pkgConfig: "poppler-glib", apt: "libpoppler-glib-dev"),
        cLibrary("CTesseract", pkgConfig: "tesseract", apt: "libtesseract-dev"),

        // The process's pthread_setcanceltype: SANE reader threads get deferred, never asynchronous,
        // cancellation (see the .c file). Exported from every executable that links it, so that
        // backends dlopen'ed later bind to it.
        .target(name: "CDeferredCancellation", linkerSettings: [
            .unsafeFlags(["-Xlinker", "--export-dynamic-symbol=pthread_setcanceltype"]),
        ]),

        // Shared vocabulary and plumbing: the error type, the product version, the syscall funnel
        // and the dedicated-thread executor.
        .target(name: "ScanBridgeCore", dependencies: [
            .product(name: "DequeModule", package: "swift-collections"),
        ], swiftSettings: strict),

        // Subsystems, one concern each; arrows point one way (see DESIGN.md).
        .target(name: "ScanBridgeIO", dependencies: [
            "ScanBridgeCore", "CLibURing",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "DequeModule", package: "swift-collections"),
            .product(name: "HeapModule", package: "swift-collections"),
        ], swiftSettings: strict),
        .target(name: "ScanBridgeHTTP", dependencies: [
            "ScanBridgeCore", "ScanBridgeIO", "COpenSSL",
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: strict),
        .target(name: "ScanBridgeImaging", dependencies: [
            "ScanBridgeCore", "CTurboJPEG", "CLibPNG", "CLibTIFF", "COpenSSL", "CZlib", "CLibZBar",
        ], swiftSettings: strict),
        // PDF import (the rasterizer): single-image pages kept as they are, found by a small PDF
        // object reader of our own; every other page rendered by poppler on a dedicated thread.
        .target(name: "ScanBridgePDFImport", dependencies: [
            "ScanBridgeCore", "ScanBridgeImaging", "CPoppler", "CZlib",
        ], swiftSettings: strict),
        .target(name: "ScanBridgeDevices", dependencies: [
            "ScanBridgeCore", "ScanBridgeImaging", "CLibSANE", "CLibV4L2", "CDeferredCancellation",
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: strict),
        .target(name: "ScanBridgeStorage", dependencies: [
            "ScanBridgeCore", "ScanBridgeImaging", "COpenSSL",
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: strict),
        // OCR through Tesseract's C API on threads of its own, one engine per thread.
        .target(name: "ScanBridgeOCR", dependencies: [
            "ScanBridgeCore", "ScanBridgeImaging", "CTesseract",
        ], swiftSettings: strict),
        .target(name: "ScanBridgeUpload", dependencies: [
            "ScanBridgeCore", "CLibCurl",
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: strict),
        // The eSCL (AirScan) server: the operating systems' own scanning apps use the SANE
        // scanners through it. The service starts it; it knows nothing of the DWT API. It announces
        // itself through Avahi on the system bus (sd-bus).
        .target(name: "ScanBridgeESCL", dependencies: [
            "ScanBridgeCore", "ScanBridgeIO", "ScanBridgeHTTP", "ScanBridgeImaging", "ScanBridgeDevices", "CSystemdBus",
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: strict),
        .target(name: "ScanBridgeService", dependencies: [
            "ScanBridgeCore", "ScanBridgeIO", "ScanBridgeHTTP", "ScanBridgeImaging",
            "ScanBridgeDevices", "ScanBridgeStorage", "ScanBridgeUpload", "ScanBridgeESCL", "ScanBridgePDFImport", "ScanBridgeOCR", "COpenSSL",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ], swiftSettings: strict, plugins: ["EmbedWebAssets"]),

        // The browser SDK and pages (Sources/ScanBridgeService/Web/Assets) compiled into the
        // binary as string constants at build time: the packages install one file.
        .executableTarget(name: "embed-web-assets", swiftSettings: strict),
        .plugin(name: "EmbedWebAssets", capability: .buildTool(), dependencies: ["embed-web-assets"]),
        .executableTarget(name: "scanbridge", dependencies: [
            "ScanBridgeService", "ScanBridgeDevices", "ScanBridgeImaging", "ScanBridgeStorage", "ScanBridgeOCR",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: strict),

        // Tests (Swift Testing). Each subsystem has its own test target.
        .testTarget(name: "ScanBridgeServiceTests", dependencies: [
            "ScanBridgeService", "scanbridge", "ScanBridgeHTTP", "ScanBridgeStorage", "ScanBridgeImaging", "ScanBridgeCore",
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "Metrics", package: "swift-metrics"),
        ], resources: [.copy("Fixtures")], swiftSettings: strict),
        .testTarget(name: "ScanBridgeHTTPTests", dependencies: [
            "ScanBridgeHTTP", "ScanBridgeIO", "ScanBridgeService", "scanbridge",
            .product(name: "HTTPTypes", package: "swift-http-types"),
        ], swiftSettings: strict),
        .testTarget(name: "ScanBridgeESCLTests", dependencies: ["ScanBridgeESCL", "ScanBridgeDevices"], swiftSettings: strict),
        .testTarget(name: "ScanBridgeCoreTests", dependencies: ["ScanBridgeCore"], swiftSettings: strict),
        .testTarget(name: "ScanBridgeIOTests", dependencies: ["ScanBridgeIO", "ScanBridgeCore"], swiftSettings: strict),
        .testTarget(name: "ScanBridgeDevicesTests", dependencies: ["ScanBridgeDevices", "ScanBridgeImaging", "scanbridge"],
                    swiftSettings: strict),
        // A real process for the storage crash, disk-full and permission tests.
        .executableTarget(name: "storage-crash-writer", dependencies: ["ScanBridgeStorage", "ScanBridgeImaging", "ScanBridgeCore"],
                          path: "Tests/StorageCrashWriter", swiftSettings: strict),
        .testTarget(name: "ScanBridgeStorageTests", dependencies: ["ScanBridgeStorage", "ScanBridgeImaging", "storage-crash-writer"],
                    swiftSettings: strict),
        .testTarget(name: "ScanBridgeImagingTests", dependencies: ["ScanBridgeImaging"], swiftSettings: strict),
        .testTarget(name: "ScanBridgePDFImportTests", dependencies: ["ScanBridgePDFImport", "ScanBridgeImaging", "ScanBridgeCore"], swiftSettings: strict),
        .testTarget(name: "ScanBridgeOCRTests", dependencies: ["ScanBridgeOCR", "ScanBridgeImaging"], swiftSettings: strict),
        .testTarget(name: "ScanBridgeUploadTests", dependencies: [
            "ScanBridgeUpload", "ScanBridgeCore", "COpenSSL",
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: strict),
        .testTarget(name: "ScanBridgeDeployTests", dependencies: ["ScanBridgeService", "scanbridge"], swiftSettings: strict),
        .testTarget(name: "CLibraryTests", dependencies: [
            "CLibURing", "CLibSANE", "CTurboJPEG", "CLibPNG", "CLibTIFF", "CLibCurl", "COpenSSL", "CLibV4L2", "CPoppler",
        ], swiftSettings: strict),
    ]
)
