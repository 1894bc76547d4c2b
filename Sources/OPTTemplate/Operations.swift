import OPTSupport
/// Python's operators on template values: equality, ordering, arithmetic, iteration, `len`, `in`.

/// A number as Python's numeric tower sees it (bool is an int).
enum Number {
    case int(Int)
    case double(Double)

    init?(_ v: TemplateValue) {
        switch v {
        case .int(let i): self = .int(i)
        case .bool(let b): self = .int(b ? 1 : 0)
        case .double(let d): self = .double(d)
        default: return nil
        }
    }

    var asDouble: Double {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        }
    }
}

/// Raises Jinja's UndefinedError when an undefined value is used where a value is needed.
@inline(__always)
func requireDefined(_ v: TemplateValue) throws(Failure) {
    if case .undefined(let message) = v { throw Failure(.undefined, message) }
}

func utf8Less(_ a: String, _ b: String) -> Bool {
    // Byte order of UTF-8 is code point order, which is how Python compares strings.
    a.utf8.lexicographicallyPrecedes(b.utf8)
}

/// Python's `==`; containers nested deeper than Python's recursion limit compare unequal instead of overflowing the stack.
func pyEquals(_ a: TemplateValue, _ b: TemplateValue, depth: Int = 0) -> Bool {
    if depth > 500 { return false }
    switch (a, b) {
    case (.string(let x), .string(let y)): return x.utf8.elementsEqual(y.utf8)
    case (.none, .none): return true
    case (.undefined, .undefined): return true
    case (.list(let x), .list(let y)):
        if x === y { return true }
        return x.items.count == y.items.count && zip(x.items, y.items).allSatisfy { pyEquals($0, $1, depth: depth + 1) }
    case (.tuple(let x), .tuple(let y)):
        return x.count == y.count && zip(x, y).allSatisfy { pyEquals($0, $1, depth: depth + 1) }
    case (.dict(let x), .dict(let y)):
        if x === y { return true }
        guard x.keys.count == y.keys.count else { return false }
        for (k, i) in x.index {
            guard let j = y.index[k], pyEquals(x.values[i], y.values[j], depth: depth + 1) else { return false }
        }
        return true
    case (.object(let x), .object(let y)): return x === y
    default:
        if let x = Number(a), let y = Number(b) {
            switch (x, y) {
            case (.int(let i), .int(let j)): return i == j
            default: return x.asDouble == y.asDouble
            }
        }
        return false
    }
}

/// Python's ordering for `<` and `sorted`; -1, 0 or 1.
func pyCompare(_ a: TemplateValue, _ b: TemplateValue, op: String = "<", depth: Int = 0) throws(Failure) -> Int {
    if depth > 500 { throw Failure(.recursion, "maximum recursion depth exceeded in comparison") }
    try requireDefined(a)
    try requireDefined(b)
    switch (a, b) {
    case (.string(let x), .string(let y)):
        if x.utf8.elementsEqual(y.utf8) { return 0 }
        return utf8Less(x, y) ? -1 : 1
    case (.list(let x), .list(let y)): return try compareSequences(x.items, y.items, op: op, depth: depth)
    case (.tuple(let x), .tuple(let y)): return try compareSequences(x, y, op: op, depth: depth)
    default:
        if let x = Number(a), let y = Number(b) {
            switch (x, y) {
            case (.int(let i), .int(let j)): return i < j ? -1 : i == j ? 0 : 1
            default:
                let (p, q) = (x.asDouble, y.asDouble)
                if p < q { return -1 }
                if p > q { return 1 }
                if p == q { return 0 }
                return 2  // NaN: every ordering comparison is false
            }
        }
        throw Failure(.type, "'\(op)' not supported between instances of '\(a.typeName)' and '\(b.typeName)'")
    }
}

func compareSequences(_ x: [TemplateValue], _ y: [TemplateValue], op: String, depth: Int = 0) throws(Failure) -> Int {
    for (p, q) in zip(x, y) where !pyEquals(p, q, depth: depth + 1) {
        return try pyCompare(p, q, op: op, depth: depth + 1)
    }
    return x.count < y.count ? -1 : x.count == y.count ? 0 : 1
}

