/// A page from `Web/Assets` with `{{NAME}}` slots (capital letters and underscores) that Swift
/// fills in per request. Filling is one pass over the page: a filled-in value is never searched
/// for slots, so text from outside (a scanner's name, an origin) cannot reach another slot.
struct PageTemplate: Sendable {
    private enum Part: Sendable {
        case text(Substring)
        case slot(String)
    }

    private let parts: [Part]

    /// The slot names, in order of first appearance.
    let slotNames: [String]

    init(_ page: String) {
        var parts: [Part] = []
        var names: [String] = []
        var textStart = page.startIndex
        var cursor = page.startIndex
        while let open = page[cursor...].range(of: "{{") {
            let name = page[open.upperBound...].prefix { $0 == "_" || ("A"..."Z").contains($0) }
            guard !name.isEmpty, page[name.endIndex...].hasPrefix("}}") else {
                cursor = open.upperBound // "{{" that opens no slot, e.g. in the demo's script
                continue
            }
            parts.append(.text(page[textStart..<open.lowerBound]))
            parts.append(.slot(String(name)))
            if !names.contains(String(name)) { names.append(String(name)) }
            textStart = page.index(name.endIndex, offsetBy: 2)
            cursor = textStart
        }
        parts.append(.text(page[textStart...]))
        self.parts = parts
        self.slotNames = names
    }

    /// The page with every slot replaced by its value; values are inserted as given (escape
    /// them for their place in the page first).
    func render(_ values: [String: String]) -> String {
        assert(slotNames.allSatisfy { values[$0] != nil }, "no value for slot(s) \(slotNames.filter { values[$0] == nil })")
        var page = ""
        for part in parts {
            switch part {
            case .text(let text): page += text
            case .slot(let name): page += values[name] ?? "{{\(name)}}"
            }
        }
        return page
    }
}
