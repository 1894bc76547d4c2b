import Foundation
import OPTSupport

/// Streams a JSONL file: one JSON object per line, blank lines skipped, one line in memory at a time.
final class JSONLReader {
    let lines: JSONLinesReader

    init(_ url: URL, lineLimit: Int) throws(DataError) {
        do throws(JSONLinesError) { lines = try JSONLinesReader(url: url, lineLimit: lineLimit) } catch { throw error.dataError }
    }

    func next() throws(DataError) -> DatasetRow? {
        let file = lines.file
        while true {
            let next: (number: Int, bytes: ArraySlice<UInt8>)?
            do throws(JSONLinesError) { next = try lines.next() } catch { throw error.dataError }
            guard let (line, bytes) = next else { return nil }
            let parsed = try bytes.withUnsafeBufferPointer { (bytes) throws(DataError) -> DatasetValue? in
                if JSONParser.isBlank(bytes) { return nil }
                do throws(JSONSyntaxError) {
                    return try JSONParser.parse(bytes)
                } catch {
                    throw error.dataError(file: file, line: line)
                }
            }
            guard let value = parsed else { continue }  // blank line
            guard case .record(let row) = value else {
                throw DataError(.wrongShape("a JSONL line must be an object, found \(Self.kindName(value))"), file: file, line: line)
            }
            return row
        }
    }

    static func kindName(_ value: DatasetValue) -> String {
        switch value {
        case .null: return "null"
        case .bool: return "a boolean"
        case .int, .double: return "a number"
        case .string: return "a string"
        case .bytes: return "bytes"
        case .list: return "a list"
        case .record: return "an object"
        }
    }
}

/// A whole JSON document as rows. Accepted shapes:
/// - a list of objects: `[{"a": 1}, {"a": 2}]`;
/// - an object with exactly one list value, a list of objects, other keys not lists: `{"data": [...], "version": "2"}`
///   (as SQuAD and `load_dataset("json", field="data")` have it);
/// - column-oriented, an object of equal-length lists: `{"a": [1, 2], "b": ["x", "y"]}`
///   (`pandas.DataFrame.to_json(orient="list")`-like, `Dataset.from_dict` input);
/// - pandas' default `to_json()` (orient "columns"): `{"a": {"0": 1, "1": 2}, "b": {"0": "x", "1": "y"}}`,
///   rows in the order of the first column's index keys.
public enum JSONDocument {
    /// One JSON document (a task file, a config) with Python's `json` semantics: integers apart from floats,
    /// object keys in file order, no trailing commas; `file` names it in the error.
    public static func parse(_ data: Data, file: String) throws(DataError) -> DatasetValue {
        do { return try JSONParser.parse([UInt8](data)) } catch { throw error.dataError(file: file) }
    }

    static func rows(_ url: URL) throws(DataError) -> [DatasetRow] {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw DataError(.unreadable(error.localizedDescription), url: url)
        }
        let value: DatasetValue
        do {
            value = try JSONParser.parse([UInt8](data))
        } catch {
            // Name the line of the failure too.
            let line = data.prefix(error.offset).reduce(1) { $1 == 0x0A ? $0 + 1 : $0 }
            throw error.dataError(file: url.path, line: line)
        }
        return try rows(of: value, url: url)
    }

    static func rows(of value: DatasetValue, url: URL) throws(DataError) -> [DatasetRow] {
        func shape(_ why: String) -> DataError { DataError(.wrongShape(why), url: url) }
        func records(_ items: [DatasetValue], _ what: String) throws(DataError) -> [DatasetRow] {
            var out: [DatasetRow] = []
            out.reserveCapacity(items.count)
            for (i, item) in items.enumerated() {
                guard case .record(let row) = item else {
                    throw shape("\(what) item \(i) is \(JSONLReader.kindName(item)), not an object")
                }
                out.append(row)
            }
            return out
        }
        switch value {
        case .list(let items):
            return try records(items, "list")
        case .record(let object):
            if object.isEmpty { return [] }
            let lists = object.fields.filter { if case .list = $0.value { return true } else { return false } }
            let listLengths = Set(lists.compactMap { $0.value.listValue?.count })
            // Exactly one list, of objects: the rows (other keys are metadata such as "version").
            if lists.count == 1, let items = lists[0].value.listValue,
               items.allSatisfy({ if case .record = $0 { return true } else { return false } }) {
                return try records(items, "'\(lists[0].key)'")
            }
            // Columns: every value a list, all the same length.
            if lists.count == object.count {
                guard listLengths.count == 1, let n = listLengths.first else {
                    throw shape("column lists of different lengths \(listLengths.sorted())")
                }
                return (0..<n).map { i in DatasetRow(object.fields.map { (key: $0.key, value: $0.value.listValue![i]) }) }
            }
            // pandas orient="columns": every value an object keyed by the row index.
            let columns = object.fields.compactMap { $0.value.recordValue }
            if columns.count == object.count, let index = columns.first?.keys {
                var rows: [DatasetRow] = []
                rows.reserveCapacity(index.count)
                for key in index {
                    var row = DatasetRow()
                    for (name, column) in zip(object.keys, columns) {
                        guard let v = column[key] else { throw shape("column '\(name)' has no row '\(key)'") }
                        row.fields.append((key: name, value: v))
                    }
                    rows.append(row)
                }
                if columns.contains(where: { $0.count != index.count }) { throw shape("columns with different row keys") }
                return rows
            }
            throw shape("a JSON object must hold one list of objects, or columns (lists of equal length)")
        default:
            throw shape("a JSON dataset must be a list of objects or an object, found \(JSONLReader.kindName(value))")
        }
    }
}

