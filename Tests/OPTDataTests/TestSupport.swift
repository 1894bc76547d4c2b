import Foundation
import Testing
@testable import OPTData
import TestSupport

/// Paths of the committed fixtures.
enum Paths {
    static let packageRoot = RepositoryPaths.packageRoot

    static let data = RepositoryPaths.fixtures("data")
    static func fixture(_ name: String) -> URL { data.appendingPathComponent(name) }
}

/// A fresh empty folder, removed with the others when the test process exits.
func temporaryFolder(_ name: String = #function) throws -> URL { try TemporaryFolders.make("optdata", name) }

/// Writes `bytes` as `name` into `folder` and returns its URL.
@discardableResult
func writeFile(_ bytes: [UInt8], _ name: String, in folder: URL) throws -> URL {
    let url = folder.appendingPathComponent(name)
    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    try Data(bytes).write(to: url)
    return url
}

@discardableResult
func writeFile(_ text: String, _ name: String, in folder: URL) throws -> URL {
    try writeFile(Array(text.utf8), name, in: folder)
}

func bytes(of url: URL) throws -> [UInt8] { [UInt8](try Data(contentsOf: url)) }

/// The rows of an `expected*.jsonl` fixture, with `{"$bytes": hex}` turned into `.bytes`.
func expectedRows(_ name: String = "expected.jsonl") throws -> [DatasetRow] {
    try DatasetFile.open(Paths.fixture(name)).allRows().map { DatasetRow($0.fields.map { ($0.key, unhex($0.value)) }) }
}

private func unhex(_ value: DatasetValue) -> DatasetValue {
    switch value {
    case .record(let r):
        if r.count == 1, r[0].key == "$bytes", let hex = r[0].value.stringValue {
            var out: [UInt8] = []
            var i = hex.startIndex
            while i < hex.endIndex {
                let j = hex.index(i, offsetBy: 2)
                out.append(UInt8(hex[i..<j], radix: 16)!)
                i = j
            }
            return .bytes(out)
        }
        return .record(DatasetRow(r.fields.map { ($0.key, unhex($0.value)) }))
    case .list(let l): return .list(l.map(unhex))
    default: return value
    }
}

/// `rows` keeping only `columns`, in that order.
func project(_ rows: [DatasetRow], _ columns: [String]) -> [DatasetRow] {
    rows.map { row in DatasetRow(columns.map { ($0, row[$0] ?? .null) }) }
}

/// `rows` without `column`.
func dropping(_ column: String, _ rows: [DatasetRow]) -> [DatasetRow] {
    rows.map { DatasetRow($0.fields.filter { $0.key != column }) }
}

/// Compares row by row, reporting the first differing rows.
func expectRows(_ actual: [DatasetRow], _ expected: [DatasetRow], _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(actual.count == expected.count, "\(what): \(actual.count) rows, expected \(expected.count)", sourceLocation: sourceLocation)
    for (i, (a, e)) in zip(actual, expected).enumerated() where a != e {
        Issue.record("\(what) row \(i):\n  got      \(a)\n  expected \(e)", sourceLocation: sourceLocation)
        return
    }
}

/// The `DataError` `body` throws; records an issue when it throws nothing or something else.
func dataError(_ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) -> DataError? {
    do {
        try body()
        Issue.record("expected a DataError, got none", sourceLocation: sourceLocation)
    } catch let error as DataError {
        return error
    } catch {
        Issue.record("expected a DataError, got \(error)", sourceLocation: sourceLocation)
    }
    return nil
}

/// Opens `url` and reads every row.
func readAll(_ url: URL) throws -> [DatasetRow] {
    try DatasetFile.open(url).allRows()
}