func compare(_ op: CompareOp, _ a: TemplateValue, _ b: TemplateValue) throws(Failure) -> Bool {
    switch op {
    case .eq: return pyEquals(a, b)
    case .ne: return !pyEquals(a, b)
    case .lt: return try pyCompare(a, b, op: "<") == -1
    case .le: let c = try pyCompare(a, b, op: "<="); return c == -1 || c == 0
    case .gt: return try pyCompare(a, b, op: ">") == 1
    case .ge: let c = try pyCompare(a, b, op: ">="); return c == 1 || c == 0
    case .isIn: return try pyContains(b, a)
    case .notIn: return try !pyContains(b, a)
    }
}

/// Python's `item in container`.
func pyContains(_ container: TemplateValue, _ item: TemplateValue) throws(Failure) -> Bool {
    switch container {
    case .string(let s):
        guard case .string(let needle) = item else {
            if case .undefined(let m) = item { throw Failure(.undefined, m) }
            throw Failure(.type, "'in <string>' requires string as left operand, not \(item.typeName)")
        }
        return byteFind(Array(s.utf8), Array(needle.utf8), from: 0) != nil
    case .list(let l): return l.items.contains { pyEquals($0, item) }
    case .tuple(let t): return t.contains { pyEquals($0, item) }
    case .dict(let d): return try d.lookup(item) != nil
    case .undefined: return false
    default: throw Failure(.type, "argument of type '\(container.typeName)' is not iterable")
    }
}

/// Python's `iter()`; strings iterate by code point, dicts by key.
func pyIterate(_ v: TemplateValue) throws(Failure) -> [TemplateValue] {
    switch v {
    case .list(let l): return l.items
    case .tuple(let t): return t
    case .dict(let d): return d.keys
    case .string(let s): return s.unicodeScalars.map { .string(String(Character($0))) }
    case .undefined: return []
    case .object(let o):
        if case .namespace = o.kind { throw Failure(.type, "'Namespace' object is not iterable") }
        throw Failure(.type, "'\(v.typeName)' object is not iterable")
    default: throw Failure(.type, "'\(v.typeName)' object is not iterable")
    }
}

/// Python's `len()`; Jinja's Undefined has length 0.
func pyLength(_ v: TemplateValue) throws(Failure) -> Int {
    switch v {
    case .string(let s): return s.unicodeScalars.count
    case .list(let l): return l.items.count
    case .tuple(let t): return t.count
    case .dict(let d): return d.keys.count
    case .undefined: return 0
    case .object(let o):
        if case .namespace(let d) = o.kind { _ = d }
        throw Failure(.type, "object of type '\(v.typeName)' has no len()")
    default: throw Failure(.type, "object of type '\(v.typeName)' has no len()")
    }
}

/// Results longer than this are refused rather than exhausting memory (`'x' * 10**12`).
let maxSequenceLength = 50_000_000

func repeatSequence(_ v: TemplateValue, _ n: Int) throws(Failure) -> TemplateValue {
    let times = max(0, n)
    switch v {
    case .string(let s):
        if times > 0, s.utf8.count > maxSequenceLength / times { throw Failure(.overflow, "repeated string is too long") }
        return .string(String(repeating: s, count: times))
    case .list(let l):
        if times > 0, l.items.count > maxSequenceLength / times { throw Failure(.overflow, "repeated list is too long") }
        var items: [TemplateValue] = []
        for _ in 0..<times { items.append(contentsOf: l.items) }
        return .list(TemplateList(owned: items))
    case .tuple(let t):
        if times > 0, t.count > maxSequenceLength / times { throw Failure(.overflow, "repeated tuple is too long") }
        var items: [TemplateValue] = []
        for _ in 0..<times { items.append(contentsOf: t) }
        return .tuple(items)
    default: throw Failure(.type, "can't multiply sequence")
    }
}

func operatorSymbol(_ op: BinaryOp) -> String {
    switch op {
    case .add: return "+"
    case .sub: return "-"
    case .mul: return "*"
    case .div: return "/"
    case .floorDiv: return "//"
    case .mod: return "%"
    case .pow: return "** or pow()"
    }
}

