/// hOCR (the HTML microformat OCR tools exchange layout in): each page, paragraph, line and
/// word with its box in the page image's pixels and each word's confidence.
public enum HOCRDocument {
    /// The document for `pages` in order; `imageNames` (one per page) say which image each page is.
    public static func render(_ pages: [OCRPage], imageNames: [String]) -> String {
        var out = """
            <?xml version="1.0" encoding="UTF-8"?>
            <!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
            <html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en" lang="en">
            <head>
            <title></title>
            <meta http-equiv="Content-Type" content="text/html;charset=utf-8"/>
            <meta name="ocr-system" content="ScanBridge (Tesseract)"/>
            <meta name="ocr-capabilities" content="ocr_page ocr_par ocr_line ocrx_word ocrp_wconf"/>
            </head>
            <body>

            """
        for (index, page) in pages.enumerated() {
            let number = index + 1
            let name = index < imageNames.count ? imageNames[index] : "page \(number)"
            out += "<div class=\"ocr_page\" id=\"page_\(number)\" title=\"image &quot;\(escape(name))&quot;; bbox 0 0 \(page.width) \(page.height); ppageno \(index)\">\n"
            var lineNumber = 0, wordNumber = 0
            let paragraphs = Dictionary(grouping: page.lines.filter { !$0.words.isEmpty }, by: \.paragraph).sorted { $0.key < $1.key }
            for (paragraphIndex, paragraph) in paragraphs.enumerated() {
                out += "<p class=\"ocr_par\" id=\"par_\(number)_\(paragraphIndex + 1)\" title=\"bbox \(bbox(union(paragraph.value.map(\.box))))\">\n"
                for line in paragraph.value {
                    lineNumber += 1
                    out += "<span class=\"ocr_line\" id=\"line_\(number)_\(lineNumber)\" title=\"bbox \(bbox(line.box))\">"
                    out += line.words.map { word in
                        wordNumber += 1
                        return "<span class=\"ocrx_word\" id=\"word_\(number)_\(wordNumber)\" title=\"bbox \(bbox(word.box)); x_wconf \(Int(word.confidence.rounded()))\">\(escape(word.text))</span>"
                    }.joined(separator: " ")
                    out += "</span>\n"
                }
                out += "</p>\n"
            }
            out += "</div>\n"
        }
        return out + "</body>\n</html>\n"
    }

    private static func bbox(_ box: OCRBox) -> String { "\(box.left) \(box.top) \(box.right) \(box.bottom)" }

    private static func union(_ boxes: [OCRBox]) -> OCRBox {
        OCRBox(left: boxes.map(\.left).min() ?? 0, top: boxes.map(\.top).min() ?? 0,
               right: boxes.map(\.right).max() ?? 0, bottom: boxes.map(\.bottom).max() ?? 0)
    }

    static func escape(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }
}
