import ScanBridgeCore

extension ByteArrayPool {
    /// The page buffers of every scanner session: a scan's pages reuse the buffers of earlier
    /// pages that are gone (see `ByteArrayPool` for why).
    static let pageRasters = ByteArrayPool(name: "sb-raster-pool")
}
