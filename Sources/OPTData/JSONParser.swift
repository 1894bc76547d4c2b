import Foundation

/// A failure of `JSONParser`: what, and the byte offset in the parsed text.
struct JSONSyntaxError: Error, Sendable {
    var message: String
    var offset: Int
    var trailingComma = false

    /// The `DataError` of this failure in `file`, at `line` (whose text starts at byte `lineStart` of the input).
    func dataError(file: String, line: Int? = nil, text: UnsafeBufferPointer<UInt8>? = nil) -> DataError {
        if trailingComma { return DataError(.trailingComma, file: file, line: line, location: "byte \(offset + 1)") }
        if message == "invalid UTF-8" { return DataError(.invalidUTF8, file: file, line: line, location: "byte \(offset + 1)") }
        return DataError(.malformedJSON("\(message) at byte \(offset + 1)"), file: file, line: line)
    }
}

/// A strict JSON parser (RFC 8259) that keeps what Python's `json` keeps:
/// integers apart from floats, the key order of objects (a repeated key keeps its first place and its last
/// value, as a Python dict does), and accepts `NaN`, `Infinity` and `-Infinity` as Python does.
/// It rejects trailing commas, control characters in strings, invalid UTF-8 and anything after the value.
/// Nesting is limited (`maxDepth`) so hostile input cannot overflow the stack.
struct JSONParser {
    static let maxDepth = 512

    private let bytes: UnsafeBufferPointer<UInt8>
    private var pos = 0
    private var depth = 0

    private init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    /// Parses one complete JSON value (surrounding whitespace allowed) from `bytes`.
    static func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws(JSONSyntaxError) -> DatasetValue {
        var parser = JSONParser(bytes)
        // A UTF-8 byte order mark, as Python's json tolerates from files opened with utf-8-sig.
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { parser.pos = 3 }
        parser.skipSpace()
        let value = try parser.value()
        parser.skipSpace()
        if parser.pos != bytes.count { throw parser.fail("extra data after the value") }
        return value
    }

    static func parse(_ data: [UInt8]) throws(JSONSyntaxError) -> DatasetValue {
        do {
            return try data.withUnsafeBufferPointer { try parse($0) }
        } catch let error as JSONSyntaxError {
            throw error
        } catch {
            throw JSONSyntaxError(message: "\(error)", offset: 0)
        }
    }