/// CPython's float divmod, which fixes the signs of the remainder and the floored quotient.
func floatDivmod(_ vx: Double, _ wx: Double) -> (Double, Double) {
    var mod = vx.truncatingRemainder(dividingBy: wx)
    var div = (vx - mod) / wx
    if mod != 0 {
        if (wx < 0) != (mod < 0) {
            mod += wx
            div -= 1.0
        }
    } else {
        mod = Double(signOf: wx, magnitudeOf: 0.0)
    }
    var floordiv: Double
    if div != 0 {
        floordiv = div.rounded(.down)
        if div - floordiv > 0.5 { floordiv += 1.0 }
    } else {
        floordiv = Double(signOf: vx / wx, magnitudeOf: 0.0)
    }
    return (floordiv, mod)
}

func intPow(_ base: Int, _ exponent: Int) throws(Failure) -> Int {
    var result = 1
    var b = base
    var e = exponent
    while e > 0 {
        if e & 1 == 1 {
            let (r, o) = result.multipliedReportingOverflow(by: b)
            if o { throw Failure(.overflow, "integer result too large for this engine") }
            result = r
        }
        e >>= 1
        if e > 0 {
            let (sq, o) = b.multipliedReportingOverflow(by: b)
            if o { throw Failure(.overflow, "integer result too large for this engine") }
            b = sq
        }
    }
    return result
}

/// Python's binary arithmetic, including `str % args`, sequence concatenation and repetition.
func binaryOperation(_ op: BinaryOp, _ a: TemplateValue, _ b: TemplateValue) throws(Failure) -> TemplateValue {
    try requireDefined(a)
    try requireDefined(b)
    if let x = Number(a), let y = Number(b) {
        switch (x, y) {
        case (.int(let i), .int(let j)):
            switch op {
            case .add:
                let (r, o) = i.addingReportingOverflow(j)
                if o { throw Failure(.overflow, "integer result too large for this engine") }
                return .int(r)
            case .sub:
                let (r, o) = i.subtractingReportingOverflow(j)
                if o { throw Failure(.overflow, "integer result too large for this engine") }
                return .int(r)
            case .mul:
                let (r, o) = i.multipliedReportingOverflow(by: j)
                if o { throw Failure(.overflow, "integer result too large for this engine") }
                return .int(r)
            case .div:
                if j == 0 { throw Failure(.zeroDivision, "division by zero") }
                return .double(Double(i) / Double(j))
            case .floorDiv:
                if j == 0 { throw Failure(.zeroDivision, "integer division or modulo by zero") }
                if i == Int.min && j == -1 { throw Failure(.overflow, "integer result too large for this engine") }
                var q = i / j
                if (i % j != 0) && ((i < 0) != (j < 0)) { q -= 1 }
                return .int(q)
            case .mod:
                if j == 0 { throw Failure(.zeroDivision, "integer modulo by zero") }
                if j == -1 { return .int(0) }
                var r = i % j
                if r != 0 && ((r < 0) != (j < 0)) { r += j }
                return .int(r)
            case .pow:
                if j >= 0 { return .int(try intPow(i, j)) }
                if i == 0 { throw Failure(.zeroDivision, "0.0 cannot be raised to a negative power") }
                return .double(powDouble(Double(i), Double(j)))
            }
        default:
            let p = x.asDouble
            let q = y.asDouble
            switch op {
            case .add: return .double(p + q)
            case .sub: return .double(p - q)
            case .mul: return .double(p * q)
            case .div:
                if q == 0 { throw Failure(.zeroDivision, "float division by zero") }
                return .double(p / q)
            case .floorDiv:
                if q == 0 { throw Failure(.zeroDivision, "float floor division by zero") }
                return .double(floatDivmod(p, q).0)
            case .mod:
                if q == 0 { throw Failure(.zeroDivision, "float modulo") }
                return .double(floatDivmod(p, q).1)
            case .pow:
                if p == 0 && q < 0 { throw Failure(.zeroDivision, "0.0 cannot be raised to a negative power") }
                if p < 0 && q != q.rounded() { throw Failure(.value, "complex results are not supported") }
                let r = powDouble(p, q)
                if r.isInfinite && p.isFinite && q.isFinite { throw Failure(.overflow, "(34, 'Numerical result out of range')") }
                return .double(r)
            }
        }
    }
    switch (op, a, b) {
    case (.add, .string(let x), .string(let y)): return .string(x + y)
    case (.add, .list(let x), .list(let y)): return .list(TemplateList(owned: x.items + y.items))
    case (.add, .tuple(let x), .tuple(let y)): return .tuple(x + y)
    case (.add, .string, _): throw Failure(.type, "can only concatenate str (not \"\(b.typeName)\") to str")
    case (.add, .list, _): throw Failure(.type, "can only concatenate list (not \"\(b.typeName)\") to list")
    case (.add, .tuple, _): throw Failure(.type, "can only concatenate tuple (not \"\(b.typeName)\") to tuple")
    case (.mul, .string, _), (.mul, .list, _), (.mul, .tuple, _):
        guard case .int(let n)? = Number(b) else {
            throw Failure(.type, "can't multiply sequence by non-int of type '\(b.typeName)'")
        }
        return try repeatSequence(a, n)
    case (.mul, _, .string), (.mul, _, .list), (.mul, _, .tuple):
        guard case .int(let n)? = Number(a) else {
            throw Failure(.type, "can't multiply sequence by non-int of type '\(a.typeName)'")
        }
        return try repeatSequence(b, n)
    case (.mod, .string(let format), _):
        return .string(try pyPercentFormat(format, b))
    default:
        throw Failure(.type, "unsupported operand type(s) for \(operatorSymbol(op)): '\(a.typeName)' and '\(b.typeName)'")
    }
}

