import Foundation
import Testing
@testable import OPTData

@Suite("JSON parser")
struct JSONParserTests {
    func parse(_ text: String) throws -> DatasetValue {
        do { return try JSONParser.parse(Array(text.utf8)) } catch { throw error }
    }

    @Test func keepsIntegersApartFromFloats() throws {
        #expect(try parse("1") == .int(1))
        #expect(try parse("1.0") == .double(1))
        #expect(try parse("-0") == .int(0))
        #expect(try parse("1e2") == .double(100))
        #expect(try parse("-12.5E-1") == .double(-1.25))
        #expect(try parse("9223372036854775807") == .int(.max))
        #expect(try parse("-9223372036854775808") == .int(.min))
        #expect(try parse("9223372036854775808") == .double(9223372036854775808))
        #expect(try parse("0.1") == .double(0.1))
        #expect(try parse("0.10000000149011612") == .double(Double(Float(0.1))))
    }

    @Test func acceptsPythonSpecialFloats() throws {
        #expect(try parse("NaN").doubleValue?.isNaN == true)
        #expect(try parse("Infinity") == .double(.infinity))
        #expect(try parse("[-Infinity]") == .list([.double(-.infinity)]))
    }

    @Test func keepsKeyOrderAndPythonDuplicates() throws {
        let v = try parse(#"{"b": 1, "a": [true, false, null], "c": {"z": 1, "y": 2}, "b": 3}"#)
        #expect(v.recordValue?.keys == ["b", "a", "c"])
        #expect(v["b"] == .int(3))
        #expect(v["c"]?.recordValue?.keys == ["z", "y"])
        // Many keys use an index; duplicates still keep their first place.
        let many = "{" + (0..<40).map { "\"k\($0)\": \($0)" }.joined(separator: ",") + ", \"k5\": \"again\"}"
        let m = try parse(many)
        #expect(m.recordValue?.count == 40)
        #expect(m.recordValue?[5].value == .string("again"))
    }

    @Test func decodesStrings() throws {
        #expect(try parse(#""a\"b\\c\/d\b\f\n\r\t""#) == .string("a\"b\\c/d\u{8}\u{c}\n\r\t"))
        #expect(try parse(#""caf\u00e9 \ud83d\ude00 日本""#) == .string("café 😀 日本"))
        #expect(try parse(#""lone \ud800 x""#) == .string("lone \u{FFFD} x"))
        #expect(try parse("\"\u{1F389}\"") == .string("🎉"))
    }

    @Test(arguments: [
        ("[1, 2,]", true), ("{\"a\": 1,}", true), ("[1,,2]", false), ("[1 2]", false), ("{\"a\" 1}", false),
        ("{\"a\": 1} x", false), ("[1]]", false), ("01", false), ("1.", false), ("-", false), (".5", false),
        ("\"abc", false), ("\"a\nb\"", false), ("tru", false), ("nan", false), ("{a: 1}", false), ("[\"\\x\"]", false),
        ("", false), ("  ", false), ("[", false), ("{\"a\":", false), ("\"\\u12\"", false), ("+1", false),
    ])
    func rejectsMalformed(text: String, isTrailingComma: Bool) {
        do {
            _ = try parse(text)
            Issue.record("accepted \(text.debugDescription)")
        } catch let error as JSONSyntaxError {
            #expect(error.trailingComma == isTrailingComma, "\(text.debugDescription): \(error.message)")
        } catch {
            Issue.record("\(error)")
        }
    }

    @Test func rejectsInvalidUTF8AndDeepNesting() {
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse([0x22, 0xFF, 0xFE, 0x22]) }
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(Array(String(repeating: "[", count: 100_000).utf8)) }
        #expect((try? parse(String(repeating: "[", count: 500) + String(repeating: "]", count: 500))) != nil)
    }
}

@Suite("Text formats")
struct TextFormatTests {
    @Test func jsonlMatchesExpected() throws {
        let file = try DatasetFile.open(Paths.fixture("rows.jsonl"))
        #expect(file.format == .jsonl)
        #expect(file.rowCount == nil)
        expectRows(try file.allRows(), dropping("blob", try expectedRows()), "rows.jsonl")
        #expect(try file.row(at: 3) == dropping("blob", try expectedRows())[3])
        #expect(try file.columnNames().first == "idx")
    }

    @Test(arguments: ["rows.list.json", "rows.data.json", "rows.columns.json"])
    func jsonShapesMatchExpected(name: String) throws {
        let file = try DatasetFile.open(Paths.fixture(name))
        #expect(file.rowCount == 10)
        expectRows(try file.allRows(), dropping("blob", try expectedRows()), name)
        #expect(try file.row(at: 9) == dropping("blob", try expectedRows())[9])
    }

    @Test(arguments: ["rows.csv", "rows.tsv"])
    func csvAndTsvMatchExpected(name: String) throws {
        let file = try DatasetFile.open(Paths.fixture(name))
        expectRows(try file.allRows(), try expectedRows("expected_csv.jsonl"), name)
        #expect(try file.columnNames() == ["idx", "label", "text", "score", "maybe", "flag"])
        #expect(try file.row(at: 2)["text"] == .string("multi\nline\r\nfield"))
    }

