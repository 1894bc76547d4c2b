import Foundation
import OPTSupport

/// One value of a dataset row, as JSON or Arrow hold it.
///
/// - Integers stay `.int` and floating-point numbers `.double` (JSON `1` and `1.0` differ, as in Python).
///   A JSON integer beyond `Int64` and an Arrow `uint64` above `Int64.max` become `.double`.
/// - Objects and Arrow structs are `.record`, keeping their key order.
/// - Arrow `binary` values are `.bytes`; JSON and CSV never produce them.
/// - Equality is structural, except that two NaN doubles compare equal (so rows read twice are equal).
public indirect enum DatasetValue: Sendable, Equatable, CustomStringConvertible {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case bytes([UInt8])
    case list([DatasetValue])
    case record(DatasetRow)

    public static func == (lhs: DatasetValue, rhs: DatasetValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case let (.bool(a), .bool(b)): return a == b
        case let (.int(a), .int(b)): return a == b
        case let (.double(a), .double(b)): return a == b || (a.isNaN && b.isNaN)
        case let (.string(a), .string(b)): return a == b
        case let (.bytes(a), .bytes(b)): return a == b
        case let (.list(a), .list(b)): return a == b
        case let (.record(a), .record(b)): return a == b
        default: return false
        }
    }

    public var isNull: Bool { if case .null = self { return true } else { return false } }
    public var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }
    public var intValue: Int64? { if case .int(let i) = self { return i } else { return nil } }
    /// `.double`, or `.int` converted.
    public var doubleValue: Double? {
        switch self {
        case .double(let d): return d
        case .int(let i): return Double(i)
        default: return nil
        }
    }
    public var boolValue: Bool? { if case .bool(let b) = self { return b } else { return nil } }
    public var listValue: [DatasetValue]? { if case .list(let l) = self { return l } else { return nil } }
    public var recordValue: DatasetRow? { if case .record(let r) = self { return r } else { return nil } }

    /// Field `key` of a record (nil for other values or a missing key).
    public subscript(key: String) -> DatasetValue? { recordValue?[key] }

    /// A compact JSON-like rendering (Python-ish: NaN, Infinity); bytes as `b"hex"`.
    public var description: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .double(let d):
            if d.isNaN { return "NaN" }
            if d.isInfinite { return d < 0 ? "-Infinity" : "Infinity" }
            if d == d.rounded(), abs(d) < 1e16 { return String(format: "%.1f", d) }
            return "\(d)"
        case .string(let s): return Self.quote(s)
        case .bytes(let b): return "b\"" + b.map { String(format: "%02x", $0) }.joined() + "\""
        case .list(let l): return "[" + l.map(\.description).joined(separator: ", ") + "]"
        case .record(let r): return r.description
        }
    }

    static func quote(_ s: String) -> String { JSONText.quoted(s) }
}

/// A row (or a record value): named fields in their stored order.
public struct DatasetRow: Sendable, Equatable, CustomStringConvertible, RandomAccessCollection, ExpressibleByDictionaryLiteral {
    public typealias Field = (key: String, value: DatasetValue)
    public var fields: [Field]

    public init(_ fields: [Field] = []) { self.fields = fields }
    public init(dictionaryLiteral elements: (String, DatasetValue)...) {
        fields = elements.map { (key: $0.0, value: $0.1) }
    }

    public var startIndex: Int { fields.startIndex }
    public var endIndex: Int { fields.endIndex }
    public subscript(position: Int) -> Field { fields[position] }

    public var keys: [String] { fields.map(\.key) }
    public var values: [DatasetValue] { fields.map(\.value) }

    /// The value of the first field named `key`.
    public subscript(key: String) -> DatasetValue? {
        get { fields.first { $0.key == key }?.value }
        set {
            if let index = fields.firstIndex(where: { $0.key == key }) {
                if let newValue { fields[index].value = newValue } else { fields.remove(at: index) }
            } else if let newValue {
                fields.append((key: key, value: newValue))
            }
        }
    }

    /// Order-sensitive equality of keys and values.
    public static func == (lhs: DatasetRow, rhs: DatasetRow) -> Bool {
        lhs.fields.count == rhs.fields.count
            && zip(lhs.fields, rhs.fields).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }

    public var description: String {
        "{" + fields.map { DatasetValue.quote($0.key) + ": " + $0.value.description }.joined(separator: ", ") + "}"
    }
}
