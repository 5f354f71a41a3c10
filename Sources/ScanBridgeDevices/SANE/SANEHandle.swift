import CLibSANE
import Foundation

// The unsafe side of SANE: every pointer into libsane is handled in this file (and the device
// list in SANEContext.swift). Everything above sees OptionDescriptor, OptionValue and
// FrameParameters.

/// `SANE_Parameters` of the frame about to be read.
struct FrameParameters: Sendable, Equatable {
    enum Format: Sendable, Equatable { case gray, rgb, red, green, blue, other(UInt32) }
    var format: Format
    var lastFrame: Bool
    var bytesPerLine: Int
    var pixelsPerLine: Int
    /// -1 when the height is not known in advance (hand-scanners, some sheet-fed scanners).
    var lines: Int
    var depth: Int
}

/// An open SANE device. Not thread-safe: it lives on, and is only used from, its session's
/// device thread (the type is `@unchecked Sendable` only so that jobs can carry it there).
final class SANEHandle: @unchecked Sendable {
    private var handle: SANE_Handle?
    let name: String

    private init(handle: SANE_Handle, name: String) {
        self.handle = handle
        self.name = name
    }

    /// `sane_open`. Blocking.
    static func open(name: String) -> Result<SANEHandle, SANEStatusFailure> {
        var raw: SANE_Handle?
        let status = SANEStatus(sane_open(name, &raw))
        guard status == .good, let raw else { return .failure(SANEStatusFailure(status: status)) }
        return .success(SANEHandle(handle: raw, name: name))
    }

    /// Every option descriptor (option 0, the option count, excluded; groups included so that
    /// `sane_control_option` accepts each option afterwards, as backends like `test` require).
    func descriptors() -> [OptionDescriptor] {
        guard let handle else { return [] }
        var count: SANE_Int = 0
        guard sane_get_option_descriptor(handle, 0) != nil,
              SANEStatus(sane_control_option(handle, 0, SANE_ACTION_GET_VALUE, &count, nil)) == .good else { return [] }
        var result: [OptionDescriptor] = []
        for index in 1..<max(count, 1) {
            guard let raw = sane_get_option_descriptor(handle, index) else { continue }
            result.append(Self.descriptor(raw.pointee, index: index))
        }
        return result
    }

    private static func descriptor(_ raw: SANE_Option_Descriptor, index: SANE_Int) -> OptionDescriptor {
        let type: OptionDescriptor.ValueType = switch raw.type {
        case SANE_TYPE_BOOL: .bool
        case SANE_TYPE_INT: .int
        case SANE_TYPE_FIXED: .fixed
        case SANE_TYPE_STRING: .string
        case SANE_TYPE_BUTTON: .button
        default: .group
        }
        let unit: OptionDescriptor.Unit = switch raw.unit {
        case SANE_UNIT_PIXEL: .pixel
        case SANE_UNIT_BIT: .bit
        case SANE_UNIT_MM: .mm
        case SANE_UNIT_DPI: .dpi
        case SANE_UNIT_PERCENT: .percent
        case SANE_UNIT_MICROSECOND: .microsecond
        default: .none
        }
        let number: (SANE_Word) -> Double = { type == .fixed ? sb_sane_unfix($0) : Double($0) }
        var constraint = OptionDescriptor.Constraint.none
        switch raw.constraint_type {
        case SANE_CONSTRAINT_RANGE:
            if let range = raw.constraint.range?.pointee {
                constraint = .range(min: number(range.min), max: number(range.max), quant: number(range.quant))
            }
        case SANE_CONSTRAINT_WORD_LIST:
            if let list = raw.constraint.word_list {
                let length = Int(list[0])
                constraint = .numbers((0..<length).map { number(list[$0 + 1]) })
            }
        case SANE_CONSTRAINT_STRING_LIST:
            if let list = raw.constraint.string_list {
                var strings: [String] = []
                var position = 0
                while let entry = list[position] {
                    strings.append(String(cString: entry))
                    position += 1
                }
                constraint = .strings(strings)
            }
        default:
            break
        }
        let wordSized = type == .bool || type == .int || type == .fixed
        let cap = raw.cap
        return OptionDescriptor(
            index: index,
            name: raw.name.map { String(cString: $0) } ?? "",
            title: raw.title.map { String(cString: $0) } ?? "",
            summary: raw.desc.map { String(cString: $0) } ?? "",
            type: type, unit: unit,
            count: wordSized ? max(1, Int(raw.size) / MemoryLayout<SANE_Word>.size) : 1,
            size: Int(raw.size),
            isActive: cap & SANE_CAP_INACTIVE == 0,
            isSettable: cap & SANE_CAP_SOFT_SELECT != 0,
            isAdvanced: cap & SANE_CAP_ADVANCED != 0,
            constraint: constraint)
    }

