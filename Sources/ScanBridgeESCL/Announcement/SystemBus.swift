import CSystemdBus
import Glibc

/// A failed D-Bus call: the D-Bus error name when the peer answered with one, otherwise the
/// errno text of sd-bus.
struct SystemBusError: Error, CustomStringConvertible {
    var name: String?
    var description: String

    init(name: String?, description: String) {
        self.name = name
        self.description = description
    }

    init(code: Int32, while action: String) {
        name = nil
        description = "\(action): \(String(cString: strerror(-code)))"
    }

    /// The bus is there but nothing owns the name called (no Avahi daemon).
    var isNameUnowned: Bool {
        name == "org.freedesktop.DBus.Error.ServiceUnknown" || name == "org.freedesktop.DBus.Error.NameHasNoOwner"
    }
}

/// One connection to the system bus (`DBUS_SYSTEM_BUS_ADDRESS`, or the standard socket). sd-bus
/// connections are not thread-safe: the owner uses it from one thread only.
final class SystemBus {
    /// How long one call may wait for its answer.
    static let callTimeoutMicroseconds: UInt64 = 5_000_000

    private let bus: OpaquePointer

    /// Connects and says Hello. Blocking.
    init() throws(SystemBusError) {
        var bus: OpaquePointer?
        let code = sd_bus_open_system(&bus)
        guard code >= 0, let bus else { throw SystemBusError(code: code, while: "cannot connect to the system bus") }
        self.bus = bus
    }

    deinit { sd_bus_flush_close_unref(bus) }

    /// One argument of a method call, in D-Bus terms.
    enum Argument {
        case int32(Int32)
        case uint32(UInt32)
        case uint16(UInt16)
        case string(String)
        /// `aay`: an array of byte arrays (DNS TXT strings).
        case byteArrays([[UInt8]])
    }

    /// Calls `member` and returns the reply, which the caller reads with `read…` and releases
    /// with `sd_bus_message_unref` (`withReply` does both). Blocking, bounded by
    /// `callTimeoutMicroseconds`.
    func call(destination: String, path: String, interface: String, member: String,
              _ arguments: [Argument] = []) throws(SystemBusError) -> Reply {
        var message: OpaquePointer?
        var code = sd_bus_message_new_method_call(bus, &message, destination, path, interface, member)
        guard code >= 0, let message else { throw SystemBusError(code: code, while: "cannot build \(member)") }
        defer { sd_bus_message_unref(message) }
        for argument in arguments {
            code = Self.append(argument, to: message)
            guard code >= 0 else { throw SystemBusError(code: code, while: "cannot build \(member)") }
        }
        var error = sd_bus_error()
        defer { sd_bus_error_free(&error) }
        var reply: OpaquePointer?
        code = sd_bus_call(bus, message, Self.callTimeoutMicroseconds, &error, &reply)
        guard code >= 0, let reply else {
            if let name = error.name {
                let text = error.message.map { String(cString: $0) } ?? ""
                throw SystemBusError(name: String(cString: name), description: "\(member): \(String(cString: name)) \(text)")
            }
            throw SystemBusError(code: code, while: member)
        }
        return Reply(message: reply)
    }

    private static func append(_ argument: Argument, to message: OpaquePointer) -> Int32 {
        switch argument {
        case .int32(var value): return sd_bus_message_append_basic(message, CChar(UInt8(ascii: "i")), &value)
        case .uint32(var value): return sd_bus_message_append_basic(message, CChar(UInt8(ascii: "u")), &value)
        case .uint16(var value): return sd_bus_message_append_basic(message, CChar(UInt8(ascii: "q")), &value)
        case .string(let value):
            return value.withCString { sd_bus_message_append_basic(message, CChar(UInt8(ascii: "s")), $0) }
        case .byteArrays(let arrays):
            var code = sd_bus_message_open_container(message, CChar(UInt8(ascii: "a")), "ay")
            guard code >= 0 else { return code }
            for bytes in arrays {
                code = bytes.withUnsafeBytes { sd_bus_message_append_array(message, CChar(UInt8(ascii: "y")), $0.baseAddress, $0.count) }
                guard code >= 0 else { return code }
            }
            return sd_bus_message_close_container(message)
        }
    }

    /// A method reply; released when it goes away.
    final class Reply {
        private let message: OpaquePointer
        init(message: OpaquePointer) { self.message = message }
        deinit { sd_bus_message_unref(message) }

        /// Reads an object path (`o`).
        func objectPath() throws(SystemBusError) -> String {
            var value: UnsafePointer<CChar>?
            let code = sd_bus_message_read_basic(message, CChar(UInt8(ascii: "o")), &value)
            guard code > 0, let value else { throw SystemBusError(code: code < 0 ? code : -EBADMSG, while: "reading an object path") }
            return String(cString: value)
        }

        /// Reads an `i`.
        func int32() throws(SystemBusError) -> Int32 {
            var value: Int32 = 0
            let code = sd_bus_message_read_basic(message, CChar(UInt8(ascii: "i")), &value)
            guard code > 0 else { throw SystemBusError(code: code < 0 ? code : -EBADMSG, while: "reading an int32") }
            return value
        }
    }
}
