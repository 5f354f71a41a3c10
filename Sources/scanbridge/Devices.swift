import ArgumentParser

struct Devices: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List scanners and cameras.")

    func run() throws {
        // Say plainly that nothing was looked for, rather than print an empty list that reads as
        // "no scanners attached".
        print("Device discovery is not part of this build yet; no scanners or cameras were looked for.")
    }
}
