#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Foundation
import ScanBridgeCore

/// Whether each configured listener port can be had by `serve`: free, or held by a running
/// ScanBridge (which answers on it), or held by another program (named when the system says
/// which). Blocking; every network step is bounded by `timeout`.
public enum PortDiagnosis {
    public static let check = "port"

    /// One finding per listener with a fixed port.
    public static func run(_ settings: ServiceSettings, configurationFile: String, timeout: Double = 2) -> [DiagnosticFinding] {
        runByListener(settings, configurationFile: configurationFile, timeout: timeout).map(\.finding)
    }

    struct ListenerReport {
        var port: Int
        var finding: DiagnosticFinding
        /// A running ScanBridge answered on the port.
        var answeredByScanBridge = false
    }

    static func runByListener(_ settings: ServiceSettings, configurationFile: String, timeout: Double) -> [ListenerReport] {
        let listeners = settings.listeners.filter { $0.port != 0 }
        guard !listeners.isEmpty else {
            return [ListenerReport(port: 0, finding: .warning(check, "no listener has a fixed port (Port and SSLPort list none, or only port 0)",
                                                              advice: "Configure the listeners in \(configurationFile) (Port_mp_N, SSLPort_mp_N)."))]
        }
        return listeners.map { diagnose($0, bindAddress: settings.bindAddress, configurationFile: configurationFile, timeout: timeout) }
    }

    static func diagnose(_ listener: ServiceSettings.Listener, bindAddress: String, configurationFile: String,
                         timeout: Double) -> ListenerReport {
        func report(_ finding: DiagnosticFinding, ours: Bool = false) -> ListenerReport {
            ListenerReport(port: listener.port, finding: finding, answeredByScanBridge: ours)
        }
        let name = "\(listener.port) (\(listener.role.rawValue) \(listener.secure ? "https" : "http"))"
        let key = listener.secure ? "SSLPort_mp_N" : "Port_mp_N"
        switch tryBind(address: bindAddress, port: listener.port) {
        case .free:
            return report(.ok(check, "\(name) on \(bindAddress) is free"))
        case .refused(let code) where code != EADDRINUSE:
            let reason = String(cString: strerror(code))
            let advice = code == EACCES
                ? "Ports below 1024 need privileges the service does not have: choose a port of 1024 or more (\(key) in \(configurationFile))."
                : "Check BindAddress (\(bindAddress)) and \(key) in \(configurationFile)."
            return report(.fail(check, "\(name): cannot listen on \(bindAddress): \(reason)", advice: advice))
        case .refused:
            break
        }
        let host = connectableHost(bindAddress)
        var lastAnswer: LoopbackAnswer?
        var problem: String?
        // `/api/server` carries the product version; the core listener also has
        // `/api/server/version`, and every DWT listener the seed's `/fa/VersionInfo`.
        for path in ["/api/server", "/api/server/version", "/fa/VersionInfo"] {
            do {
                let answer = try LoopbackProbe.get(host: host, port: listener.port, path: path, secure: listener.secure, timeout: timeout)
                lastAnswer = answer
                if !answer.isScanBridge || answer.status == 200 { break }
            } catch {
                problem = error.description
                break
            }
        }
        if let answer = lastAnswer, answer.isScanBridge {
            return report(.ok(check, "\(name) is in use by \(describeScanBridge(answer))"), ours: true)
        }
        let holder = PortHolder.find(port: listener.port).map { " by \($0)" } ?? ""
        let what: String
        if let answer = lastAnswer {
            what = "which answered \"\(answer.statusLine)\"" + (answer.server.map { " (Server: \($0))" } ?? " (no Server header)")
        } else {
            what = "which did not answer \(listener.secure ? "HTTPS" : "HTTP") as ScanBridge (\(problem ?? "no answer"))"
        }
        return report(.fail(check, "\(name) is held\(holder), \(what)",
                            advice: "Stop that program, or give ScanBridge another port (\(key) in \(configurationFile)) and use the same port in the web page."))
    }

