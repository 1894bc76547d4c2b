import Foundation

/// Text files read whole as UTF-8, with a reason a user can act on when that fails.
public enum UTF8File {
    public struct Problem: Error, CustomStringConvertible {
        /// The system's word for a file it cannot read, or where the text stops being UTF-8.
        public let reason: String
        public var description: String { reason }
    }

    /// The text of the file at `url`.
    public static func read(_ url: URL) throws(Problem) -> String {
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw Problem(reason: FileProblem.reason(error)) }
        if let text = String(data: data, encoding: .utf8) { return text }
        var bytes = data.makeIterator(), decoder = UTF8(), offset = 0
        while case .scalarValue(let scalar) = decoder.decode(&bytes) { offset += UTF8.width(scalar) }
        throw Problem(reason: "not UTF-8 text (an invalid byte sequence at offset \(offset))")
    }
}
