#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

func powDouble(_ a: Double, _ b: Double) -> Double { pow(a, b) }

/// Python's `repr(float)`: the shortest round-tripping digits, exponent form below 1e-4 and from 1e16.
func pyFloatRepr(_ d: Double) -> String {
    if d.isNaN { return "nan" }
    if d.isInfinite { return d < 0 ? "-inf" : "inf" }
    if d == 0 { return d.sign == .minus ? "-0.0" : "0.0" }
    // Swift's description already has the shortest digits; only the layout differs from Python's.
    var text = d.description
    var negative = false
    if text.hasPrefix("-") {
        negative = true
        text.removeFirst()
    }
    var mantissa = text
    var exponent = 0
    if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
        mantissa = String(text[..<e])
        exponent = Int(text[text.index(after: e)...]) ?? 0
    }
    var digits = ""
    var pointPosition = 0
    if let dot = mantissa.firstIndex(of: ".") {
        let intPart = mantissa[..<dot]
        digits = String(intPart) + mantissa[mantissa.index(after: dot)...]
        pointPosition = intPart.count
    } else {
        digits = mantissa
        pointPosition = mantissa.count
    }
    // Normalize to 0.DIGITS × 10^decpt with no leading or trailing zeros.
    var decpt = pointPosition + exponent
    while digits.hasPrefix("0") && digits.count > 1 {
        digits.removeFirst()
        decpt -= 1
    }
    while digits.hasSuffix("0") && digits.count > 1 { digits.removeLast() }
    var out = negative ? "-" : ""
    if decpt <= -4 || decpt > 16 {
        let e = decpt - 1
        out += String(digits.first!)
        if digits.count > 1 { out += "." + digits.dropFirst() }
        out += e < 0 ? "e-" : "e+"
        let magnitude = String(abs(e))
        out += magnitude.count < 2 ? "0" + magnitude : magnitude
    } else if decpt <= 0 {
        out += "0." + String(repeating: "0", count: -decpt) + digits
    } else if decpt >= digits.count {
        out += digits + String(repeating: "0", count: decpt - digits.count) + ".0"
    } else {
        let i = digits.index(digits.startIndex, offsetBy: decpt)
        out += digits[..<i] + "." + digits[i...]
    }
    return out
}

/// Python's `str.isprintable` for one character, which decides what `repr` escapes.
func pyIsPrintable(_ c: Unicode.Scalar) -> Bool {
    if c == " " { return true }
    switch c.properties.generalCategory {
    case .control, .format, .surrogate, .privateUse, .unassigned, .lineSeparator, .paragraphSeparator, .spaceSeparator:
        return false
    default:
        return true
    }
}

func hexDigits(_ v: UInt32, width: Int) -> String {
    let h = String(v, radix: 16)
    return String(repeating: "0", count: max(0, width - h.count)) + h
}

/// Python's `repr(str)`.
func pyStringRepr(_ s: String) -> String {
    let quote: Unicode.Scalar = (s.utf8.contains(UInt8(ascii: "'")) && !s.utf8.contains(UInt8(ascii: "\""))) ? "\"" : "'"
    var out = String.UnicodeScalarView()
    out.append(quote)
    for c in s.unicodeScalars {
        switch c {
        case quote, "\\":
            out.append("\\")
            out.append(c)
        case "\t": out.append(contentsOf: "\\t".unicodeScalars)
        case "\n": out.append(contentsOf: "\\n".unicodeScalars)
        case "\r": out.append(contentsOf: "\\r".unicodeScalars)
        default:
            if c.value < 0x20 || c.value == 0x7F {
                out.append(contentsOf: ("\\x" + hexDigits(c.value, width: 2)).unicodeScalars)
            } else if c.value < 0x7F || pyIsPrintable(c) {
                out.append(c)
            } else if c.value <= 0xFF {
                out.append(contentsOf: ("\\x" + hexDigits(c.value, width: 2)).unicodeScalars)
            } else if c.value <= 0xFFFF {
                out.append(contentsOf: ("\\u" + hexDigits(c.value, width: 4)).unicodeScalars)
            } else {
                out.append(contentsOf: ("\\U" + hexDigits(c.value, width: 8)).unicodeScalars)
            }
        }
    }
    out.append(quote)
    return String(out)
}

/// Containers nested deeper than this print as `...`, so self-containing lists cannot recurse forever.
let maxReprDepth = 64

extension TemplateValue {
    /// Python's `str()` of the value, which is what `{{ x }}` prints.
    var pyStr: String {
        switch self {
        case .string(let s): return s
        case .undefined: return ""
        default: return pyRepr
        }
    }

    /// Python's `repr()`, used inside containers.
    var pyRepr: String {
        var out = ""
        appendRepr(to: &out, depth: 0)
        return out
    }

