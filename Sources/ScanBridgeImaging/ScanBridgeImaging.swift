// ScanBridgeImaging owns the Image type, pixel operations, codecs (JPEG, PNG, TIFF, BMP) and
// the PDF writer. Built under the imaging issue.