    /// "ScanBridge 0.1.0" from `/api/server`, the API version from `/api/server/version`, the
    /// DWT version from `/fa/VersionInfo`; plain "ScanBridge" when the body says none.
    static func describeScanBridge(_ answer: LoopbackAnswer) -> String {
        guard answer.status == 200, let object = try? JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any] else {
            return "ScanBridge"
        }
        if let version = object["version"] as? String {
            return object["uptime"] != nil ? "ScanBridge \(version)" : "ScanBridge (API \(version))"
        }
        if let result = object["result"] as? [Any], let version = result.first as? String {
            return "ScanBridge (DWT \(version))"
        }
        return "ScanBridge"
    }

    /// Where to connect to reach a listener bound to `bindAddress` (the wildcard addresses are
    /// reached through loopback).
    static func connectableHost(_ bindAddress: String) -> String {
        var literal = bindAddress
        if literal.hasPrefix("["), literal.hasSuffix("]") { literal = String(literal.dropFirst().dropLast()) }
        switch literal {
        case "0.0.0.0", "", "*": return "127.0.0.1"
        case "::": return "::1"
        default: return literal
        }
    }

    enum BindOutcome: Equatable {
        case free
        case refused(errno: Int32)
    }

    /// Binds a socket the way the service does (SO_REUSEADDR) and releases it at once.
    static func tryBind(address: String, port: Int) -> BindOutcome {
        var literal = address
        if literal.hasPrefix("["), literal.hasSuffix("]") { literal = String(literal.dropFirst().dropLast()) }
        var hints = addrinfo()
        hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(literal, String(port), &hints, &list) == 0, let first = list else { return .refused(errno: EINVAL) }
        defer { freeaddrinfo(list) }
        let info = first.pointee
        do throws(SystemCallError) {
            let descriptor = try Syscall.checked("socket") { socket(info.ai_family, info.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), 0) }
            defer { Syscall.close(descriptor) }
            var one: Int32 = 1
            _ = try Syscall.checked("setsockopt") { setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size)) }
            _ = try Syscall.checked("bind") { bind(descriptor, info.ai_addr, info.ai_addrlen) }
            // A port can be bound yet not listened on (another socket listens with SO_REUSEPORT
            // only for its own user); listen settles it.
            _ = try Syscall.checked("listen") { listen(descriptor, 1) }
            return .free
        } catch {
            return .refused(errno: error.errno)
        }
    }
}

/// The process listening on a local TCP port, from /proc (the kernel's socket tables and each
/// process's descriptors; other users' processes are visible only to root, their user id is).
struct PortHolder: CustomStringConvertible {
    var pid: Int32?
    var command: String?
    var user: String?

    var description: String {
        switch (command, pid) {
        case (let command?, let pid?): "\(command) (pid \(pid)\(user.map { ", user \($0)" } ?? ""))"
        default: user.map { "a program of user \($0)" } ?? "another program"
        }
    }

    static func find(port: Int) -> PortHolder? {
        var sockets: [(inode: String, uid: uid_t)] = []
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            guard let text = try? String(contentsOfFile: table, encoding: .utf8) else { continue }
            for line in text.split(separator: "\n").dropFirst() {
                let fields = line.split(separator: " ")
                // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
                guard fields.count > 9, fields[3] == "0A",
                      let colon = fields[1].lastIndex(of: ":"),
                      Int(fields[1][fields[1].index(after: colon)...], radix: 16) == port,
                      let uid = uid_t(fields[7]) else { continue }
                sockets.append((String(fields[9]), uid))
            }
        }
        guard let first = sockets.first else { return nil }
        var holder = PortHolder(user: userName(first.uid))
        let targets = Set(sockets.map { "socket:[\($0.inode)]" })
        let processes = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        for name in processes {
            guard let pid = Int32(name) else { continue }
            let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(name)/fd")) ?? []
            for descriptor in descriptors {
                guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(name)/fd/\(descriptor)"),
                      targets.contains(target) else { continue }
                holder.pid = pid
                holder.command = (try? String(contentsOfFile: "/proc/\(name)/comm", encoding: .utf8))?
                    .trimmingCharacters(in: .whitespacesAndNewlines)
                return holder
            }
        }
        return holder
    }

    private static func userName(_ uid: uid_t) -> String? {
        guard let entry = getpwuid(uid) else { return "uid \(uid)" }
        return String(cString: entry.pointee.pw_name)
    }
}