    /// The current value of an option (`.none` for buttons, groups and failures).
    func value(of option: OptionDescriptor) -> OptionValue {
        guard let handle, option.isActive, option.type != .button, option.type != .group, option.size > 0 else { return .none }
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: option.size + 1, alignment: 8)
        defer { buffer.deallocate() }
        buffer.initializeMemory(as: UInt8.self, repeating: 0, count: option.size + 1)
        guard SANEStatus(sane_control_option(handle, option.index, SANE_ACTION_GET_VALUE, buffer, nil)) == .good else { return .none }
        switch option.type {
        case .bool:
            return .bool(buffer.load(as: SANE_Word.self) != 0)
        case .int, .fixed:
            let words = buffer.bindMemory(to: SANE_Word.self, capacity: option.count)
            let numbers = (0..<option.count).map { option.type == .fixed ? sb_sane_unfix(words[$0]) : Double(words[$0]) }
            return option.count == 1 ? .number(numbers[0]) : .numbers(numbers)
        case .string:
            return .string(String(cString: buffer.assumingMemoryBound(to: CChar.self)))
        case .button, .group:
            return .none
        }
    }

    struct SetOutcome {
        var status: SANEStatus
        var inexact: Bool
        var reloadOptions: Bool
        var reloadParameters: Bool
    }

    /// `sane_control_option(SET_VALUE)`. An array option given a single number gets it in
    /// every element.
    func set(_ option: OptionDescriptor, to value: OptionValue) -> SetOutcome {
        guard let handle else { return SetOutcome(status: .invalid, inexact: false, reloadOptions: false, reloadParameters: false) }
        let byteCount = max(option.size, MemoryLayout<SANE_Word>.size) + 1
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: byteCount, alignment: 8)
        defer { buffer.deallocate() }
        buffer.initializeMemory(as: UInt8.self, repeating: 0, count: byteCount)
        switch (option.type, value) {
        case (.bool, .bool(let flag)):
            buffer.storeBytes(of: flag ? SANE_TRUE : SANE_FALSE, as: SANE_Word.self)
        case (.int, .number), (.int, .numbers), (.fixed, .number), (.fixed, .numbers):
            let numbers: [Double] = if case .numbers(let list) = value { list } else { [value.number ?? 0] }
            let words = buffer.bindMemory(to: SANE_Word.self, capacity: option.count)
            for position in 0..<option.count {
                let number = numbers[min(position, numbers.count - 1)]
                words[position] = option.type == .fixed ? sb_sane_fix(number) : SANE_Word(number.rounded())
            }
        case (.string, .string(let text)):
            let bytes = Array(text.utf8.prefix(max(0, option.size - 1)))
            bytes.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        case (.button, _):
            break
        default:
            return SetOutcome(status: .invalid, inexact: false, reloadOptions: false, reloadParameters: false)
        }
        var info: SANE_Int = 0
        let status = SANEStatus(sane_control_option(handle, option.index, SANE_ACTION_SET_VALUE, buffer, &info))
        return SetOutcome(status: status, inexact: info & SANE_INFO_INEXACT != 0,
                          reloadOptions: info & SANE_INFO_RELOAD_OPTIONS != 0,
                          reloadParameters: info & SANE_INFO_RELOAD_PARAMS != 0)
    }

    /// `sane_start`. Blocking (the scanner feeds a sheet, warms its lamp …).
    func start() -> SANEStatus {
        guard let handle else { return .invalid }
        return SANEStatus(sane_start(handle))
    }

    func parameters() -> Result<FrameParameters, SANEStatusFailure> {
        guard let handle else { return .failure(SANEStatusFailure(status: .invalid)) }
        var raw = SANE_Parameters()
        let status = SANEStatus(sane_get_parameters(handle, &raw))
        guard status == .good else { return .failure(SANEStatusFailure(status: status)) }
        let format: FrameParameters.Format = switch raw.format {
        case SANE_FRAME_GRAY: .gray
        case SANE_FRAME_RGB: .rgb
        case SANE_FRAME_RED: .red
        case SANE_FRAME_GREEN: .green
        case SANE_FRAME_BLUE: .blue
        default: .other(raw.format.rawValue)
        }
        return .success(FrameParameters(format: format, lastFrame: raw.last_frame != 0,
                                        bytesPerLine: Int(raw.bytes_per_line), pixelsPerLine: Int(raw.pixels_per_line),
                                        lines: Int(raw.lines), depth: Int(raw.depth)))
    }

    /// `sane_read` into `buffer`; returns the status and the number of bytes stored. Blocking.
    func read(into buffer: UnsafeMutableRawBufferPointer) -> (SANEStatus, Int) {
        guard let handle, let base = buffer.baseAddress else { return (.invalid, 0) }
        var length: SANE_Int = 0
        let chunk = SANE_Int(min(buffer.count, Int(Int32.max)))
        let status = SANEStatus(sane_read(handle, base.assumingMemoryBound(to: SANE_Byte.self), chunk, &length))
        return (status, Int(max(0, length)))
    }

    /// `sane_cancel`: ends the current page and batch. Safe to call when nothing runs.
    func cancel() {
        guard let handle else { return }
        sane_cancel(handle)
    }

    /// `sane_close`. Idempotent.
    func close() {
        guard let handle else { return }
        self.handle = nil
        sane_close(handle)
    }
}

struct SANEStatusFailure: Error { var status: SANEStatus }
