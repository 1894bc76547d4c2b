import Foundation

/// Why a JSON Lines file could not be read: the file, and the 1-based line where a line is at fault.
public enum JSONLinesError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file could not be opened or read.
    case unreadable(file: String, reason: String)
    /// A line is not what the reader expects (not JSON, not the record's shape, too long).
    case malformedLine(file: String, line: Int, reason: String)
    /// A line runs past the reader's limit (a file without line ends would otherwise fill memory).
    case lineTooLong(file: String, line: Int, limit: Int)

    public var description: String {
        switch self {
        case let .unreadable(file, reason): "\(file): cannot read it (\(reason))"
        case let .malformedLine(file, line, reason): "\(file):\(line): \(reason)"
        case let .lineTooLong(file, line, limit): "\(file):\(line): line longer than \(limit) bytes"
        }
    }
}

/// The lines of a JSON Lines file with their 1-based numbers. Opened on a file, it reads a chunk at a time and
/// holds one line (plus a chunk) in memory, so a file of any size streams; over bytes already in memory (a file
/// that must be hashed or copied whole anyway) it splits them the same way.
public final class JSONLinesReader {
    /// What ends a line.
    public enum Newlines: Sendable {
        /// `\n` alone, as most writers and readers of JSON Lines (a `\r` before it is JSON white space).
        case lineFeed
        /// `\n`, `\r\n` or a lone `\r`: Python's universal newlines, as `for line in open(path)` reads.
        case universal
    }

    /// The path errors name.
    public let file: String
    private let newlines: Newlines
    private let lineLimit: Int?
    private let handle: FileHandle?
    private var buffer: [UInt8]
    /// First byte of `buffer` not yet returned.
    private var start = 0
    private var atEnd: Bool
    /// Number of the last line returned.
    private var number = 0

    static let chunkSize = 1 << 16

    /// Streams the file at `url`; a line longer than `lineLimit` bytes (nil: no limit) is an error, so that a
    /// file without newlines cannot take all memory.
    public init(url: URL, newlines: Newlines = .lineFeed, lineLimit: Int? = nil) throws(JSONLinesError) {
        file = url.path
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw .unreadable(file: url.path, reason: "it is a folder")
        }
        do { handle = try FileHandle(forReadingFrom: url) } catch {
            throw .unreadable(file: url.path, reason: error.localizedDescription)
        }
        self.newlines = newlines
        self.lineLimit = lineLimit
        buffer = []
        atEnd = false
    }

    /// Splits `data`, read from `file`.
    public init(data: Data, file: String, newlines: Newlines = .lineFeed) {
        self.file = file
        self.newlines = newlines
        lineLimit = nil
        handle = nil
        buffer = [UInt8](data)
        atEnd = true
    }

    deinit { try? handle?.close() }

    /// The next line, without its line end, and its number; nil after the last. A last line without a line end
    /// counts; the empty "line" after a final line end does not.
    public func next() throws(JSONLinesError) -> (number: Int, bytes: ArraySlice<UInt8>)? {
        // Bytes after `start` known to hold no line end (offsets survive `fill`, which moves the buffer).
        var scanned = 0
        while true {
            if let end = buffer[(start + scanned)...].firstIndex(where: { $0 == 0x0A || (newlines == .universal && $0 == 0x0D) }) {
                // A `\r` at the end of the buffer may be the first half of `\r\n`: read on before deciding.
                if buffer[end] == 0x0D && end + 1 == buffer.count && !atEnd {
                    scanned = end - start
                    try fill()
                    continue
                }
                let line = try take(upTo: end)
                start = end + (buffer[end] == 0x0D && end + 1 < buffer.count && buffer[end + 1] == 0x0A ? 2 : 1)
                return line
            }
            if let lineLimit, buffer.count - start > lineLimit {
                throw .lineTooLong(file: file, line: number + 1, limit: lineLimit)
            }
            if atEnd {
                guard start < buffer.count else { return nil }
                let line = try take(upTo: buffer.count)
                start = buffer.count
                return line
            }
            scanned = buffer.count - start
            try fill()
        }
    }

    /// Decodes one line as `T`; a failure names the file and the line.
    public func decode<T: Decodable>(_ type: T.Type, from line: (number: Int, bytes: ArraySlice<UInt8>),
                                     with decoder: JSONDecoder = JSONDecoder()) throws(JSONLinesError) -> T {
        let data = Data(line.bytes)
        do { return try decoder.decode(type, from: data) } catch {
            throw .malformedLine(file: file, line: line.number, reason: DecodingProblem.describe(error, json: data))
        }
    }

    /// Lines of nothing but spaces, tabs and carriage returns, which most readers pass over.
    public static func isBlank(_ bytes: ArraySlice<UInt8>) -> Bool {
        bytes.allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }
    }

    private func take(upTo end: Int) throws(JSONLinesError) -> (number: Int, bytes: ArraySlice<UInt8>) {
        number += 1
        if let lineLimit, end - start > lineLimit {
            throw .lineTooLong(file: file, line: number, limit: lineLimit)
        }
        return (number, buffer[start..<end])
    }

    /// Reads one more chunk, first dropping the lines already returned once they fill half the buffer.
    private func fill() throws(JSONLinesError) {
        guard let handle, !atEnd else { return }
        if start > 0 && start >= buffer.count / 2 {
            buffer.removeFirst(start)
            start = 0
        }
        let chunk: Data?
        do { chunk = try handle.read(upToCount: Self.chunkSize) } catch {
            throw .unreadable(file: file, reason: error.localizedDescription)
        }
        guard let chunk, !chunk.isEmpty else {
            atEnd = true
            return
        }
        buffer.append(contentsOf: chunk)
    }
}
