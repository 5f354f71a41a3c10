import Foundation
import PackagePlugin

/// Compiles the files in the target's `Web/Assets/` folder into the target as string constants
/// of `WebAssets` (see the embed-web-assets tool), so the binary serves them without files next
/// to it. The build reruns the tool whenever an asset changes.
@main
struct EmbedWebAssets: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        guard let module = target as? SourceModuleTarget else { return [] }
        let folder = module.directoryURL.appending(path: "Web/Assets").standardizedFileURL.path
        let assets = module.sourceFiles
            .map(\.url)
            .filter { $0.deletingLastPathComponent().standardizedFileURL.path == folder }
            .sorted { $0.path < $1.path }
        let output = context.pluginWorkDirectoryURL.appending(path: "WebAssets+Embedded.swift")
        return [.buildCommand(
            displayName: "Embedding \(assets.count) web assets into \(module.name)",
            executable: try context.tool(named: "embed-web-assets").url,
            arguments: ["WebAssets", output.path] + assets.map(\.path),
            inputFiles: assets,
            outputFiles: [output])]
    }
}
