import Foundation
import Testing
@testable import OPTData

@Suite("Arrow files")
struct ArrowTests {
    static let allColumns = ["idx", "label", "text", "tokens", "answers", "meta", "score", "maybe", "flag", "half", "i8", "u8",
                             "i16", "u16", "u32", "u64", "f32", "fixed", "big", "ls", "blob", "nothing"]

    @Test(arguments: [("rows.stream.arrow", 4), ("rows.file.arrow", 3)])
    func readsEveryRow(name: String, batches: Int) throws {
        let file = try DatasetFile.open(Paths.fixture(name))
        let arrow = try #require(file.arrow)
        #expect(arrow.batchCount == batches)
        #expect(file.rowCount == 10)
        #expect(arrow.schema.fields.map(\.name) == Self.allColumns)
        expectRows(try file.allRows(), try expectedRows(), name)
    }

    @Test func legacyStreamWithoutContinuationMarkers() throws {
        let file = try DatasetFile.open(Paths.fixture("rows.legacy.arrow"))
        #expect(file.arrow?.batchCount == 2)
        let columns = ["idx", "text", "tokens", "meta", "maybe"]
        expectRows(try file.allRows(), project(try expectedRows(), columns), "rows.legacy.arrow")
    }

    @Test func schemaTypes() throws {
        let arrow = try ArrowFile(Paths.fixture("rows.stream.arrow"))
        let types = Dictionary(uniqueKeysWithValues: arrow.schema.fields.map { ($0.name, $0.type.description) })
        #expect(types["label"] == "int64")
        #expect(types["answers"] == "struct<text: list<string>, start: list<int32>>")
        #expect(types["fixed"] == "fixed_size_list<float>[2]")
        #expect(types["big"] == "large_list<int32>")
        #expect(types["half"] == "halffloat")
        #expect(types["ls"] == "large_string")
        #expect(types["nothing"] == "null")
        #expect(types["u64"] == "uint64")
    }

    @Test(arguments: ["rows.stream.arrow", "rows.file.arrow", "rows.legacy.arrow", "saved/data-00001-of-00002.arrow"])
    func randomAccessEqualsSequential(name: String) throws {
        let file = try DatasetFile.open(Paths.fixture(name))
        let sequential = try file.allRows()
        let arrow = try #require(file.arrow)
        #expect(sequential.count == arrow.count)
        for i in (0..<arrow.count).reversed() {
            #expect(try file.row(at: i) == sequential[i], "row \(i)")
        }
        for start in 0..<arrow.count {
            for end in start...arrow.count {
                #expect(try arrow.rows(start..<end) == Array(sequential[start..<end]))
            }
        }
        var seen: [Int] = []
        try arrow.forEachRow(in: 2..<arrow.count) { i, row in
            #expect(row == sequential[i])
            seen.append(i)
            return seen.count < 4
        }
        #expect(seen == Array(2..<min(6, arrow.count)))
        #expect(dataError { _ = try file.row(at: arrow.count) }?.kind == .rowOutOfRange(arrow.count, count: arrow.count))
        #expect(dataError { _ = try file.row(at: -1) }?.kind == .rowOutOfRange(-1, count: arrow.count))
    }