    /// `repr` that sees a render's private copies of mutated caller containers.
    func appendRepr(to out: inout String, depth: Int, resolve: ((TemplateValue) -> TemplateValue)? = nil) {
        if let resolve {
            let resolved = resolve(self)
            resolved.appendReprResolved(to: &out, depth: depth, resolve: resolve)
        } else {
            appendReprResolved(to: &out, depth: depth, resolve: nil)
        }
    }

    private func appendReprResolved(to out: inout String, depth: Int, resolve: ((TemplateValue) -> TemplateValue)?) {
        if depth > maxReprDepth {
            out += "..."
            return
        }
        switch self {
        case .undefined: out += "Undefined"
        case .none: out += "None"
        case .bool(let b): out += b ? "True" : "False"
        case .int(let i): out += String(i)
        case .double(let d): out += pyFloatRepr(d)
        case .string(let s): out += pyStringRepr(s)
        case .list(let l):
            out += "["
            for (i, item) in l.items.enumerated() {
                if i > 0 { out += ", " }
                item.appendRepr(to: &out, depth: depth + 1, resolve: resolve)
            }
            out += "]"
        case .tuple(let items):
            out += "("
            for (i, item) in items.enumerated() {
                if i > 0 { out += ", " }
                item.appendRepr(to: &out, depth: depth + 1, resolve: resolve)
            }
            out += items.count == 1 ? ",)" : ")"
        case .dict(let d):
            appendDictRepr(d, to: &out, depth: depth, resolve: resolve)
        case .object(let o):
            switch o.kind {
            case .builtin(let b): out += "<built-in function \(b.rawValue)>"
            case .method(let receiver, let name): out += "<built-in method \(name) of \(receiver.typeName) object>"
            case .loop(let state):
                let length = state.condition == nil ? String(state.items.count) : state.exhausted ? String(state.index0 + 1 + state.pendingAhead) : "?"
                out += "<LoopContext \(state.index0 + 1)/\(length)>"
            case .namespace(let d):
                out += "<Namespace "
                appendDictRepr(d, to: &out, depth: depth, resolve: resolve)
                out += ">"
            }
        }
    }

    private func appendDictRepr(_ d: TemplateDict, to out: inout String, depth: Int, resolve: ((TemplateValue) -> TemplateValue)?) {
        out += "{"
        for i in 0..<d.keys.count {
            if i > 0 { out += ", " }
            d.keys[i].appendRepr(to: &out, depth: depth + 1, resolve: resolve)
            out += ": "
            d.values[i].appendRepr(to: &out, depth: depth + 1, resolve: resolve)
        }
        out += "}"
    }
}

// MARK: printf-style formatting (`"%s" % x` and the `format` filter)

/// C's `snprintf` for one double, which rounds exactly as CPython's formatting does.
func cFormat(_ spec: String, _ value: Double) -> String {
    var buffer = [CChar](repeating: 0, count: 512)
    let n = withVaList([value]) { args in
        buffer.withUnsafeMutableBufferPointer { vsnprintf($0.baseAddress, 512, spec, args) }
    }
    if n >= 512 || n < 0 {
        return pyFloatRepr(value)
    }
    let bytes = buffer[0..<Int(n)].map { UInt8(bitPattern: $0) }
    return String(decoding: bytes, as: UTF8.self)
}

/// Python's float formatting for one conversion: fixed, exponent, general and percent forms.
func formatDouble(_ value: Double, type: Character, precision: Int?) -> String {
    if value.isNaN { return type.isUppercase ? "NAN" : "nan" }
    if value.isInfinite { return (value < 0 ? "-" : "") + (type.isUppercase ? "INF" : "inf") }
    let p = min(precision ?? 6, 120)
    switch type {
    case "f", "F": return cFormat("%.\(p)f", value)
    case "e", "E": return cFormat("%.\(p)\(type)", value)
    case "g", "G": return cFormat("%.\(p)\(type)", value)
    case "%": return cFormat("%.\(p)f", value * 100) + "%"
    default: return pyFloatRepr(value)
    }
}

func pad(_ s: String, width: Int, align: Character, fill: Character = " ") -> String {
    let length = s.unicodeScalars.count
    guard width > length else { return s }
    let padding = width - length
    switch align {
    case "<": return s + String(repeating: fill, count: padding)
    case "^":
        let left = padding / 2
        return String(repeating: fill, count: left) + s + String(repeating: fill, count: padding - left)
    default: return String(repeating: fill, count: padding) + s
    }
}

