import Foundation

/// An Arrow column type this reader decodes.
public indirect enum ArrowType: Sendable, Equatable, CustomStringConvertible {
    case null
    case bool
    case int(bitWidth: Int, signed: Bool)
    /// 16, 32 or 64 bits.
    case float(bitWidth: Int)
    case utf8, largeUtf8
    case binary, largeBinary
    case fixedSizeBinary(Int)
    case list(ArrowField), largeList(ArrowField)
    case fixedSizeList(ArrowField, size: Int)
    case structure([ArrowField])
    /// A map, read as a list of `{key, value}` records.
    case map(ArrowField)
    /// date32/date64/time/timestamp/duration: read as their stored integer (days, ms, or the unit's ticks).
    case temporal(name: String, bitWidth: Int)

    public var description: String {
        switch self {
        case .null: return "null"
        case .bool: return "bool"
        case let .int(bits, signed): return (signed ? "int" : "uint") + "\(bits)"
        case .float(let bits): return bits == 16 ? "halffloat" : bits == 32 ? "float" : "double"
        case .utf8: return "string"
        case .largeUtf8: return "large_string"
        case .binary: return "binary"
        case .largeBinary: return "large_binary"
        case .fixedSizeBinary(let n): return "fixed_size_binary[\(n)]"
        case .list(let f): return "list<\(f.type)>"
        case .largeList(let f): return "large_list<\(f.type)>"
        case let .fixedSizeList(f, size): return "fixed_size_list<\(f.type)>[\(size)]"
        case .structure(let fs): return "struct<" + fs.map { "\($0.name): \($0.type)" }.joined(separator: ", ") + ">"
        case .map(let f): return "map<\(f.type)>"
        case .temporal(let name, _): return name
        }
    }
}

/// A field of an Arrow schema.
public struct ArrowField: Sendable, Equatable {
    public var name: String
    public var nullable: Bool
    public var type: ArrowType
}

/// An Arrow schema: fields and the key/value metadata (where `datasets` keeps its features as `huggingface`).
public struct ArrowSchema: Sendable, Equatable {
    public var fields: [ArrowField]
    public var metadata: [String: String]
}

extension ArrowSchema {
    static let maxDepth = 64

    /// Parses a Schema table of an Arrow message.
    static func parse(_ table: FBTable) throws(ArrowParseError) -> ArrowSchema {
        do {
            if try table.scalar(0, default: Int16(0)) != 0 {
                throw ArrowParseError.unsupported("big-endian Arrow data")
            }
            let fields = try table.tables(1).map { try parseField($0, depth: 0) }
            var metadata: [String: String] = [:]
            for kv in try table.tables(2) {
                if let key = try kv.string(0) { metadata[key] = try kv.string(1) ?? "" }
            }
            return ArrowSchema(fields: fields, metadata: metadata)
        } catch let error as FlatBufferError {
            throw .corrupt("schema: \(error.message)")
        } catch let error as ArrowParseError {
            throw error
        } catch {
            throw .corrupt("schema: \(error)")
        }
    }

    private static func parseField(_ t: FBTable, depth: Int) throws -> ArrowField {
        guard depth < maxDepth else { throw ArrowParseError.corrupt("schema nested deeper than \(maxDepth)") }
        let name = try t.string(0) ?? ""
        let nullable = try t.bool(1)
        let typeType = try t.scalar(2, default: UInt8(0))
        if try t.table(4) != nil { throw ArrowParseError.unsupported("dictionary-encoded column '\(name)'") }
        let children = try t.tables(5).map { try parseField($0, depth: depth + 1) }
        let typeTable = try t.table(3)
        func child(_ what: String) throws -> ArrowField {
            guard children.count == 1 else { throw ArrowParseError.corrupt("\(what) column '\(name)' with \(children.count) children") }
            return children[0]
        }
        let type: ArrowType
        switch typeType {
        case 1: type = .null
        case 2:
            let bits = Int(try typeTable?.scalar(0, default: Int32(0)) ?? 0)
            guard [8, 16, 32, 64].contains(bits) else { throw ArrowParseError.corrupt("int column '\(name)' of \(bits) bits") }
            type = .int(bitWidth: bits, signed: try typeTable?.bool(1) ?? false)
        case 3:
            switch try typeTable?.scalar(0, default: Int16(0)) ?? 0 {
            case 0: type = .float(bitWidth: 16)
            case 1: type = .float(bitWidth: 32)
            case 2: type = .float(bitWidth: 64)
            case let p: throw ArrowParseError.corrupt("float column '\(name)' of precision \(p)")
            }
        case 4: type = .binary
        case 5: type = .utf8
        case 6: type = .bool
        case 7: throw ArrowParseError.unsupported("decimal column '\(name)'")
        case 8:  // Date: unit DAY (int32) or MILLISECOND (int64)
            let unit = try typeTable?.scalar(0, default: Int16(1)) ?? 1
            type = .temporal(name: unit == 0 ? "date32" : "date64", bitWidth: unit == 0 ? 32 : 64)
        case 9:  // Time: bitWidth field 1
            let bits = Int(try typeTable?.scalar(1, default: Int32(32)) ?? 32)
            guard bits == 32 || bits == 64 else { throw ArrowParseError.corrupt("time column '\(name)' of \(bits) bits") }
            type = .temporal(name: "time\(bits)", bitWidth: bits)
        case 10: type = .temporal(name: "timestamp", bitWidth: 64)
        case 11: throw ArrowParseError.unsupported("interval column '\(name)'")
        case 12: type = .list(try child("list"))
        case 13: type = .structure(children)
        case 14: throw ArrowParseError.unsupported("union column '\(name)'")
        case 15:
            let width = Int(try typeTable?.scalar(0, default: Int32(0)) ?? 0)
            guard width >= 0 else { throw ArrowParseError.corrupt("fixed_size_binary column '\(name)' of width \(width)") }
            type = .fixedSizeBinary(width)
        case 16:
            let size = Int(try typeTable?.scalar(0, default: Int32(0)) ?? 0)
            guard size >= 0 else { throw ArrowParseError.corrupt("fixed_size_list column '\(name)' of size \(size)") }
            type = .fixedSizeList(try child("fixed_size_list"), size: size)
        case 17:
            let entries = try child("map")
            guard case .structure(let kv) = entries.type, kv.count == 2 else {
                throw ArrowParseError.corrupt("map column '\(name)' without a key/value struct")
            }
            type = .map(entries)
        case 18: type = .temporal(name: "duration", bitWidth: 64)
        case 19: type = .largeBinary
        case 20: type = .largeUtf8
        case 21: type = .largeList(try child("large_list"))
        case 22: throw ArrowParseError.unsupported("run-end encoded column '\(name)'")
        case 23, 24: throw ArrowParseError.unsupported("binary/string view column '\(name)'")
        case 25, 26: throw ArrowParseError.unsupported("list view column '\(name)'")
        default: throw ArrowParseError.unsupported("Arrow type id \(typeType) in column '\(name)'")
        }
        return ArrowField(name: name, nullable: nullable, type: type)
    }
}

/// A failure parsing Arrow metadata, before the file and place are known.
enum ArrowParseError: Error {
    case corrupt(String)
    case unsupported(String)
    case truncated(String)

    func dataError(_ url: URL, location: String?) -> DataError {
        switch self {
        case .corrupt(let why): return DataError(.corrupt(why), url: url, location: location)
        case .unsupported(let why): return DataError(.unsupported(why), url: url, location: location)
        case .truncated(let why): return DataError(.truncated(why), url: url, location: location)
        }
    }
}