    @Test func featuresFromSchemaMetadata() throws {
        let file = try DatasetFile.open(Paths.fixture("rows.stream.arrow"))
        let features = try #require(file.features)
        #expect(features.columns.map(\.name) == Self.allColumns)
        #expect(features["label"] == .classLabel(names: ["negative", "positive", "neutral"]))
        #expect(features.classLabels == ["label": ["negative", "positive", "neutral"]])
        #expect(features["tokens"] == .list(.value(dtype: "string"), length: nil))
        #expect(features["fixed"] == .list(.value(dtype: "float32"), length: 2))
        #expect(features["big"] == .list(.value(dtype: "int32"), length: nil))
        #expect(features["answers"] == .record([
            NamedFeature(name: "text", feature: .list(.value(dtype: "string"), length: nil)),
            NamedFeature(name: "start", feature: .list(.value(dtype: "int32"), length: nil)),
        ]))
        #expect(features["meta"]?.description.isEmpty == false)
    }

    @Test func featureJSONVariants() throws {
        // Older `datasets`: Sequence of a dict, a list shorthand, ClassLabel by count, an Image.
        let json = #"""
        {"s": {"feature": {"a": {"dtype": "string", "_type": "Value"}}, "length": -1, "_type": "Sequence"},
         "l": [{"dtype": "int32", "_type": "Value"}],
         "c": {"num_classes": 2, "_type": "ClassLabel"},
         "img": {"decode": true, "_type": "Image"},
         "nested": {"inner": {"names": ["a", "b"], "_type": "ClassLabel"}}}
        """#
        let features = try Features.parse(try JSONParser.parse(Array(json.utf8)))
        #expect(features["s"] == .list(.record([NamedFeature(name: "a", feature: .value(dtype: "string"))]), length: nil))
        #expect(features["l"] == .list(.value(dtype: "int32"), length: nil))
        #expect(features["c"] == .classLabel(names: ["0", "1"]))
        if case .other(let type, _)? = features["img"] { #expect(type == "Image") } else { Issue.record("Image") }
        #expect(features.classLabels == ["c": ["0", "1"], "nested.inner": ["a", "b"]])
    }

    @Test func refusedFiles() throws {
        let compressed = dataError { _ = try DatasetFile.open(Paths.fixture("refused_compressed.arrow")) }
        if case .unsupported(let what)? = compressed?.kind { #expect(what.contains("compressed")) } else { Issue.record("\(String(describing: compressed))") }
        #expect(compressed?.description.contains("refused_compressed.arrow") == true)
        let dictionary = dataError { _ = try DatasetFile.open(Paths.fixture("refused_dictionary.arrow")) }
        if case .unsupported(let what)? = dictionary?.kind { #expect(what.contains("dictionary-encoded column 'd'")) } else { Issue.record("\(String(describing: dictionary))") }
        let decimal = dataError { _ = try DatasetFile.open(Paths.fixture("refused_decimal.arrow")) }
        if case .unsupported(let what)? = decimal?.kind { #expect(what.contains("decimal column 'm'")) } else { Issue.record("\(String(describing: decimal))") }
        #expect(decimal?.description.contains("refused_decimal.arrow") == true)
    }

    @Test func halfFloats() {
        #expect(BatchLayout.half(0x3C00) == 1)
        #expect(BatchLayout.half(0xC000) == -2)
        #expect(BatchLayout.half(0x0001) == 0x1p-24)
        #expect(BatchLayout.half(0x7C00) == .infinity)
        #expect(BatchLayout.half(0x7E00).isNaN)
        #expect(BatchLayout.half(0x3555) == 0.333251953125)
    }
}

@Suite("Arrow bad input")
struct ArrowBadInputTests {
    func open(_ bytes: [UInt8], name: String = "mem.arrow") throws(DataError) -> ArrowFile {
        try ArrowFile(URL(fileURLWithPath: "/virtual/\(name)"), map: MappedFile(copying: bytes))
    }

    /// Opens and decodes every row; a DataError is fine, anything else (a crash) is not.
    func openAndReadAll(_ bytes: [UInt8]) -> DataError? {
        do {
            let file = try open(bytes)
            _ = try file.rows(0..<file.count)
            if file.count > 0 { _ = try file.row(at: file.count - 1) }
            return nil
        } catch {
            return error
        }
    }

    @Test(arguments: ["rows.stream.arrow", "rows.file.arrow", "rows.legacy.arrow"])
    func truncatedFiles(name: String) throws {
        let full = try bytes(of: Paths.fixture(name))
        let dir = try temporaryFolder()
        let arrow = try ArrowFile(Paths.fixture(name))
        // Inside the first message, just after the schema, inside each batch's metadata and body, before the end.
        var cuts = [1, 3, 5, 7, 9, 40, 200, full.count - 1, full.count - 4, full.count - 7]
        for batch in arrow.batches {
            cuts += [batch.metadata.lowerBound + 3, batch.metadata.upperBound - 1, batch.body.lowerBound + 5, batch.body.upperBound - 1]
        }
        if name == "rows.legacy.arrow" { cuts.removeAll { $0 < 8 } }  // no marker: a few bytes are just not Arrow
        for cut in Set(cuts).sorted() where cut > 0 && cut < full.count {
            let url = try writeFile(Array(full.prefix(cut)), "cut-\(cut)-\(name)", in: dir)
            let error = dataError { _ = try DatasetFile.open(url).allRows() }
            if case .truncated? = error?.kind {} else { Issue.record("\(name) cut at \(cut): \(String(describing: error))") }
            #expect(error?.description.contains("cut-\(cut)-\(name)") == true)
        }
        let empty = try writeFile([], "empty.arrow", in: dir)
        #expect(dataError { _ = try DatasetFile.open(empty) }?.kind == .truncated("empty file"))
    }

    @Test func badMagic() throws {
        let dir = try temporaryFolder()
        for (i, text) in ["this is not an Arrow file at all", "{\"a\": 1}\n", "PAR1\0\0\0\0\0\0\0\0PAR1", "abc"].enumerated() {
            let url = try writeFile(text, "not-\(i).arrow", in: dir)
            let error = dataError { _ = try DatasetFile.open(url) }
            #expect(error?.kind == .badMagic, "\(text): \(String(describing: error))")
            #expect(error?.description.contains("not-\(i).arrow") == true)
        }
        // A file-format file whose trailing magic is damaged.
        var file = try bytes(of: Paths.fixture("rows.file.arrow"))
        file[file.count - 1] = 0
        let url = try writeFile(file, "tail.arrow", in: dir)
        #expect(dataError { _ = try DatasetFile.open(url) }?.kind == .truncated("no ARROW1 magic at the end (the footer is missing)"))
    }

    /// Every third byte of the schema and every byte of the first two record batches' metadata, flipped in turn,
    /// and every byte of the first batch's body:
    /// never a crash, and corrupt metadata is reported as such, naming the file and the batch.
    @Test(arguments: ["rows.stream.arrow", "rows.file.arrow"])
    func flippedMetadataBytes(name: String) throws {
        let full = try bytes(of: Paths.fixture(name))
        let arrow = try ArrowFile(Paths.fixture(name))
        let expected = try arrow.rows(0..<arrow.count)
        var regions: [Range<Int>] = [(name.hasSuffix("file.arrow") ? 8 : 0)..<arrow.batches[0].metadata.lowerBound]
        for batch in arrow.batches.prefix(2) { regions.append((batch.metadata.lowerBound - 8)..<batch.metadata.upperBound) }
        var kinds: [String: Int] = [:]
        var batchLocations = 0
        var badMagicAt: Set<Int> = []
        for (r, region) in regions.enumerated() {
            for at in stride(from: region.lowerBound, to: region.upperBound, by: r == 0 ? 3 : 1) {
                for mask: UInt8 in [0xFF, 0x01] {
                    var damaged = full
                    damaged[at] ^= mask
                    if let error = openAndReadAll(damaged) {
                        #expect(error.file == "/virtual/mem.arrow")
                        let kind = String(describing: error.kind).prefix { $0 != "(" }
                        kinds[String(kind), default: 0] += 1
                        if error.location?.contains("record batch") == true { batchLocations += 1 }
                        if error.kind == .badMagic { badMagicAt.insert(at) }
                    }
                }
            }
        }
        #expect(kinds["corrupt", default: 0] > 50, "\(kinds)")
        #expect(batchLocations > 10, "\(kinds)")
        // Only a damaged continuation marker makes the stream look like something else.
        #expect(badMagicAt.allSatisfy { $0 < 4 }, "\(badMagicAt.sorted())")
        // Bodies: strings and lists decode from offsets that may now point anywhere.
        for batch in arrow.batches.prefix(1) {
            for at in batch.body {
                var damaged = full
                damaged[at] ^= 0xFF
                _ = openAndReadAll(damaged)
            }
        }
        // The undamaged bytes still read the same.
        #expect(try open(full).rows(0..<arrow.count) == expected)
    }

    @Test func corruptOffsetsAreNamed() throws {
        let full = try bytes(of: Paths.fixture("rows.stream.arrow"))
        let arrow = try ArrowFile(Paths.fixture("rows.stream.arrow"))
        let layout = try arrow.layout(batch: 1)
        let textColumn = try #require(layout.columns.first { $0.field.name == "text" })
        // Point the second string's end offset past the data buffer.
        var damaged = full
        let offsetsStart = textColumn.buffers[0].lowerBound
        damaged.replaceSubrange((offsetsStart + 8)..<(offsetsStart + 12), with: [0xFF, 0xFF, 0, 0])
        let file = try open(damaged, name: "x.arrow")
        #expect(try file.row(at: 3) == arrow.row(at: 3))  // row 0 of batch 1 is intact
        let error = dataError { _ = try file.row(at: 4) }
        if case .corrupt(let why)? = error?.kind { #expect(why.contains("offsets")) } else { Issue.record("\(String(describing: error))") }
        #expect(error?.location == "record batch 1, column 'text', row 1")
        #expect(error?.description.contains("/virtual/x.arrow") == true)
        // Row 9 is in another batch and unaffected.
        #expect(try file.row(at: 9) == arrow.row(at: 9))
    }
}

@Suite("Large Arrow files")
struct LargeArrowTests {
    /// 800 copies of template.arrow's 256-row batch, ids renumbered: 204,800 rows. Every batch but the one
    /// holding the row read has its string offsets destroyed, so reading the row proves nothing else is decoded.
    @Test func readsAMiddleRowWithoutDecodingOthers() throws {
        let template = try bytes(of: Paths.fixture("template.arrow"))
        let arrow = try ArrowFile(Paths.fixture("template.arrow"))
        #expect(arrow.count == 256 && arrow.batchCount == 1)
        let batch = arrow.batches[0]
        let layout = try arrow.layout(batch: 0)
        let ids = layout.columns[0].buffers[0]          // int64 data
        let textOffsets = layout.columns[1].buffers[0]  // int32 offsets
        let messageStart = batch.metadata.lowerBound - 8
        let message = Array(template[messageStart..<batch.body.upperBound])
        let copies = 800, target = 123_456, targetBatch = target / 256

        var out = Array(template[0..<messageStart])
        out.reserveCapacity(out.count + copies * message.count + 8)
        for k in 0..<copies {
            var copy = message
            for i in 0..<256 {
                let at = ids.lowerBound - messageStart + 8 * i
                let value = Int64(k * 256 + i).littleEndian
                withUnsafeBytes(of: value) { copy.replaceSubrange(at..<(at + 8), with: $0) }
            }
            if k != targetBatch {
                let at = textOffsets.lowerBound - messageStart
                for j in 0..<(4 * 257) { copy[at + j] = 0xEE }
            }
            out += copy
        }
        out += [0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0]
        let dir = try temporaryFolder()
        let url = try writeFile(out, "big.arrow", in: dir)

        let file = try DatasetFile.open(url)
        #expect(file.rowCount == copies * 256)
        #expect(file.arrow?.batchCount == copies)
        #expect(try file.row(at: target) == ["id": .int(Int64(target)), "text": .string("row \(target % 256)")])
        #expect(try file.arrow?.rows(targetBatch * 256..<(targetBatch * 256 + 256)).last?["id"] == .int(Int64(targetBatch * 256 + 255)))
        // Reading everything does hit the destroyed batches.
        let error = dataError { _ = try file.allRows() }
        #expect(error?.location == "record batch 0, column 'text', row 0")
    }
}