/// Python's `int()` of a string: surrounding whitespace, a sign and `_` between digits are allowed.
func pyParseInt(_ text: String, base: Int = 10) -> Int? {
    var s = Substring(text)
    while let f = s.unicodeScalars.first, PythonText.isWhitespace(f) { s = s.dropFirst() }
    while let l = s.unicodeScalars.last, PythonText.isWhitespace(l) { s = s.dropLast() }
    var negative = false
    if s.hasPrefix("-") || s.hasPrefix("+") {
        negative = s.hasPrefix("-")
        s = s.dropFirst()
    }
    var radix = base
    let lowered = s.lowercased()
    if base == 16 && lowered.hasPrefix("0x") { s = s.dropFirst(2) }
    if base == 8 && lowered.hasPrefix("0o") { s = s.dropFirst(2) }
    if base == 2 && lowered.hasPrefix("0b") { s = s.dropFirst(2) }
    if base == 0 {
        if lowered.hasPrefix("0x") { radix = 16; s = s.dropFirst(2) }
        else if lowered.hasPrefix("0o") { radix = 8; s = s.dropFirst(2) }
        else if lowered.hasPrefix("0b") { radix = 2; s = s.dropFirst(2) }
        else { radix = 10 }
    }
    guard !s.isEmpty, !s.hasPrefix("_"), !s.hasSuffix("_"), !s.contains("__") else { return nil }
    var digits = ""
    for c in s.unicodeScalars {
        if c == "_" { continue }
        // Python accepts any Unicode decimal digit.
        if c.properties.numericType == .decimal, let v = c.properties.numericValue, !c.isASCII {
            digits += String(Int(v))
        } else {
            digits.unicodeScalars.append(c)
        }
    }
    guard let v = Int(digits, radix: radix) else { return nil }
    return negative ? -v : v
}

/// Python's `float()` of a string.
func pyParseFloat(_ text: String) -> Double? {
    var s = Substring(text)
    while let f = s.unicodeScalars.first, PythonText.isWhitespace(f) { s = s.dropFirst() }
    while let l = s.unicodeScalars.last, PythonText.isWhitespace(l) { s = s.dropLast() }
    var body = s
    if body.hasPrefix("-") || body.hasPrefix("+") { body = body.dropFirst() }
    let lowered = body.lowercased()
    if lowered == "inf" || lowered == "infinity" || lowered == "nan" {
        let v: Double = lowered == "nan" ? .nan : .infinity
        return s.hasPrefix("-") ? -v : v
    }
    // Only decimal literals: Swift's Double() would also take hex floats.
    var sawDigit = false
    var previous: Character = " "
    for c in body {
        if c.isASCII && c.isNumber {
            sawDigit = true
        } else if c == "_" {
            guard previous.isASCII && previous.isNumber else { return nil }
        } else if !(c == "." || c == "e" || c == "E" || c == "+" || c == "-") {
            return nil
        }
        previous = c
    }
    guard sawDigit, !body.hasSuffix("_") else { return nil }
    return Double(String(s).replacingAll("_", with: ""))
}