    /// Whether `bytes` is only JSON whitespace.
    static func isBlank(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        bytes.allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }
    }

    private func fail(_ message: String, at offset: Int? = nil) -> JSONSyntaxError {
        JSONSyntaxError(message: message, offset: offset ?? pos)
    }

    private var peek: UInt8? { pos < bytes.count ? bytes[pos] : nil }

    private mutating func skipSpace() {
        while pos < bytes.count {
            switch bytes[pos] {
            case 0x20, 0x09, 0x0A, 0x0D: pos += 1
            default: return
            }
        }
    }

    private mutating func value() throws(JSONSyntaxError) -> DatasetValue {
        guard let c = peek else { throw fail("unexpected end of input") }
        switch c {
        case UInt8(ascii: "{"): return try object()
        case UInt8(ascii: "["): return try array()
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "N"): try literal("NaN"); return .double(.nan)
        case UInt8(ascii: "I"): try literal("Infinity"); return .double(.infinity)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default: throw fail("unexpected character '\(Self.printable(c))'")
        }
    }

    private static func printable(_ c: UInt8) -> String {
        c >= 0x20 && c < 0x7F ? String(UnicodeScalar(c)) : String(format: "\\x%02x", c)
    }

    private mutating func literal(_ word: StaticString) throws(JSONSyntaxError) {
        let start = pos
        let n = word.utf8CodeUnitCount
        guard bytes.count - pos >= n else { throw fail("invalid literal", at: start) }
        let w = word.utf8Start
        for i in 0..<n where bytes[pos + i] != w[i] { throw fail("invalid literal", at: start) }
        pos += n
    }

    private mutating func enter() throws(JSONSyntaxError) {
        depth += 1
        if depth > Self.maxDepth { throw fail("nesting deeper than \(Self.maxDepth)") }
    }

    private mutating func object() throws(JSONSyntaxError) -> DatasetValue {
        try enter()
        defer { depth -= 1 }
        pos += 1  // {
        var fields: [DatasetRow.Field] = []
        var index: [String: Int]? = nil
        skipSpace()
        if peek == UInt8(ascii: "}") { pos += 1; return .record(DatasetRow(fields)) }
        while true {
            skipSpace()
            guard peek == UInt8(ascii: "\"") else {
                if peek == UInt8(ascii: "}") && !fields.isEmpty {
                    var e = fail("trailing comma"); e.trailingComma = true; throw e
                }
                throw peek == nil ? fail("unexpected end of input") : fail("expected a string key")
            }
            let key = try string()
            skipSpace()
            guard peek == UInt8(ascii: ":") else { throw fail("expected ':'") }
            pos += 1
            skipSpace()
            let v = try value()
            // Python's dict: a repeated key keeps its place and takes the last value.
            if fields.count >= 16 && index == nil {
                var built: [String: Int] = [:]
                for (i, f) in fields.enumerated() where built[f.key] == nil { built[f.key] = i }
                index = built
            }
            if let idx = index {
                if let at = idx[key] { fields[at].value = v } else { index![key] = fields.count; fields.append((key, v)) }
            } else if let at = fields.firstIndex(where: { $0.key == key }) {
                fields[at].value = v
            } else {
                fields.append((key, v))
            }
            skipSpace()
            guard let c = peek else { throw fail("unexpected end of input") }
            pos += 1
            if c == UInt8(ascii: "}") { return .record(DatasetRow(fields)) }
            if c != UInt8(ascii: ",") { throw fail("expected ',' or '}'", at: pos - 1) }
        }
    }

    private mutating func array() throws(JSONSyntaxError) -> DatasetValue {
        try enter()
        defer { depth -= 1 }
        pos += 1  // [
        var items: [DatasetValue] = []
        skipSpace()
        if peek == UInt8(ascii: "]") { pos += 1; return .list(items) }
        while true {
            skipSpace()
            if peek == UInt8(ascii: "]") && !items.isEmpty {
                var e = fail("trailing comma"); e.trailingComma = true; throw e
            }
            items.append(try value())
            skipSpace()
            guard let c = peek else { throw fail("unexpected end of input") }
            pos += 1
            if c == UInt8(ascii: "]") { return .list(items) }
            if c != UInt8(ascii: ",") { throw fail("expected ',' or ']'", at: pos - 1) }
        }
    }

    private mutating func number() throws(JSONSyntaxError) -> DatasetValue {
        let start = pos
        var isFloat = false
        if peek == UInt8(ascii: "-") {
            pos += 1
            if peek == UInt8(ascii: "I") { try literal("Infinity"); return .double(-.infinity) }
        }
        guard let first = peek, first >= 0x30, first <= 0x39 else { throw fail("invalid number", at: start) }
        pos += 1
        if first != 0x30 { digits() }
        if peek == UInt8(ascii: ".") {
            isFloat = true
            pos += 1
            guard digits() > 0 else { throw fail("invalid number", at: start) }
        }
        if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
            isFloat = true
            pos += 1
            if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { pos += 1 }
            guard digits() > 0 else { throw fail("invalid number", at: start) }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<pos]), as: UTF8.self)
        if !isFloat, let i = Int64(text) { return .int(i) }
        guard let d = Double(text) else { throw fail("invalid number", at: start) }
        return .double(d)
    }

    @discardableResult
    private mutating func digits() -> Int {
        let start = pos
        while pos < bytes.count, bytes[pos] >= 0x30, bytes[pos] <= 0x39 { pos += 1 }
        return pos - start
    }

    private mutating func string() throws(JSONSyntaxError) -> String {
        let start = pos
        pos += 1  // "
        // Fast path: no escapes.
        var scan = pos
        var ascii = true
        while scan < bytes.count {
            let c = bytes[scan]
            if c == UInt8(ascii: "\"") {
                let slice = UnsafeBufferPointer(rebasing: bytes[pos..<scan])
                let s: String
                if ascii {
                    s = String(decoding: slice, as: UTF8.self)
                } else {
                    guard let v = validUTF8(slice) else { throw fail("invalid UTF-8") }
                    s = v
                }
                pos = scan + 1
                return s
            }
            if c == UInt8(ascii: "\\") { break }
            if c < 0x20 { throw fail("control character in a string", at: scan) }
            if c >= 0x80 { ascii = false }
            scan += 1
        }
        if scan >= bytes.count { throw fail("unterminated string", at: start) }
        // Slow path with escapes.
        var out: [UInt8] = Array(UnsafeBufferPointer(rebasing: bytes[pos..<scan]))
        pos = scan
        while true {
            guard pos < bytes.count else { throw fail("unterminated string", at: start) }
            let c = bytes[pos]
            if c == UInt8(ascii: "\"") {
                pos += 1
                guard let s = validUTF8(out) else { throw fail("invalid UTF-8") }
                return s
            }
            if c < 0x20 { throw fail("control character in a string") }
            if c != UInt8(ascii: "\\") { out.append(c); pos += 1; continue }
            pos += 1
            guard pos < bytes.count else { throw fail("unterminated string", at: start) }
            let e = bytes[pos]
            pos += 1
            switch e {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "/"): out.append(0x2F)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var code = try hex4()
                if (0xD800..<0xDC00).contains(code), bytes.count - pos >= 6,
                   bytes[pos] == UInt8(ascii: "\\"), bytes[pos + 1] == UInt8(ascii: "u") {
                    let save = pos
                    pos += 2
                    let low = try hex4()
                    if (0xDC00..<0xE000).contains(low) {
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    } else {
                        pos = save
                    }
                }
                // A lone surrogate (Python keeps it; a Swift String cannot) becomes U+FFFD.
                let scalar = UnicodeScalar(code) ?? "\u{FFFD}"
                out.append(contentsOf: Array(String(Character(scalar)).utf8))
            default:
                throw fail("invalid escape", at: pos - 2)
            }
        }
    }

    private mutating func hex4() throws(JSONSyntaxError) -> UInt32 {
        guard bytes.count - pos >= 4 else { throw fail("invalid \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[pos]
            let d: UInt32
            switch c {
            case 0x30...0x39: d = UInt32(c - 0x30)
            case 0x41...0x46: d = UInt32(c - 0x41 + 10)
            case 0x61...0x66: d = UInt32(c - 0x61 + 10)
            default: throw fail("invalid \\u escape")
            }
            v = v << 4 | d
            pos += 1
        }
        return v
    }
}
