import Foundation
import OPTSupport

/// JSON parsing that accepts what real task files contain: Super-NaturalInstructions has files with
/// `"URL": [NaN]` (Python's json wrote them), which strict JSON parsers reject.
enum LenientJSON {
    /// Parses `data` as JSON after turning the bare words NaN, Infinity and -Infinity outside strings into null.
    static func object(from data: Data, path: String, line: Int? = nil) throws -> Any {
        // Strict JSON first: the rewrite costs a pass over the bytes, and most files do not need it.
        if let value = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) { return value }
        do {
            return try JSONSerialization.jsonObject(with: replacingNonFiniteNumbers(data), options: [.fragmentsAllowed])
        } catch {
            throw BenchError.malformedFile(path: path, line: line, reason: FileProblem.reason(error))
        }
    }

    static func replacingNonFiniteNumbers(_ data: Data) -> Data {
        let bytes = [UInt8](data)
        let words = ["-Infinity", "Infinity", "NaN"].map { Array($0.utf8) }
        var out = [UInt8]()
        out.reserveCapacity(bytes.count)
        var index = 0, inString = false
        while index < bytes.count {
            let byte = bytes[index]
            if inString {
                if byte == UInt8(ascii: "\\"), index + 1 < bytes.count {
                    out += bytes[index...index + 1]
                    index += 2
                    continue
                }
                inString = byte != UInt8(ascii: "\"")
            } else if byte == UInt8(ascii: "\"") {
                inString = true
            } else if let word = words.first(where: { bytes[index...].starts(with: $0) }) {
                out += Array("null".utf8)
                index += word.count
                continue
            }
            out.append(byte)
            index += 1
        }
        return Data(out)
    }

}

/// Typed reads from a parsed JSON object, with errors naming the file and key.
struct JSONFields {
    let object: [String: Any]
    let path: String

    init(_ value: Any, path: String, what: String = "the file") throws {
        guard let object = value as? [String: Any] else { throw BenchError.wrongType(path: path, key: what, expected: "a JSON object") }
        self.object = object
        self.path = path
    }

    func has(_ key: String) -> Bool { object[key] != nil && !(object[key] is NSNull) }

    func string(_ key: String) throws -> String {
        guard let value = object[key], !(value is NSNull) else { throw BenchError.missingKey(path: path, key: key) }
        guard let string = value as? String else { throw BenchError.wrongType(path: path, key: key, expected: "a string") }
        return string
    }

    func optionalString(_ key: String) throws -> String? { has(key) ? try string(key) : nil }

    /// A list of strings; a single string counts as a list of one (older Super-NI files), null entries are dropped.
    func strings(_ key: String, required: Bool = false) throws -> [String] {
        guard let value = object[key], !(value is NSNull) else {
            if required { throw BenchError.missingKey(path: path, key: key) }
            return []
        }
        if let string = value as? String { return [string] }
        guard let list = value as? [Any] else { throw BenchError.wrongType(path: path, key: key, expected: "a string or a list of strings") }
        return try list.compactMap { element in
            if element is NSNull { return nil }
            guard let string = element as? String else {
                throw BenchError.wrongType(path: path, key: key, expected: "a string or a list of strings")
            }
            return string
        }
    }

    /// An instance's optional `id`, with errors naming the instance.
    func instanceID(location: String) throws -> String? {
        guard has("id") else { return nil }
        guard let id = object["id"] as? String else { throw BenchError.wrongType(path: path, key: "\(location).id", expected: "a string") }
        return id
    }

    /// Optional answer options: when present, at least two, all strings.
    func options(_ key: String, location: String) throws -> [String]? {
        guard has(key) else { return nil }
        let options = try strings(key)
        guard options.count >= 2 else {
            throw BenchError.wrongType(path: path, key: "\(location).\(key)", expected: "a list of at least two answer options")
        }
        return options
    }

    func objects(_ key: String, required: Bool = false) throws -> [Any] {
        guard let value = object[key], !(value is NSNull) else {
            if required { throw BenchError.missingKey(path: path, key: key) }
            return []
        }
        guard let list = value as? [Any] else { throw BenchError.wrongType(path: path, key: key, expected: "a list") }
        return list
    }
}

extension String {
    /// Empty or only whitespace (a cheap check run on every output read).
    var isBlank: Bool { unicodeScalars.allSatisfy(\.properties.isWhitespace) }
}