/// Streams a CSV or TSV file: a header row (unless the column names are given), then records (RFC 4180 quoting with `"`, `""` for a quote,
/// separators and newlines allowed inside quotes; `\r\n`, `\n` or `\r` end a record). Values stay strings —
/// an empty field is `""`, never null, and no number is parsed. Empty lines are skipped.
final class CSVReader {
    let reader: ByteReader
    let separator: UInt8
    let limit: Int
    private(set) var header: [String] = []
    private var line = 1  // line of the next byte

    /// `columns`: the names of a header-less file's fields (MMLU's official CSVs have no header row).
    init(_ url: URL, separator: UInt8, recordLimit: Int, columns: [String]? = nil) throws(DataError) {
        reader = try ByteReader(url)
        self.separator = separator
        limit = recordLimit
        // A UTF-8 byte order mark before the first record.
        _ = try reader.skip(prefix: [0xEF, 0xBB, 0xBF])
        if let columns { header = columns } else if let (fields, _) = try record() { header = fields }
    }

    func next() throws(DataError) -> DatasetRow? {
        guard let (fields, startLine) = try record() else { return nil }
        guard fields.count == header.count else {
            throw DataError(.fieldCount(expected: header.count, found: fields.count), file: reader.url.path, line: startLine)
        }
        return DatasetRow(zip(header, fields).map { (key: $0, value: .string($1)) })
    }

    /// The next non-empty record's fields and its first line, or nil at the end of the file.
    private func record() throws(DataError) -> ([String], Int)? {
        while true {
            let startLine = line
            var fields: [String] = []
            var field: [UInt8] = []
            var size = 0
            var sawAnything = false
            func finishField() throws(DataError) {
                guard let s = validUTF8(field) else {
                    throw DataError(.invalidUTF8, file: reader.url.path, line: startLine)
                }
                fields.append(s)
                field.removeAll(keepingCapacity: true)
            }
            var quoted = false      // inside a quoted field
            var afterQuote = false  // just after the closing quote of a quoted field
            var atFieldStart = true
            while true {
                guard let b = try reader.nextByte() else {
                    if quoted { throw DataError(.unclosedQuote, file: reader.url.path, line: startLine) }
                    if !sawAnything { return nil }
                    try finishField()
                    return (fields, startLine)
                }
                size += 1
                if size > limit { throw DataError(.lineTooLong(limit: limit), file: reader.url.path, line: startLine) }
                if b == 0x0A { line += 1 }
                if quoted {
                    if b == 0x22 {
                        if try reader.peekByte() == 0x22 {
                            _ = try reader.nextByte(); size += 1
                            field.append(0x22)
                        } else {
                            quoted = false
                            afterQuote = true
                        }
                    } else {
                        field.append(b)
                    }
                    continue
                }
                if b == separator {
                    try finishField()
                    sawAnything = true
                    atFieldStart = true
                    afterQuote = false
                    continue
                }
                if b == 0x0A || b == 0x0D {
                    if b == 0x0D, try reader.peekByte() == 0x0A { _ = try reader.nextByte(); line += 1 }
                    if !sawAnything && field.isEmpty && !afterQuote { break }  // empty line: skip
                    try finishField()
                    return (fields, startLine)
                }
                if afterQuote { throw DataError(.badQuote, file: reader.url.path, line: line) }
                sawAnything = true
                if b == 0x22 && atFieldStart {
                    quoted = true
                    atFieldStart = false
                    continue
                }
                atFieldStart = false
                field.append(b)
            }
        }
    }
}

extension JSONLinesError {
    /// The same fault as a dataset error, which names the file and line the same way.
    var dataError: DataError {
        switch self {
        case let .unreadable(file, reason): DataError(.unreadable(reason), file: file)
        case let .malformedLine(file, line, reason): DataError(.malformedJSON(reason), file: file, line: line)
        case let .lineTooLong(file, line, limit): DataError(.lineTooLong(limit: limit), file: file, line: line)
        }
    }
}
