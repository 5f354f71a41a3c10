import ArgumentParser
import ScanBridgeService

/// Options that exist in debug builds only (hidden from --help); empty in release builds.
struct DebugOptions: ParsableArguments {
    #if DEBUG
    @Option(name: .customLong("debug-crash-after"), help: ArgumentHelp(
        "Crash on purpose after SECONDS (tests of crash reports).", valueName: "SECONDS", visibility: .hidden))
    var crashAfter: Double?
    #endif

    /// The same options as arguments, for the child `monitor` starts.
    var arguments: [String] {
        #if DEBUG
        if let crashAfter { return ["--debug-crash-after", String(crashAfter)] }
        #endif
        return []
    }

    /// Arms whatever was asked for; a no-op in release builds.
    func arm() {
        #if DEBUG
        if let crashAfter { DebugCrash.arm(afterSeconds: crashAfter) }
        #endif
    }
}
