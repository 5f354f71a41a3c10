import HTTPTypes
import ScanBridgeHTTP

/// Static browser assets, on every listener: `/scanbridge.js`, `/scanbridge.d.ts` (public: any
/// origin may load them) and the demo at `/demo`. Their text is in `Web/Assets/`, compiled in by
/// the EmbedWebAssets build plugin as `WebAssets.scanbridgeJS`, `.scanbridgeDTS`, `.demoHTML`
/// and `.welcomeHTML`.
enum WebAssets {
    static let publicPaths: Set<String> = ["/scanbridge.js", "/scanbridge.d.ts"]

    /// The demo may run inside no frame; it loads the SDK from the service's API port.
    static let demoSecurityPolicy = "frame-ancestors 'none'; base-uri 'none'; object-src 'none'"

    /// The demo's slots: `{{ENDPOINTS}}` (the API roots the SDK tries) and `{{SDK}}` (its URL).
    /// Opened as a file, the page sees the slots unfilled and falls back to its query string.
    static let demo = PageTemplate(demoHTML)

    static func register(on router: inout Router, endpoints: ServiceEndpoints) {
        let sdk = Array(scanbridgeJS.utf8)
        let typings = Array(scanbridgeDTS.utf8)
        router.get("/scanbridge.js") { _ in
            Response(headerFields: [.contentType: "text/javascript; charset=utf-8", .cacheControl: "no-cache"], body: .bytes(sdk))
        }
        router.get("/scanbridge.d.ts") { _ in
            Response(headerFields: [.contentType: "application/typescript; charset=utf-8", .cacheControl: "no-cache"],
                     body: .bytes(typings))
        }
        let demo: RouteHandler = { _ in
            let html = Self.demo.render([
                "ENDPOINTS": ServicePage.escape(endpoints.apiRoots.joined(separator: " ")),
                "SDK": ServicePage.escape(endpoints.sdkURL),
            ])
            var response = Response.html(html)
            response.headerFields[.contentSecurityPolicy] = demoSecurityPolicy
            response.headerFields[.xFrameOptions] = "DENY"
            response.headerFields[.cacheControl] = "no-cache"
            return response
        }
        router.get("/demo", use: demo)
        router.get("/demo/index.html", use: demo)
    }
}
