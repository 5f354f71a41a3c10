#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import ScanBridgeIO

@Suite("Engine selection")
struct EngineSelectionTests {
    // A real refusal needs a process under a seccomp filter that denies io_uring_setup (Docker's
    // default profile) or kernel.io_uring_disabled=2, neither of which a test can set up here;
    // the decision itself is a pure function of the probe's errno, tested on every refusal.
    @Test("auto falls back to epoll on every refusal errno", arguments: [EPERM, ENOSYS, EACCES, ENOMEM])
    func autoFallsBack(code: Int32) {
        let decision = IOEngine.decide(preference: .auto, probe: .refused(errno: code))
        #expect(decision.kind == .epoll)
        #expect(decision.reason.contains("falling back to epoll"))
        #expect(decision.reason.contains(String(cString: strerror(code))))
    }

    @Test("io_uring demanded but refused is an error, not a silent fallback", arguments: [EPERM, ENOSYS, EACCES])
    func demandedButRefused(code: Int32) {
        let decision = IOEngine.decide(preference: .ioUring, probe: .refused(errno: code))
        #expect(decision.kind == nil)
        #expect(decision.reason.contains("refused"))
    }

    @Test("decisions when io_uring is available")
    func available() {
        #expect(IOEngine.decide(preference: .auto, probe: .available).kind == .ioUring)
        #expect(IOEngine.decide(preference: .ioUring, probe: .available).kind == .ioUring)
        #expect(IOEngine.decide(preference: .epoll, probe: .available).kind == .epoll)
        #expect(IOEngine.decide(preference: .epoll, probe: .refused(errno: EPERM)).kind == .epoll)
    }

    @Test("configuration values")
    func configValues() {
        #expect(IOEnginePreference(configValue: "auto") == .auto)
        #expect(IOEnginePreference(configValue: " io_uring ") == .ioUring)
        #expect(IOEnginePreference(configValue: "EPOLL") == .epoll)
        #expect(IOEnginePreference(configValue: "kqueue") == nil)
    }

    @Test("auto on this machine runs what the probe allows")
    func autoHere() throws {
        let probe = IOEngine.probeIOURing()
        let engine = try IOEngine.start(.auto)
        if probe == .available {
            #expect(engine.kind == .ioUring)
        } else {
            #expect(engine.kind == .epoll)
        }
        #expect(!engine.reason.isEmpty)
        #expect(try IOEngine.start(.epoll).kind == .epoll)
    }

    @Test("io_uring runs on this machine, or the run accepts epoll alone (SCANBRIDGE_ALLOW_EPOLL_ONLY=1)")
    func ioUringRunsHere() throws {
        let probe = IOEngine.probeIOURing()
        guard case .refused(let code) = probe else { return }
        #expect(code != 0)
        let reason = IOEngine.decide(preference: .ioUring, probe: probe).reason
        if epollOnlyAccepted {
            print("io_uring refused here (\(reason)); SCANBRIDGE_ALLOW_EPOLL_ONLY=1: the engine tests ran on epoll only")
        } else {
            Issue.record("io_uring is refused here (\(reason)), so the io_uring half of the engine tests did not run; set SCANBRIDGE_ALLOW_EPOLL_ONLY=1 to accept a run on epoll alone")
        }
    }
}
