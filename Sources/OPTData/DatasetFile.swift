import Foundation

/// Something rows come from: a file or a split of several files.
public protocol RowSource: Sendable {
    /// The number of rows when known without reading them all (Arrow, JSON documents); nil for JSONL, CSV, TSV.
    var rowCount: Int? { get }
    /// A fresh iterator over the rows, from the first.
    func makeIterator() throws(DataError) -> RowIterator
    /// Row `index` (0-based). Arrow decodes only that row; JSONL/CSV read the file up to it.
    func row(at index: Int) throws(DataError) -> DatasetRow
}

extension RowSource {
    /// Calls `body` with each row and its index in order, until `body` returns false.
    /// Errors are the file's `DataError`s or whatever `body` throws.
    public func forEachRow(_ body: (Int, DatasetRow) throws -> Bool) throws {
        let iterator = try makeIterator()
        while let row = try iterator.next() {
            if try !body(iterator.index - 1, row) { return }
        }
    }

    /// All rows in memory (for small files and tests).
    public func allRows() throws(DataError) -> [DatasetRow] {
        let iterator = try makeIterator()
        var rows: [DatasetRow] = []
        while let row = try iterator.next() { rows.append(row) }
        return rows
    }
}

/// Iterates the rows of a `RowSource` with bounded memory (one line, CSV record or Arrow record batch layout).
public final class RowIterator {
    enum Source {
        case jsonl(JSONLReader)
        case csv(CSVReader)
        case memory([DatasetRow])
        case arrow(ArrowFile, BatchLayout?, Int)  // file, current batch, index within it
        case chain([RowSource], Int, RowIterator?)
        case empty
    }

    private var source: Source
    /// The index of the next row `next()` returns.
    public private(set) var index = 0

    init(_ source: Source) { self.source = source }

    /// The next row, or nil after the last.
    public func next() throws(DataError) -> DatasetRow? {
        let row: DatasetRow?
        switch source {
        case .jsonl(let reader): row = try reader.next()
        case .csv(let reader): row = try reader.next()
        case .memory(let rows): row = index < rows.count ? rows[index] : nil
        case .arrow(let file, var batch, var inBatch):
            guard index < file.count else { row = nil; break }
            if batch == nil || inBatch >= batch!.rows {
                batch = try file.layout(batchContaining: index)
                inBatch = index - file.batches[batch!.index].firstRow
            }
            row = try batch!.row(inBatch)
            source = .arrow(file, batch, inBatch + 1)
        case .chain(let sources, var at, var current):
            var found: DatasetRow? = nil
            while at < sources.count {
                if current == nil { current = try sources[at].makeIterator() }
                if let r = try current!.next() { found = r; break }
                at += 1
                current = nil
            }
            source = .chain(sources, at, current)
            row = found
        case .empty: row = nil
        }
        if row != nil { index += 1 }
        return row
    }
}

/// One dataset file: JSONL, JSON, CSV, TSV or Arrow (see `Format`).
///
/// - JSONL: one JSON object per line, blank lines skipped; streamed a line at a time.
/// - JSON: see `JSONDocument` for the accepted shapes (a list of objects, `{"data": [...]}`, columns);
///   the document is read and parsed whole on `open`.
/// - CSV/TSV: a header row (or the names given as `columns`) then records, RFC 4180 quoting; every value stays a `.string` (empty fields are `""`).
/// - Arrow: the IPC stream or file format that Hugging Face `datasets` writes, memory-mapped, random access.
public struct DatasetFile: RowSource {
    public enum Format: String, Sendable, CaseIterable {
        case jsonl, json, csv, tsv, arrow

        /// The format of a file name's extension: .jsonl/.ndjson, .json, .csv, .tsv/.tab, .arrow.
        public init?(pathExtension: String) {
            switch pathExtension.lowercased() {
            case "jsonl", "ndjson": self = .jsonl
            case "json": self = .json
            case "csv": self = .csv
            case "tsv", "tab": self = .tsv
            case "arrow": self = .arrow
            default: return nil
            }
        }
    }

