import Foundation
import Testing
@testable import OPTSupport

/// The one JSON Lines reader: lines and their numbers the same from a file (read in chunks) as from bytes.
@Suite struct JSONLinesReaderTests {
    func lines(_ reader: JSONLinesReader) throws -> [(Int, String)] {
        var lines: [(Int, String)] = []
        while let line = try reader.next() { lines.append((line.number, String(decoding: line.bytes, as: UTF8.self))) }
        return lines
    }

    func file(_ bytes: [UInt8]) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("jsonlines-\(UUID().uuidString).jsonl")
        try Data(bytes).write(to: url)
        return url
    }

    @Test func lineFeedsEndLinesAndKeepCarriageReturns() throws {
        let data = Data("{\"a\":1}\r\n\n{\"a\":2}".utf8)
        let got = try lines(JSONLinesReader(data: data, file: "x"))
        #expect(got.map(\.0) == [1, 2, 3])
        #expect(got.map(\.1) == ["{\"a\":1}\r", "", "{\"a\":2}"])
    }

    @Test func universalNewlinesAsPythonReadsThem() throws {
        let data = Data("a\rb\r\nc\n".utf8)
        let got = try lines(JSONLinesReader(data: data, file: "x", newlines: .universal))
        #expect(got.map(\.1) == ["a", "b", "c"])
        #expect(got.map(\.0) == [1, 2, 3])
    }

    /// Lines longer than a chunk, and a `\r\n` split between two chunks, read as from memory.
    @Test func aFileReadsAsItsBytes() throws {
        let chunk = JSONLinesReader.chunkSize
        var bytes = [UInt8](repeating: UInt8(ascii: "x"), count: chunk - 1) + [0x0D, 0x0A]
        bytes += [UInt8](repeating: UInt8(ascii: "y"), count: 2 * chunk + 5) + [0x0D] + Array("z\n\n".utf8)
        let url = try file(bytes)
        defer { try? FileManager.default.removeItem(at: url) }
        for newlines in [JSONLinesReader.Newlines.lineFeed, .universal] {
            let fromFile = try lines(JSONLinesReader(url: url, newlines: newlines))
            let fromData = try lines(JSONLinesReader(data: Data(bytes), file: url.path, newlines: newlines))
            #expect(fromFile.map(\.0) == fromData.map(\.0))
            #expect(fromFile.map(\.1) == fromData.map(\.1))
        }
        #expect(try lines(JSONLinesReader(url: url, newlines: .universal)).map(\.1.count) == [chunk - 1, 2 * chunk + 5, 1, 0])
    }

    @Test func aLineOverTheLimitNamesFileAndLine() throws {
        let url = try file(Array("ab\nabcdef\n".utf8))
        defer { try? FileManager.default.removeItem(at: url) }
        let reader = try JSONLinesReader(url: url, lineLimit: 4)
        #expect(try reader.next()?.number == 1)
        #expect(throws: JSONLinesError.lineTooLong(file: url.path, line: 2, limit: 4)) { try reader.next() }
    }

    @Test func aMalformedLineNamesFileAndLine() throws {
        struct Row: Decodable { let a: Int }
        let reader = JSONLinesReader(data: Data("{\"a\":1}\n{\"a\":\"no\"}\n".utf8), file: "rows.jsonl")
        let first = try #require(try reader.next())
        #expect(try reader.decode(Row.self, from: first).a == 1)
        let second = try #require(try reader.next())
        #expect {
            _ = try reader.decode(Row.self, from: second)
        } throws: { error in
            guard case let .malformedLine(file, line, _) = error as? JSONLinesError else { return false }
            return file == "rows.jsonl" && line == 2
        }
    }

    @Test func aMissingFileIsUnreadable() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("absent-\(UUID().uuidString).jsonl")
        #expect {
            _ = try JSONLinesReader(url: url)
        } throws: { error in
            guard case let .unreadable(file, _) = error as? JSONLinesError else { return false }
            return file == url.path
        }
    }
}
