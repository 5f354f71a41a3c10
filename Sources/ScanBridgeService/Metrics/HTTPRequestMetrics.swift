import HTTPTypes
import Metrics
import ScanBridgeHTTP

extension ServiceMetrics {
    /// The `route` label of a request whose path no route has. Requests are counted by route
    /// pattern, never by raw path, so that uids in paths cannot grow the number of series; for
    /// the same reason a method outside this set is counted as `other`.
    static let unmatchedRoute = "unmatched"
    private static let countedMethods: Set<HTTPRequest.Method> = [.get, .head, .post, .put, .patch, .delete, .options]

    /// Counts every answered request by route pattern, method and status. Added first, it runs
    /// outermost and so also counts what the security policy refuses; what the route throws is
    /// rendered here by `renderer` (the router's own), so the counted status is the one sent.
    func httpMiddleware(renderer: any HTTPErrorRenderer) -> Middleware {
        let factory = self.factory
        return { request, next in
            let response: Response
            do {
                response = try await next(request)
            } catch {
                response = renderer.response(for: error)
            }
            let method = Self.countedMethods.contains(request.method) ? request.method.rawValue : "other"
            Counter(label: MetricCatalog.httpRequests.name,
                    dimensions: [("route", request.route ?? Self.unmatchedRoute), ("method", method),
                                 ("status", String(response.status.code))],
                    factory: factory).increment()
            return response
        }
    }
}
