// ScanBridgeDevices owns SANE and V4L2 discovery, device sessions (actors on their own
// threads), capability mapping and page streams. Built under the devices issue.
