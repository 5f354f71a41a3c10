import ArgumentParser
import ScanBridgeCore

struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Print the version of ScanBridge.")

    @Flag(help: "Print JSON instead of text.") var json = false

    func run() {
        if json {
            print(#"{"version":"\#(ProductVersion.semantic)","apiVersion":"\#(ProductVersion.apiVersion)","dwtVersionInfo":"\#(ProductVersion.dwtVersionInfo)"}"#)
        } else {
            print("scanbridge \(ProductVersion.semantic) (DWT Service REST API \(ProductVersion.apiVersion))")
        }
    }
}