/// Python's `str % args` (printf-style).
func pyPercentFormat(_ format: String, _ args: TemplateValue) throws(Failure) -> String {
    var positional: [TemplateValue]
    var mapping: TemplateDict? = nil
    switch args {
    case .tuple(let items): positional = items
    case .dict(let d):
        positional = [args]
        mapping = d
    default: positional = [args]
    }
    var argIndex = 0
    var out = String.UnicodeScalarView()
    let s = Array(format.unicodeScalars)
    var i = 0
    var usedMapping = false
    while i < s.count {
        let c = s[i]
        if c != "%" {
            out.append(c)
            i += 1
            continue
        }
        i += 1
        guard i < s.count else { throw Failure(.value, "incomplete format") }
        var key: String? = nil
        if s[i] == "(" {
            var j = i + 1
            var depth = 1
            while j < s.count {
                if s[j] == "(" { depth += 1 }
                if s[j] == ")" { depth -= 1; if depth == 0 { break } }
                j += 1
            }
            guard j < s.count else { throw Failure(.value, "incomplete format key") }
            var k = String.UnicodeScalarView()
            k.append(contentsOf: s[(i + 1)..<j])
            key = String(k)
            i = j + 1
        }
        var flags = Set<Unicode.Scalar>()
        while i < s.count, "-+ #0".unicodeScalars.contains(s[i]) {
            flags.insert(s[i])
            i += 1
        }
        var width = 0
        while i < s.count, s[i].value >= 0x30, s[i].value <= 0x39 {
            width = min(width * 10 + Int(s[i].value - 0x30), 10_000)
            i += 1
        }
        var precision: Int? = nil
        if i < s.count, s[i] == "." {
            i += 1
            var p = 0
            while i < s.count, s[i].value >= 0x30, s[i].value <= 0x39 {
                p = min(p * 10 + Int(s[i].value - 0x30), 10_000)
                i += 1
            }
            precision = p
        }
        while i < s.count, "hlL".unicodeScalars.contains(s[i]) { i += 1 }
        guard i < s.count else { throw Failure(.value, "incomplete format") }
        let conversion = Character(s[i])
        i += 1
        if conversion == "%" {
            out.append("%")
            continue
        }
        let value: TemplateValue
        if let key {
            guard let mapping else { throw Failure(.type, "format requires a mapping") }
            guard let v = try mapping.lookup(.string(key)) else { throw Failure(.key, pyStringRepr(key)) }
            value = v
            usedMapping = true
        } else {
            guard argIndex < positional.count else { throw Failure(.type, "not enough arguments for format string") }
            value = positional[argIndex]
            argIndex += 1
        }
        var text: String
        switch conversion {
        case "s": text = value.pyStr
        case "r", "a": text = value.pyRepr
        case "d", "i", "u":
            let n: Int
            switch value {
            case .int(let v): n = v
            case .bool(let b): n = b ? 1 : 0
            case .double(let d):
                guard d.isFinite else { throw Failure(.overflow, "cannot convert float infinity to integer") }
                guard Swift.abs(d) < 9.2e18 else { throw Failure(.overflow, "integer too large for this engine") }
                n = Int(d.rounded(.towardZero))
            default: throw Failure(.type, "%\(conversion) format: a real number is required, not \(value.typeName)")
            }
            text = String(n)
            if let precision, text.count < precision { text = String(repeating: "0", count: precision - text.count) + text }
        case "x", "X", "o":
            let n: Int
            switch value {
            case .int(let v): n = v
            case .bool(let b): n = b ? 1 : 0
            default: throw Failure(.type, "%\(conversion) format: an integer is required, not \(value.typeName)")
            }
            text = String(n, radix: conversion == "o" ? 8 : 16, uppercase: conversion == "X")
            if flags.contains("#") { text = (conversion == "o" ? "0o" : conversion == "X" ? "0X" : "0x") + text }
        case "f", "F", "e", "E", "g", "G":
            let d: Double
            switch value {
            case .int(let v): d = Double(v)
            case .bool(let b): d = b ? 1 : 0
            case .double(let v): d = v
            default: throw Failure(.type, "must be real number, not \(value.typeName)")
            }
            text = formatDouble(d, type: conversion, precision: precision)
        case "c":
            switch value {
            case .int(let v):
                guard let scalar = Unicode.Scalar(UInt32(clamping: max(0, v))) else { throw Failure(.overflow, "%c arg not in range") }
                text = String(Character(scalar))
            case .string(let str) where str.unicodeScalars.count == 1: text = str
            default: throw Failure(.type, "%c requires int or char")
            }
        default:
            throw Failure(.value, "unsupported format character '\(conversion)'")
        }
        if conversion == "s" || conversion == "r" || conversion == "a", let precision {
            text = String(String.UnicodeScalarView(text.unicodeScalars.prefix(precision)))
        }
        let numeric = "diufFeEgGxXo".contains(conversion)
        if numeric {
            if flags.contains("+"), !text.hasPrefix("-") { text = "+" + text } else if flags.contains(" "), !text.hasPrefix("-") { text = " " + text }
        }
        if flags.contains("-") {
            text = pad(text, width: width, align: "<")
        } else if flags.contains("0") && numeric {
            let sign = text.hasPrefix("-") || text.hasPrefix("+") || text.hasPrefix(" ") ? String(text.removeFirst()) : ""
            text = sign + pad(text, width: width - sign.count, align: ">", fill: "0")
        } else {
            text = pad(text, width: width, align: ">")
        }
        out.append(contentsOf: text.unicodeScalars)
    }
    if mapping == nil && argIndex < positional.count {
        throw Failure(.type, "not all arguments converted during string formatting")
    }
    _ = usedMapping
    return String(out)
}

