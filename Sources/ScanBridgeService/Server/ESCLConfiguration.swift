import ScanBridgeESCL

extension ESCLSettings {
    /// The settings from the `ESCL…` keys of the configuration.
    /// - Throws: `ESCLSettingsError` for an ESCLAllowedClients entry that is not an address or network.
    public init(configuration: LoadedConfiguration) throws(ESCLSettingsError) {
        func value(_ name: String) -> String? {
            configuration.values.first { $0.key.name == name }?.value
        }
        self.init()
        enabled = value("ESCLEnabled") == "true"
        if let port = value("ESCLPort").flatMap(Int.init) { self.port = port }
        if let address = value("ESCLBindAddress"), !address.isEmpty { bindAddress = address }
        allowLAN = value("ESCLAllowLAN") == "true"
        useTLS = value("ESCLTLS") == "true"
        allowedClients = try ESCLAccessList(parsing: value("ESCLAllowedClients") ?? "")
        scanner = value("ESCLScanner").flatMap { $0.isEmpty ? nil : $0 }
    }
}
