// ScanBridgeUpload owns uploads through libcurl's multi interface: HTTP(S), FTP(S) and
// S3-compatible targets. Built under the uploads issue.
