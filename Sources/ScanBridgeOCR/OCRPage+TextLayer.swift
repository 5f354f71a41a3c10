import ScanBridgeImaging

extension OCRPage {
    /// The page's words as a PDF's invisible text layer.
    public var textLayer: PDFTextLayer {
        PDFTextLayer(width: width, height: height, lines: lines.map { line in
            PDFTextLayer.Line(quarterTurns: line.quarterTurns,
                              baseline: line.baseline.map { (Double($0.x1), Double($0.y1), Double($0.x2), Double($0.y2)) },
                              words: line.words.map {
                                  PDFTextLayer.Word(text: $0.text, left: Double($0.box.left), top: Double($0.box.top),
                                                    right: Double($0.box.right), bottom: Double($0.box.bottom))
                              })
        })
    }
}