    @Test func otherJSONShapes() throws {
        let dir = try temporaryFolder()
        let squad = try writeFile(#"{"version": "2", "data": [{"a": 1}, {"a": 2}]}"#, "squad.json", in: dir)
        #expect(try readAll(squad) == [["a": .int(1)], ["a": .int(2)]])
        let pandas = try writeFile(#"{"a": {"0": 1, "1": 2}, "b": {"0": "x", "1": "y"}}"#, "pandas.json", in: dir)
        #expect(try readAll(pandas) == [["a": .int(1), "b": .string("x")], ["a": .int(2), "b": .string("y")]])
        let empty = try writeFile("[]", "empty.json", in: dir)
        #expect(try readAll(empty).isEmpty)
        let columns = try writeFile(#"{"x": [1, 2], "y": [[1], []]}"#, "columns.json", in: dir)
        #expect(try readAll(columns) == [["x": .int(1), "y": .list([.int(1)])], ["x": .int(2), "y": .list([])]])
    }

    @Test func jsonlSkipsBlankLinesAndHandlesCRLF() throws {
        let dir = try temporaryFolder()
        let url = try writeFile("\n{\"a\": 1}\r\n   \n\r\n{\"a\": 2.0}\n\n", "x.jsonl", in: dir)
        #expect(try readAll(url) == [["a": .int(1)], ["a": .double(2)]])
        let noNewline = try writeFile("{\"a\": 1}\n{\"a\": 2}", "y.jsonl", in: dir)
        #expect(try readAll(noNewline).count == 2)
        let empty = try writeFile("", "z.jsonl", in: dir)
        #expect(try readAll(empty).isEmpty)
    }

    @Test func csvQuotingAndEmptyLines() throws {
        let dir = try temporaryFolder()
        let url = try writeFile("a,b\n\"x,\"\"y\"\"\",\n\n\"multi\r\nline\",2\r3,\"\"\n", "q.csv", in: dir)
        #expect(try readAll(url) == [
            ["a": .string("x,\"y\""), "b": .string("")],
            ["a": .string("multi\r\nline"), "b": .string("2")],
            ["a": .string("3"), "b": .string("")],
        ])
        let headerOnly = try writeFile("a,b\n", "h.csv", in: dir)
        #expect(try readAll(headerOnly).isEmpty)
        let bom = try writeFile("\u{FEFF}a\tb\n1\t2", "bom.tsv", in: dir)
        #expect(try readAll(bom) == [["a": .string("1"), "b": .string("2")]])
        let fullwidth = try writeFile("\u{FF71}\n\u{FF72}\n", "fw.csv", in: dir)
        #expect(try readAll(fullwidth) == [["\u{FF71}": .string("\u{FF72}")]])
    }
}

@Suite("Text format errors")
struct TextFormatErrorTests {
    func expectError(_ text: String, _ name: String, kind: DataError.Kind, line: Int?, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let dir = try temporaryFolder()
        let url = try writeFile(text, name, in: dir)
        let error = dataError({ _ = try DatasetFile.open(url).allRows() }, sourceLocation: sourceLocation)
        #expect(error?.kind == kind, "\(error?.description ?? "")", sourceLocation: sourceLocation)
        #expect(error?.line == line, "\(error?.description ?? "")", sourceLocation: sourceLocation)
        #expect(error?.description.contains(url.path) == true, sourceLocation: sourceLocation)
        #expect(error?.description.contains(name) == true, sourceLocation: sourceLocation)
    }

    @Test func malformedJSONLLines() throws {
        try expectError("{\"a\": 1}\n{\"a\": 2,}\n", "comma.jsonl", kind: .trailingComma, line: 2)
        try expectError("{\"a\": 1}\n\n{\"a\": [1, 2,]}\n", "comma2.jsonl", kind: .trailingComma, line: 3)
        try expectError("{\"a\": 1}\n[1, 2]\n", "list.jsonl", kind: .wrongShape("a JSONL line must be an object, found a list"), line: 2)
        try expectError("{\"a\": 1} {\"b\": 2}\n", "two.jsonl", kind: .malformedJSON("extra data after the value at byte 10"), line: 1)
        try expectError("{\"a\": 1}\n{\"a\": \"\u{1}\"}\n", "ctl.jsonl", kind: .malformedJSON("control character in a string at byte 8"), line: 2)
        try expectError("{\"a\": 1}\n{\"a\": tru}\n", "lit.jsonl", kind: .malformedJSON("invalid literal at byte 7"), line: 2)
        try expectError("{\"a\": 1}\n{\"a\": \"x", "open.jsonl", kind: .malformedJSON("unterminated string at byte 7"), line: 2)
    }

