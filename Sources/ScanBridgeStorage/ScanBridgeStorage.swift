// ScanBridgeStorage owns the image buffer (memory limit, disk spill), persistent documents and
// the job page journal. Built under the storage issue.
