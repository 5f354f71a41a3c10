import ScanBridgeCore

extension DedicatedThreads {
    /// The one thread where every blocking SANE or V4L2 call of a device (or of the SANE
    /// context) runs: SANE wants all calls on a handle from the same thread, and none of them may
    /// occupy the cooperative pool. Jobs run in submission order. SANE backends and libusb keep
    /// deep stacks, hence 4 MiB. The reader threads SANE backends start themselves get deferred
    /// cancellation from `CDeferredCancellation`, not from here.
    static func device(name: String) -> DedicatedThreads {
        DedicatedThreads(name: name, threads: 1, stackSize: 4 << 20)
    }
}