    /// The default limit on one JSONL line or CSV record (64 MiB).
    public static let defaultLineLimit = 64 << 20

    public let url: URL
    public let format: Format
    /// The Arrow file, for `.arrow`.
    public let arrow: ArrowFile?
    private let documentRows: [DatasetRow]?
    private let lineLimit: Int
    /// The field names of a header-less CSV/TSV file.
    private var columns: [String]?

    /// Opens `url`, in the format of its extension unless `format` says. Arrow files are mapped and indexed,
    /// JSON documents parsed; JSONL/CSV/TSV only checked to be readable. `columns` names the fields of a
    /// CSV/TSV file that has no header row.
    public static func open(_ url: URL, format: Format? = nil, lineLimit: Int = defaultLineLimit,
                            columns: [String]? = nil) throws(DataError) -> DatasetFile {
        guard let format = format ?? Format(pathExtension: url.pathExtension) else {
            throw DataError(.unknownFormat("extension '.\(url.pathExtension)' (expected .jsonl, .json, .csv, .tsv or .arrow)"), url: url)
        }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) else {
            throw DataError(.unreadable("no such file"), url: url)
        }
        if isDir.boolValue { throw DataError(.unreadable("is a folder (use DatasetSplit for dataset folders)"), url: url) }
        switch format {
        case .arrow:
            return DatasetFile(url: url, format: format, arrow: try ArrowFile(url), documentRows: nil, lineLimit: lineLimit)
        case .json:
            return DatasetFile(url: url, format: format, arrow: nil, documentRows: try JSONDocument.rows(url), lineLimit: lineLimit)
        case .jsonl, .csv, .tsv:
            _ = try ByteReader(url)  // readable now, not at the first row
            return DatasetFile(url: url, format: format, arrow: nil, documentRows: nil, lineLimit: lineLimit, columns: columns)
        }
    }

    public var rowCount: Int? { arrow?.count ?? documentRows?.count }

    /// The `datasets` features stored in an Arrow file's schema metadata.
    public var features: Features? { arrow?.features }

    public func makeIterator() throws(DataError) -> RowIterator {
        if let arrow { return RowIterator(.arrow(arrow, nil, 0)) }
        if let documentRows { return RowIterator(.memory(documentRows)) }
        switch format {
        case .jsonl: return RowIterator(.jsonl(try JSONLReader(url, lineLimit: lineLimit)))
        case .csv: return RowIterator(.csv(try CSVReader(url, separator: UInt8(ascii: ","), recordLimit: lineLimit, columns: columns)))
        case .tsv: return RowIterator(.csv(try CSVReader(url, separator: UInt8(ascii: "\t"), recordLimit: lineLimit, columns: columns)))
        case .json, .arrow: return RowIterator(.empty)
        }
    }

    public func row(at index: Int) throws(DataError) -> DatasetRow {
        if let arrow { return try arrow.row(at: index) }
        if let documentRows {
            guard index >= 0, index < documentRows.count else {
                throw DataError(.rowOutOfRange(index, count: documentRows.count), url: url)
            }
            return documentRows[index]
        }
        let iterator = try makeIterator()
        var seen = 0
        while let row = try iterator.next() {
            if seen == index { return row }
            seen += 1
        }
        throw DataError(.rowOutOfRange(index, count: seen), url: url)
    }

    /// The column names: Arrow's schema, a CSV header, or the keys of the first row (JSON, JSONL).
    public func columnNames() throws(DataError) -> [String] {
        if let arrow { return arrow.schema.fields.map(\.name) }
        switch format {
        case .csv: return try CSVReader(url, separator: UInt8(ascii: ","), recordLimit: lineLimit, columns: columns).header
        case .tsv: return try CSVReader(url, separator: UInt8(ascii: "\t"), recordLimit: lineLimit, columns: columns).header
        default: return try makeIterator().next()?.keys ?? []
        }
    }
}