    @Test func invalidUTF8() throws {
        let dir = try temporaryFolder()
        let url = try writeFile([0x7B, 0x22, 0x61, 0x22, 0x3A, 0x22, 0xC3, 0x28, 0x22, 0x7D, 0x0A], "bad.jsonl", in: dir)
        let error = dataError { _ = try readAll(url) }
        #expect(error?.kind == .invalidUTF8)
        #expect(error?.line == 1)
        let csv = try writeFile([0x61, 0x0A, 0xFF, 0x0A], "bad.csv", in: dir)
        #expect(dataError { _ = try readAll(csv) }?.kind == .invalidUTF8)
    }

    @Test func wrongJSONDocumentShapes() throws {
        try expectError("[{\"a\": 1}, 2]", "nums.json", kind: .wrongShape("list item 1 is a number, not an object"), line: nil)
        try expectError("42", "num.json", kind: .wrongShape("a JSON dataset must be a list of objects or an object, found a number"), line: nil)
        try expectError("{\"a\": [1, 2], \"b\": [1]}", "ragged.json", kind: .wrongShape("column lists of different lengths [1, 2]"), line: nil)
        try expectError("{\"a\": 1, \"b\": 2}", "scalars.json", kind: .wrongShape("a JSON object must hold one list of objects, or columns (lists of equal length)"), line: nil)
        try expectError("[\n{\"a\": 1},\n{\"a\": 2},\n]", "trailing.json", kind: .trailingComma, line: 4)
        try expectError("[{\"a\": 1}] x", "garbage.json", kind: .malformedJSON("extra data after the value at byte 12"), line: 1)
    }

    @Test func csvErrors() throws {
        try expectError("a,b\n1,2\n3\n", "few.csv", kind: .fieldCount(expected: 2, found: 1), line: 3)
        try expectError("a,b\n1,2\n3,4,5\n", "many.csv", kind: .fieldCount(expected: 2, found: 3), line: 3)
        try expectError("a\tb\n1\t\"open\n\nmore\n", "open.tsv", kind: .unclosedQuote, line: 2)
        try expectError("a,b\n\"x\"y,2\n", "quote.csv", kind: .badQuote, line: 2)
        try expectError("a,b\n\"multi\nline\",2\n1,2,3\n", "after.csv", kind: .fieldCount(expected: 2, found: 3), line: 4)
    }

    @Test func overlongLinesAreRefused() throws {
        let dir = try temporaryFolder()
        let url = try writeFile("{\"a\": \"" + String(repeating: "x", count: 5000) + "\"}\n", "long.jsonl", in: dir)
        let error = dataError { _ = try DatasetFile.open(url, lineLimit: 1000).allRows() }
        #expect(error?.kind == .lineTooLong(limit: 1000))
        let csv = try writeFile("a\n\"" + String(repeating: "x", count: 5000), "long.csv", in: dir)
        #expect(dataError { _ = try DatasetFile.open(csv, lineLimit: 1000).allRows() }?.kind == .lineTooLong(limit: 1000))
    }

    @Test func missingAndUnknownFiles() throws {
        let dir = try temporaryFolder()
        #expect(dataError { _ = try DatasetFile.open(dir.appendingPathComponent("none.jsonl")) }?.kind == .unreadable("no such file"))
        let parquet = try writeFile("PAR1", "x.parquet", in: dir)
        if case .unknownFormat = dataError({ _ = try DatasetFile.open(parquet) })?.kind {} else { Issue.record("parquet accepted") }
        #expect(dataError { _ = try DatasetFile.open(dir, format: .jsonl) }?.kind == .unreadable("is a folder (use DatasetSplit for dataset folders)"))
        let short = try writeFile("{\"a\": 1}\n", "one.jsonl", in: dir)
        #expect(dataError { _ = try DatasetFile.open(short).row(at: 1) }?.kind == .rowOutOfRange(1, count: 1))
    }
}

@Suite("Large files")
struct LargeTextFileTests {
    @Test func jsonlOf200kRowsStreams() throws {
        let dir = try temporaryFolder()
        let url = dir.appendingPathComponent("big.jsonl")
        _ = FileManager.default.createFile(atPath: url.path, contents: nil)
        let handle = try FileHandle(forWritingTo: url)
        var chunk = ""
        for i in 0..<200_000 {
            chunk += "{\"id\": \(i), \"text\": \"row \(i)\", \"score\": \(Double(i) / 2)}\n"
            if i % 10_000 == 9_999 { handle.write(Data(chunk.utf8)); chunk = "" }
        }
        try handle.close()
        let file = try DatasetFile.open(url)
        #expect(try file.row(at: 123_457) == ["id": .int(123_457), "text": .string("row 123457"), "score": .double(61728.5)])
        var n = 0
        try file.forEachRow { i, row in
            #expect(i == n)
            n += 1
            return true
        }
        #expect(n == 200_000)
        // Stopping early stops reading.
        var seen = 0
        try file.forEachRow { _, _ in seen += 1; return seen < 10 }
        #expect(seen == 10)
    }
}
