import Foundation
import OPTSupport

/// A parsed JSON value, keeping integers apart from other numbers.
enum JSONValue: Decodable, Sendable {
    case null
    case bool(Bool)
    case integer(Int)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int.self) {
            self = .integer(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    /// The JSON type's name, for error messages.
    var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .integer, .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}

/// Reading JSON Lines the way `for line in open(path): json.loads(line)` does: lines end at `\n`,
/// `\r\n` or a lone `\r` (Python's universal newlines), each line is one JSON value, and a blank
/// line is an error (`json.loads` rejects it).
enum JSONLines {
    /// The objects of `data`, each with its 1-based line number.
    static func objects(_ data: Data, file: String) throws -> [(line: Int, object: [String: JSONValue])] {
        if data.starts(with: [0xEF, 0xBB, 0xBF]) {
            throw SuperNIEvaluationError.malformedJSON(file: file, line: 1, reason: "unexpected UTF-8 byte order mark")
        }
        var records: [(line: Int, object: [String: JSONValue])] = []
        let decoder = JSONDecoder()
        let lines = JSONLinesReader(data: data, file: file, newlines: .universal)
        while let (lineNumber, slice) = try lines.next() {
            guard String(decoding: slice, as: UTF8.self).utf8.elementsEqual(slice) else {
                throw SuperNIEvaluationError.invalidUTF8(file: file, line: lineNumber)
            }
            guard slice.contains(where: { $0 != 0x20 && $0 != 0x09 }) else {
                throw SuperNIEvaluationError.malformedJSON(file: file, line: lineNumber, reason: "blank line (expected a JSON object)")
            }
            let value: JSONValue
            do {
                value = try decoder.decode(JSONValue.self, from: Data(slice))
            } catch {
                throw SuperNIEvaluationError.malformedJSON(file: file, line: lineNumber, reason: DecodingProblem.describe(error))
            }
            guard case .object(let object) = value else {
                throw SuperNIEvaluationError.malformedJSON(file: file, line: lineNumber, reason: "expected a JSON object, found \(value.typeName)")
            }
            records.append((lineNumber, object))
        }
        return records
    }
}
