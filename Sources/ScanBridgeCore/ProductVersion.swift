/// What this build of ScanBridge is, in the forms DWT clients expect.
public enum ProductVersion {
    /// Semantic version of ScanBridge itself.
    public static let semantic = "0.1.0"

    /// The DWT REST API version this build speaks (`GET /api/server/version`).
    public static let apiVersion = "20240719"

    /// `major, minor, patch, build` as the seed's `/fa/VersionInfo` reports it.
    public static let dwtVersionInfo = "19, 0, 0, 1"
}
