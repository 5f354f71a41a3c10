// ScanBridgeHTTP owns the HTTP/1.1 parser (a pure state machine), requests and responses,
// the router, streaming bodies, server-sent events and TLS over OpenSSL memory BIOs.
// Built under the transport issue.
