import Foundation

/// An error reading a dataset file or folder. It always names the file (or folder), and where it
/// knows one, the line (text formats) or the record batch and column (Arrow).
public struct DataError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// The file or folder does not exist or cannot be read.
        case unreadable(String)
        /// A file extension (or content) that is none of JSONL, JSON, CSV, TSV, Arrow.
        case unknownFormat(String)
        /// JSON that is not valid (the message says what and the column).
        case malformedJSON(String)
        /// A `,` right before `]` or `}`.
        case trailingComma
        /// Valid JSON of the wrong shape: a JSONL line that is not an object, a JSON document that is not rows.
        case wrongShape(String)
        /// Bytes that are not UTF-8.
        case invalidUTF8
        /// A line (or CSV record) longer than the reader's limit.
        case lineTooLong(limit: Int)
        /// A CSV/TSV record with a different number of fields than the header.
        case fieldCount(expected: Int, found: Int)
        /// A quoted CSV/TSV field never closed before the end of the file.
        case unclosedQuote
        /// A character after a closing quote of a CSV/TSV field, other than the separator or a newline.
        case badQuote
        /// An Arrow file that ends before its data does.
        case truncated(String)
        /// Neither an Arrow IPC stream nor an Arrow IPC file.
        case badMagic
        /// Arrow metadata (flatbuffers) or buffers that do not hold together.
        case corrupt(String)
        /// An Arrow type, encoding or feature this reader does not decode.
        case unsupported(String)
        /// No files for the split in the folder (the splits found are listed).
        case missingSplit(String, available: [String])
        /// A row index past the end.
        case rowOutOfRange(Int, count: Int)
    }

    public var kind: Kind
    /// The path of the file or folder.
    public var file: String
    /// 1-based line of a text file (the first line of a multi-line CSV record).
    public var line: Int?
    /// Where in an Arrow file: "record batch 2, column 'text'", "schema", "message at byte 1234".
    public var location: String?

    public init(_ kind: Kind, file: String, line: Int? = nil, location: String? = nil) {
        self.kind = kind
        self.file = file
        self.line = line
        self.location = location
    }

    public init(_ kind: Kind, url: URL, line: Int? = nil, location: String? = nil) {
        self.init(kind, file: url.path, line: line, location: location)
    }

    public var description: String {
        var place = file
        if let line { place += ":\(line)" }
        if let location { place += " (\(location))" }
        return "\(place): \(message)"
    }

    public var message: String {
        switch kind {
        case .unreadable(let why): return "cannot read: \(why)"
        case .unknownFormat(let what): return "unknown dataset file format: \(what)"
        case .malformedJSON(let why): return "malformed JSON: \(why)"
        case .trailingComma: return "malformed JSON: trailing comma"
        case .wrongShape(let why): return "wrong shape: \(why)"
        case .invalidUTF8: return "invalid UTF-8"
        case .lineTooLong(let limit): return "line longer than \(limit) bytes"
        case .fieldCount(let expected, let found): return "expected \(expected) fields (as in the header or the given columns), found \(found)"
        case .unclosedQuote: return "quoted field not closed before the end of the file"
        case .badQuote: return "unexpected character after a closing quote"
        case .truncated(let why): return "truncated Arrow file: \(why)"
        case .badMagic: return "not an Arrow IPC stream or file (bad magic or message header)"
        case .corrupt(let why): return "corrupt Arrow data: \(why)"
        case .unsupported(let what): return "unsupported: \(what)"
        case .missingSplit(let split, let available):
            return "no files for split '\(split)'" + (available.isEmpty ? "" : " (splits found: \(available.joined(separator: ", ")))")
        case .rowOutOfRange(let index, let count): return "row \(index) out of range (\(count) rows)"
        }
    }
}
