/// The MQ binary arithmetic encoder of JBIG2 (ITU-T T.88 Annex E): adaptive probability states
/// per context, carry propagation into the last byte and 0xFF bit-stuffing. Contexts are indices
/// into a state table the caller sizes (65536 for generic-region template 0).
struct MQEncoder {
    /// Probability estimation table (T.88 Table E.1): Qe, next index after an MPS, after an LPS,
    /// and whether an LPS switches the sense of the MPS.
    private static let qe: [UInt32] = [
        0x5601, 0x3401, 0x1801, 0x0AC1, 0x0521, 0x0221, 0x5601, 0x5401, 0x4801, 0x3801, 0x3001, 0x2401,
        0x1C01, 0x1601, 0x5601, 0x5401, 0x5101, 0x4801, 0x3801, 0x3401, 0x3001, 0x2801, 0x2401, 0x2201,
        0x1C01, 0x1801, 0x1601, 0x1401, 0x1201, 0x1101, 0x0AC1, 0x09C1, 0x08A1, 0x0521, 0x0441, 0x02A1,
        0x0221, 0x0141, 0x0111, 0x0085, 0x0049, 0x0025, 0x0015, 0x0009, 0x0005, 0x0001, 0x5601,
    ]
    private static let nextMPS: [UInt8] = [
        1, 2, 3, 4, 5, 38, 7, 8, 9, 10, 11, 12, 13, 29, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24,
        25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 45, 46,
    ]
    private static let nextLPS: [UInt8] = [
        1, 6, 9, 12, 29, 33, 6, 14, 14, 14, 17, 18, 20, 21, 14, 14, 15, 16, 17, 18, 19, 19, 20, 21,
        22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 46,
    ]
    private static let switches: [Bool] = [
        true, false, false, false, false, false, true, false, false, false, false, false, false, false, true, false,
        false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false,
        false, false, false, false, false, false, false, false, false, false, false, false, false, false, false,
    ]

    /// Per context: the state index in the low 7 bits, the MPS in bit 7.
    private var states: [UInt8]
    private var a: UInt32 = 0x8000
    private var c: UInt32 = 0
    private var ct = 12
    /// The output; its last byte is B, which a carry may still increment. Element 0 stands for
    /// the byte before the stream (T.88's BPST − 1) and is dropped at the end.
    private(set) var bytes: [UInt8] = [0]

    init(contexts: Int) {
        states = [UInt8](repeating: 0, count: contexts)
    }

    mutating func encode(_ bit: Int, context: Int) {
        let state = states[context]
        let index = Int(state & 0x7F), mps = Int(state >> 7)
        let q = Self.qe[index]
        a -= q
        if bit == mps {
            if a & 0x8000 != 0 { c += q; return }
            if a < q { a = q } else { c += q }
            states[context] = Self.nextMPS[index] | (state & 0x80)
        } else {
            if a < q { c += q } else { a = q }
            let flipped = Self.switches[index] ? (state & 0x80) ^ 0x80 : state & 0x80
            states[context] = Self.nextLPS[index] | flipped
        }
        repeat {
            a <<= 1
            c <<= 1
            ct -= 1
            if ct == 0 { byteOut() }
        } while a & 0x8000 == 0
    }

    private mutating func byteOut() {
        let last = bytes.count - 1
        if bytes[last] == 0xFF {
            bytes.append(UInt8(truncatingIfNeeded: c >> 20)); c &= 0xFFFFF; ct = 7
        } else if c < 0x8000000 {
            bytes.append(UInt8(truncatingIfNeeded: c >> 19)); c &= 0x7FFFF; ct = 8
        } else {
            bytes[last] += 1
            if bytes[last] == 0xFF {
                c &= 0x7FFFFFF
                bytes.append(UInt8(truncatingIfNeeded: c >> 20)); c &= 0xFFFFF; ct = 7
            } else {
                bytes.append(UInt8(truncatingIfNeeded: c >> 19)); c &= 0x7FFFF; ct = 8
            }
        }
    }

    /// Ends the code stream (T.88 E.2.9 FLUSH) with the 0xFFAC marker, and returns it.
    mutating func finish() -> [UInt8] {
        let sum = c + a
        c |= 0xFFFF
        if c >= sum { c -= 0x8000 }
        c <<= UInt32(ct)
        byteOut()
        c <<= UInt32(ct)
        byteOut()
        if bytes[bytes.count - 1] != 0xFF { bytes.append(0xFF) }
        bytes.append(0xAC)
        return Array(bytes.dropFirst())
    }
}