// MARK: str.format

/// One `{...}` replacement field's format spec: `[[fill]align][sign][#][0][width][,|_][.precision][type]`.
func applyFormatSpec(_ value: TemplateValue, _ spec: String) throws(Failure) -> String {
    let s = Array(spec)
    var i = 0
    var fill: Character = " "
    var align: Character? = nil
    if s.count >= 2, "<>^=".contains(s[1]) {
        fill = s[0]
        align = s[1]
        i = 2
    } else if s.count >= 1, "<>^=".contains(s[0]) {
        align = s[0]
        i = 1
    }
    var sign: Character = "-"
    if i < s.count, "+- ".contains(s[i]) {
        sign = s[i]
        i += 1
    }
    if i < s.count, s[i] == "#" { i += 1 }
    if i < s.count, s[i] == "0" {
        if align == nil { fill = "0"; align = "=" }
        i += 1
    }
    var width = 0
    while i < s.count, let d = s[i].wholeNumberValue, s[i].isASCII {
        width = min(width * 10 + d, 10_000)
        i += 1
    }
    var grouping: Character? = nil
    if i < s.count, s[i] == "," || s[i] == "_" {
        grouping = s[i]
        i += 1
    }
    var precision: Int? = nil
    if i < s.count, s[i] == "." {
        i += 1
        var p = 0
        while i < s.count, let d = s[i].wholeNumberValue, s[i].isASCII {
            p = min(p * 10 + d, 10_000)
            i += 1
        }
        precision = p
    }
    var type: Character? = nil
    if i < s.count {
        type = s[i]
        i += 1
    }
    guard i == s.count else { throw Failure(.value, "Invalid format specifier") }

    var body: String
    var isNumber = false
    switch value {
    case .int, .bool, .double:
        isNumber = true
        let d: Double
        var intValue: Int? = nil
        switch value {
        case .int(let v): d = Double(v); intValue = v
        case .bool(let b): d = b ? 1 : 0; intValue = b ? 1 : 0
        case .double(let v): d = v
        default: d = 0
        }
        switch type {
        case nil where intValue != nil, "d":
            guard let intValue else { throw Failure(.value, "Unknown format code 'd' for object of type 'float'") }
            body = String(abs(intValue))
        case "x", "X", "o", "b":
            guard let intValue else { throw Failure(.value, "Unknown format code '\(type!)' for object of type 'float'") }
            body = String(abs(intValue), radix: type == "o" ? 8 : type == "b" ? 2 : 16, uppercase: type == "X")
        case nil:
            if let precision { body = formatDouble(abs(d), type: "g", precision: max(precision, 1)) } else { body = pyFloatRepr(abs(d)) }
        case "f", "F", "e", "E", "g", "G", "%":
            body = formatDouble(abs(d), type: type!, precision: precision)
        case "n":
            body = intValue != nil ? String(abs(intValue!)) : formatDouble(abs(d), type: "g", precision: precision)
        default:
            throw Failure(.value, "Unknown format code '\(type!)' for object of type '\(value.typeName)'")
        }
        if let grouping {
            let parts = body.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
            let intDigits = Array(parts[0])
            var grouped = ""
            for (k, ch) in intDigits.enumerated() {
                if k > 0 && (intDigits.count - k) % 3 == 0 { grouped.append(grouping) }
                grouped.append(ch)
            }
            body = parts.count > 1 ? grouped + "." + parts[1] : grouped
        }
        let negative = d < 0 || (d == 0 && d.sign == .minus && intValue == nil)
        let signText = negative ? "-" : sign == "+" ? "+" : sign == " " ? " " : ""
        if align == "=" {
            return signText + pad(body, width: width - signText.count, align: ">", fill: fill)
        }
        body = signText + body
    case .string(let str):
        guard type == nil || type == "s" else {
            throw Failure(.value, "Unknown format code '\(type!)' for object of type 'str'")
        }
        body = str
        if let precision { body = String(String.UnicodeScalarView(str.unicodeScalars.prefix(precision))) }
    default:
        guard spec.isEmpty else { throw Failure(.type, "unsupported format string passed to \(value.typeName).__format__") }
        body = value.pyStr
    }
    return pad(body, width: width, align: align ?? (isNumber ? ">" : "<"), fill: fill)
}
