import Foundation
import OPTSupport

/// Jinja's built-in filters plus PromptSource's `choice` and `most_frequent`.
enum FilterKind: Sendable {
    case abs, attr, batch, capitalize, center, choice, `default`, dictsort, escape, first, float, format, indent, int
    case items, join, last, length, list, lower, map, max, min, mostFrequent, random, reject, rejectattr, replace
    case reverse, round, safe, select, selectattr, sort, string, striptags, sum, title, tojson, trim, truncate
    case unique, upper, wordcount
    /// lm-evaluation-harness's `regex_replace(pattern, repl, count=0)`: Python's `re.sub`.
    case regexReplace

    init?(name: String) {
        switch name {
        case "abs": self = .abs
        case "attr": self = .attr
        case "batch": self = .batch
        case "capitalize": self = .capitalize
        case "center": self = .center
        case "choice": self = .choice
        case "default", "d": self = .default
        case "dictsort": self = .dictsort
        case "escape", "e", "forceescape": self = .escape
        case "first": self = .first
        case "float": self = .float
        case "format": self = .format
        case "indent": self = .indent
        case "int": self = .int
        case "items": self = .items
        case "join": self = .join
        case "last": self = .last
        case "length", "count": self = .length
        case "list": self = .list
        case "lower": self = .lower
        case "map": self = .map
        case "max": self = .max
        case "min": self = .min
        case "most_frequent": self = .mostFrequent
        case "random": self = .random
        case "reject": self = .reject
        case "rejectattr": self = .rejectattr
        case "replace": self = .replace
        case "regex_replace": self = .regexReplace
        case "reverse": self = .reverse
        case "round": self = .round
        case "safe": self = .safe
        case "select": self = .select
        case "selectattr": self = .selectattr
        case "sort": self = .sort
        case "string": self = .string
        case "striptags": self = .striptags
        case "sum": self = .sum
        case "title": self = .title
        case "tojson": self = .tojson
        case "trim": self = .trim
        case "truncate": self = .truncate
        case "unique": self = .unique
        case "upper": self = .upper
        case "wordcount": self = .wordcount
        default: return nil
        }
    }
}

/// Jinja's built-in tests (`x is defined`).
enum TestKind: Sendable {
    case boolean, callable, defined, divisibleby, eq, escaped, even, `false`, filter, float, ge, gt, `in`, integer
    case iterable, le, lower, lt, mapping, ne, none, number, odd, sameas, sequence, string, test, `true`, undefined
    case upper

    init?(name: String) {
        switch name {
        case "boolean": self = .boolean
        case "callable": self = .callable
        case "defined": self = .defined
        case "divisibleby": self = .divisibleby
        case "eq", "equalto", "==": self = .eq
        case "escaped": self = .escaped
        case "even": self = .even
        case "false": self = .false
        case "filter": self = .filter
        case "float": self = .float
        case "ge", ">=": self = .ge
        case "gt", "greaterthan", ">": self = .gt
        case "in": self = .in
        case "integer": self = .integer
        case "iterable": self = .iterable
        case "le", "<=": self = .le
        case "lower": self = .lower
        case "lt", "lessthan", "<": self = .lt
        case "mapping": self = .mapping
        case "ne", "!=": self = .ne
        case "none": self = .none
        case "number": self = .number
        case "odd": self = .odd
        case "sameas": self = .sameas
        case "sequence": self = .sequence
        case "string": self = .string
        case "test": self = .test
        case "true": self = .true
        case "undefined": self = .undefined
        case "upper": self = .upper
        default: return nil
        }
    }
}

/// Jinja's `ignore_case`: strings compare lowercased unless `case_sensitive` is set.
func ignoreCase(_ v: TemplateValue) -> TemplateValue {
    if case .string(let s) = v { return .string(pyLower(s)) }
    return v
}

/// Python's `\w+` runs: letters, digits and underscores.
func wordCount(_ s: String) -> Int {
    var count = 0
    var inWord = false
    for c in s.unicodeScalars {
        let w = c == "_" || isAlnum(c)
        if w && !inWord { count += 1 }
        inWord = w
    }
    return count
}

/// markupsafe's `Markup.unescape` for the entities that occur in practice.
func htmlUnescape(_ s: String) -> String {
    guard s.contains("&") else { return s }
    let named: [String: String] = [
        "amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'", "nbsp": "\u{A0}", "#39": "'", "#34": "\"",
        "copy": "\u{A9}", "reg": "\u{AE}", "hellip": "\u{2026}", "mdash": "\u{2014}", "ndash": "\u{2013}",
        "lsquo": "\u{2018}", "rsquo": "\u{2019}", "ldquo": "\u{201C}", "rdquo": "\u{201D}",
    ]
    let scalars = Array(s.unicodeScalars)
    var out = String.UnicodeScalarView()
    var i = 0
    while i < scalars.count {
        if scalars[i] == "&", let semi = scalars[(i + 1)...].prefix(12).firstIndex(of: ";") {
            let name = stringFromScalars(scalars[(i + 1)..<semi])
            if let r = named[name] {
                out.append(contentsOf: r.unicodeScalars)
                i = semi + 1
                continue
            }
            if name.hasPrefix("#") {
                let digits = name.dropFirst()
                let value = digits.hasPrefix("x") || digits.hasPrefix("X") ? UInt32(digits.dropFirst(), radix: 16) : UInt32(digits)
                if let value, let scalar = Unicode.Scalar(value) {
                    out.append(scalar)
                    i = semi + 1
                    continue
                }
            }
        }
        out.append(scalars[i])
        i += 1
    }
    return String(out)
}

/// Python's `json.dumps(sort_keys=True)` made HTML-safe, as Jinja's `tojson` does.
func jsonDump(_ v: TemplateValue, into out: inout String, depth: Int = 0) throws(Failure) {
    if depth > maxReprDepth { throw Failure(.value, "Circular reference detected") }
    switch v {
    case .none: out += "null"
    case .bool(let b): out += b ? "true" : "false"
    case .int(let i): out += String(i)
    case .double(let d):
        out += d.isNaN ? "NaN" : d.isInfinite ? (d < 0 ? "-Infinity" : "Infinity") : pyFloatRepr(d)
    case .string(let s):
        JSONText.appendQuoted(s, to: &out, escaping: [.asciiOnly, .htmlSafe])
    case .list(let l):
        out += "["
        for (i, item) in l.items.enumerated() {
            if i > 0 { out += ", " }
            try jsonDump(item, into: &out, depth: depth + 1)
        }
        out += "]"
    case .tuple(let t):
        out += "["
        for (i, item) in t.enumerated() {
            if i > 0 { out += ", " }
            try jsonDump(item, into: &out, depth: depth + 1)
        }
        out += "]"
    case .dict(let d):
        var pairs: [(String, TemplateValue)] = []
        for (k, value) in d.pairs {
            switch k {
            case .string(let s): pairs.append((s, value))
            case .int, .double, .bool, .none: pairs.append((k.pyStr == "None" ? "null" : k == .bool(true) ? "true" : k == .bool(false) ? "false" : k.pyStr, value))
            default: throw Failure(.type, "keys must be str, int, float, bool or None, not \(k.typeName)")
            }
        }
        pairs.sort { utf8Less($0.0, $1.0) }
        out += "{"
        for (i, (k, value)) in pairs.enumerated() {
            if i > 0 { out += ", " }
            try jsonDump(.string(k), into: &out, depth: depth + 1)
            out += ": "
            try jsonDump(value, into: &out, depth: depth + 1)
        }
        out += "}"
    case .undefined(let m): throw Failure(.undefined, m)
    case .object: throw Failure(.type, "Object of type \(v.typeName) is not JSON serializable")
    }
}

/// Python's `round(x, ndigits)`: correctly rounded, ties to even on the exact binary value.
func pyRound(_ x: Double, _ ndigits: Int) -> Double {
    guard x.isFinite else { return x }
    if ndigits >= 0 {
        if ndigits > 300 { return x }
        return Double(cFormat("%.\(ndigits)f", x)) ?? x
    }
    let scale = powDouble(10, Double(-ndigits))
    guard scale.isFinite else { return 0.0 * x }
    let y = (x / scale).rounded(.toNearestOrEven)
    return y * scale
}

extension Renderer {
    /// Python's stable `sorted`, with a key function; `reverse` keeps equal items in their original order.
    func sortValues(_ items: [TemplateValue], reverse: Bool,
                    key: (TemplateValue) throws(Failure) -> TemplateValue) throws(Failure) -> [TemplateValue] {
        var keyed: [(TemplateValue, TemplateValue, Int)] = []
        keyed.reserveCapacity(items.count)
        for (i, item) in items.enumerated() { keyed.append((try key(item), item, i)) }
        var failure: Failure? = nil
        keyed.sort { a, b in
            if failure != nil { return false }
            do throws(Failure) {
                let c = reverse ? try pyCompare(b.0, a.0) : try pyCompare(a.0, b.0)
                if c == -1 { return true }
                if c == 1 { return false }
                return a.2 < b.2
            } catch {
                failure = error
                return false
            }
        }
        if let failure { throw failure }
        return keyed.map(\.1)
    }

    /// Jinja's `make_attrgetter`: a dotted path whose integer parts index, each step through `getitem`.
    func attributePath(_ item: TemplateValue, _ attribute: TemplateValue?, default fallback: TemplateValue? = nil) throws(Failure) -> TemplateValue {
        guard let attribute, attribute != .none else { return item }
        var parts: [TemplateValue] = []
        if case .string(let path) = attribute {
            for p in try pySplit(path, ".", -1) {
                if !p.isEmpty, p.unicodeScalars.allSatisfy(isDigitChar), let n = Int(p) { parts.append(.int(n)) } else { parts.append(.string(p)) }
            }
        } else {
            parts = [attribute]
        }
        var value = item
        for part in parts {
            value = try getitem(value, part)
            if let fallback, fallback != .none, case .undefined = value { value = fallback }
        }
        return value
    }

    func softString(_ v: TemplateValue) -> String {
        if case .string(let s) = v { return s }
        return str(v)
    }

    func applyTest(_ kind: TestKind, _ value: TemplateValue, _ args: [TemplateValue], _ kwargs: [(String, TemplateValue)]) throws(Failure) -> Bool {
        func one(_ name: String) throws(Failure) -> TemplateValue {
            try bindArguments(name, args, kwargs, ["other"], required: 1)[0]!
        }
        switch kind {
        case .defined: return !value.isUndefined
        case .undefined: return value.isUndefined
        case .none: return value == .none
        case .boolean: if case .bool = value { return true }; return false
        case .true: return value == .bool(true)
        case .false: return value == .bool(false)
        case .integer: if case .int = value { return true }; return false
        case .float: if case .double = value { return true }; return false
        case .number: return Number(value) != nil
        case .string: if case .string = value { return true }; return false
        case .mapping: if case .dict = value { return true }; return false
        case .iterable, .sequence:
            switch value {
            case .string, .list, .tuple, .dict, .undefined: return true
            default: return false
            }
        case .callable:
            if case .object(let o) = value, case .namespace = o.kind { return false }
            if case .object = value { return true }
            return false
        case .escaped: return false
        case .even, .odd:
            let r = try binaryOperation(.mod, value, .int(2))
            return kind == .even ? pyEquals(r, .int(0)) : pyEquals(r, .int(1))
        case .divisibleby:
            return pyEquals(try binaryOperation(.mod, value, try one("divisibleby")), .int(0))
        case .in: return try pyContains(try one("in"), value)
        case .eq: return pyEquals(value, try one("eq"))
        case .ne: return !pyEquals(value, try one("ne"))
        case .lt: return try compare(.lt, value, try one("lt"))
        case .le: return try compare(.le, value, try one("le"))
        case .gt: return try compare(.gt, value, try one("gt"))
        case .ge: return try compare(.ge, value, try one("ge"))
        case .lower: return pyIsLower(value.pyStr)
        case .upper: return pyIsUpper(value.pyStr)
        case .sameas:
            let other = try one("sameas")
            switch (value, other) {
            case (.list(let a), .list(let b)): return a === b
            case (.dict(let a), .dict(let b)): return a === b
            case (.object(let a), .object(let b)): return a === b
            case (.string(let a), .string(let b)): return a.utf8.elementsEqual(b.utf8)
            default: return value == other
            }
        case .filter:
            if case .string(let n) = value { return FilterKind(name: n) != nil }
            return false
        case .test:
            if case .string(let n) = value { return TestKind(name: n) != nil }
            return false
        }
    }

    /// Jinja's `select`/`reject` family: the test named by the first argument, or truthiness.
    func selectFunction(_ args: [TemplateValue], _ kwargs: [(String, TemplateValue)], byAttribute: Bool,
                        keep: Bool) throws(Failure) -> (TemplateValue) throws(Failure) -> Bool {
        var rest = args
        var attribute: TemplateValue? = nil
        if byAttribute {
            guard !rest.isEmpty else { throw Failure(.runtime, "Missing parameter for attribute name") }
            attribute = rest.removeFirst()
        }
        var test: TestKind? = nil
        if !rest.isEmpty {
            let nameValue = rest.removeFirst()
            let testName = softString(nameValue)
            guard let t = TestKind(name: testName) else { throw Failure(.runtime, "No test named '\(testName)'.") }
            test = t
        }
        let testArgs = rest
        return { (item: TemplateValue) throws(Failure) -> Bool in
            let v = try self.attributePath(item, attribute)
            let result = try test.map { (t: TestKind) throws(Failure) -> Bool in try self.applyTest(t, v, testArgs, kwargs) } ?? v.isTruthy
            return result == keep
        }
    }

    func applyFilter(_ kind: FilterKind, _ value: TemplateValue, _ args: [TemplateValue],
                     _ kwargs: [(String, TemplateValue)]) throws(Failure) -> TemplateValue {
        switch kind {
        case .string:
            if case .string = value { return value }
            _ = try bindArguments("string", args, kwargs, [])
            return .string(str(value))
        case .truncate:
            // PromptSource wraps every `{{ }}` in `| string | truncate(2048)`: decide short strings without binding arguments.
            if kwargs.isEmpty, args.count == 1, case .int(let length) = args[0], case .string(let s) = value,
                length >= 3, s.utf8.count <= length + 5
            {
                return value
            }
            let a = try bindArguments("truncate", args, kwargs, ["length", "killwords", "end", "leeway"])
            let length = try a[0].map(requireInt) ?? 255
            let leeway = try a[3].map(requireInt) ?? 5
            let end = a[2].map { $0.pyStr } ?? "..."
            let endLength = end.unicodeScalars.count
            if length < endLength { throw Failure(.assertion, "expected length >= \(endLength), got \(length)") }
            if leeway < 0 { throw Failure(.assertion, "expected leeway >= 0, got \(leeway)") }
            guard case .string(let s) = value else {
                if try pyLength(value) <= length + leeway { return value }
                throw Failure(.type, "truncate expects a string")
            }
            // A UTF-8 length within the limit bounds the code point count too: no counting on the hot path.
            if s.utf8.count <= length + leeway || s.unicodeScalars.count <= length + leeway { return value }
            let head = String(String.UnicodeScalarView(s.unicodeScalars.prefix(length - endLength)))
            if a[1]?.isTruthy ?? false { return .string(head + end) }
            let parts = try pyRsplit(head, " ", 1)
            return .string(parts[0] + end)
        case .join:
            let a = try bindArguments("join", args, kwargs, ["d", "attribute"])
            let separator = a[0].map { $0.pyStr } ?? ""
            var out = ""
            for (i, item) in try pyIterate(value).enumerated() {
                if i > 0 { out += separator }
                out += str(try attributePath(item, a[1]))
            }
            return .string(out)
        case .replace:
            let a = try bindArguments("replace", args, kwargs, ["old", "new", "count"], required: 2)
            var count = -1
            if let c = a[2], c != .none { count = try requireInt(c) }
            return .string(pyReplace(value.pyStr, a[0]!.pyStr, a[1]!.pyStr, count: count))
        case .regexReplace:
            let a = try bindArguments("regex_replace", args, kwargs, ["pattern", "repl", "count"], required: 2)
            var count = 0
            if let c = a[2], c != .none { count = try requireInt(c) }
            return .string(try pyRegexSub(a[0]!.pyStr, a[1]!.pyStr, value.pyStr, count: count))
        case .length:
            _ = try bindArguments("length", args, kwargs, [])
            return .int(try pyLength(value))
        case .default:
            let a = try bindArguments("default", args, kwargs, ["default_value", "boolean"])
            let fallback = a[0] ?? .string("")
            if value.isUndefined || ((a[1]?.isTruthy ?? false) && !value.isTruthy) { return fallback }
            return value
        case .int:
            let a = try bindArguments("int", args, kwargs, ["default", "base"])
            let fallback = a[0] ?? .int(0)
            let base = try a[1].map(requireInt) ?? 10
            switch value {
            case .undefined(let m): throw Failure(.undefined, m)
            case .int: return value
            case .bool(let b): return .int(b ? 1 : 0)
            case .double(let d):
                if d.isNaN { return fallback }
                if d.isInfinite { throw Failure(.overflow, "cannot convert float infinity to integer") }
                guard abs(d) < 9.2e18 else { throw Failure(.overflow, "integer too large for this engine") }
                return .int(Int(d.rounded(.towardZero)))
            case .string(let s):
                if let i = pyParseInt(s, base: base) { return .int(i) }
                if let d = pyParseFloat(s) {
                    if d.isNaN { return fallback }
                    if d.isInfinite { throw Failure(.overflow, "cannot convert float infinity to integer") }
                    guard abs(d) < 9.2e18 else { throw Failure(.overflow, "integer too large for this engine") }
                    return .int(Int(d.rounded(.towardZero)))
                }
                return fallback
            default: return fallback
            }
        case .float:
            let a = try bindArguments("float", args, kwargs, ["default"])
            let fallback = a[0] ?? .double(0)
            switch value {
            case .undefined(let m): throw Failure(.undefined, m)
            case .int(let i): return .double(Double(i))
            case .bool(let b): return .double(b ? 1 : 0)
            case .double: return value
            case .string(let s): return pyParseFloat(s).map { .double($0) } ?? fallback
            default: return fallback
            }
        case .trim:
            let a = try bindArguments("trim", args, kwargs, ["chars"])
            return .string(pyStrip(softString(value), try optionalString(a[0], "strip arg"), left: true, right: true))
        case .list:
            _ = try bindArguments("list", args, kwargs, [])
            return .list(TemplateList(owned: try pyIterate(value)))
        case .lower:
            return .string(pyLower(softString(value)))
        case .upper:
            return .string(pyUpper(softString(value)))
        case .capitalize:
            return .string(pyCapitalize(softString(value)))
        case .title:
            // Jinja's own title: words start after whitespace, '-', '(', '{', '[' or '<'.
            var out = ""
            var atStart = true
            for c in softString(value).unicodeScalars {
                let separator = PythonText.isWhitespace(c) || c == "-" || c == "(" || c == "{" || c == "[" || c == "<"
                if separator {
                    out.unicodeScalars.append(c)
                    atStart = true
                } else if atStart {
                    out += c.properties.uppercaseMapping
                    atStart = false
                } else {
                    out += c.properties.lowercaseMapping
                }
            }
            return .string(out)
        case .round:
            let a = try bindArguments("round", args, kwargs, ["precision", "method"])
            let precision = try a[0].map(requireInt) ?? 0
            let method = a[1].map { $0.pyStr } ?? "common"
            guard ["common", "ceil", "floor"].contains(method) else {
                throw Failure(.runtime, "method must be common, ceil or floor")
            }
            guard let n = Number(value) else {
                throw Failure(.type, "type \(value.typeName) doesn't define __round__ method")
            }
            if method == "common" {
                switch n {
                case .int(let i):
                    if precision >= 0 { return .int(i) }
                    let scale = try intPow(10, -precision)
                    var q = i / scale
                    var r = i % scale
                    if r < 0 { q -= 1; r += scale }
                    if 2 * r > scale || (2 * r == scale && q % 2 != 0) { q += 1 }
                    let (rounded, overflow) = q.multipliedReportingOverflow(by: scale)
                    if overflow { throw Failure(.overflow, "integer result too large for this engine") }
                    return .int(rounded)
                case .double(let d): return .double(pyRound(d, precision))
                }
            }
            let scale = powDouble(10, Double(precision))
            let scaled = n.asDouble * scale
            return .double((method == "ceil" ? scaled.rounded(FloatingPointRoundingRule.up) : scaled.rounded(FloatingPointRoundingRule.down)) / scale)
        case .map:
            var rest = args
            var options = kwargs
            let transform: (TemplateValue) throws(Failure) -> TemplateValue
            if rest.isEmpty, let attrIndex = options.firstIndex(where: { $0.0 == "attribute" }) {
                let attribute = options.remove(at: attrIndex).1
                var fallback: TemplateValue? = nil
                if let d = options.firstIndex(where: { $0.0 == "default" }) { fallback = options.remove(at: d).1 }
                if let extra = options.first { throw Failure(.runtime, "Unexpected keyword argument '\(extra.0)'") }
                transform = { (item: TemplateValue) throws(Failure) -> TemplateValue in
                    try self.attributePath(item, attribute, default: fallback)
                }
            } else {
                guard !rest.isEmpty else { throw Failure(.runtime, "map requires a filter argument") }
                let filterName = softString(rest.removeFirst())
                guard let filter = FilterKind(name: filterName) else {
                    throw Failure(.runtime, "No filter named '\(filterName)'.")
                }
                let filterArgs = rest
                let filterKwargs = options
                transform = { (item: TemplateValue) throws(Failure) -> TemplateValue in
                    try self.applyFilter(filter, item, filterArgs, filterKwargs)
                }
            }
            var out: [TemplateValue] = []
            for item in try pyIterate(value) { out.append(try transform(item)) }
            return .list(TemplateList(owned: out))
        case .select, .reject, .selectattr, .rejectattr:
            let keep = kind == .select || kind == .selectattr
            let test = try selectFunction(args, kwargs, byAttribute: kind == .selectattr || kind == .rejectattr, keep: keep)
            var out: [TemplateValue] = []
            for item in try pyIterate(value) where try test(item) { out.append(item) }
            return .list(TemplateList(owned: out))
        case .first:
            _ = try bindArguments("first", args, kwargs, [])
            return try pyIterate(value).first ?? .undefined("No first item, sequence was empty.")
        case .last:
            _ = try bindArguments("last", args, kwargs, [])
            return try pyIterate(value).last ?? .undefined("No last item, sequence was empty.")
        case .unique:
            let a = try bindArguments("unique", args, kwargs, ["case_sensitive", "attribute"])
            let caseSensitive = a[0]?.isTruthy ?? false
            var seen = Set<DictKey>()
            var out: [TemplateValue] = []
            for item in try pyIterate(value) {
                var k = try attributePath(item, a[1])
                if !caseSensitive { k = ignoreCase(k) }
                guard let key = DictKey(k) else { throw Failure(.type, "unhashable type: '\(k.typeName)'") }
                if seen.insert(key).inserted { out.append(item) }
            }
            return .list(TemplateList(owned: out))
        case .sort:
            let a = try bindArguments("sort", args, kwargs, ["reverse", "case_sensitive", "attribute"])
            let caseSensitive = a[1]?.isTruthy ?? false
            var attributes: [TemplateValue] = []
            if let attr = a[2], attr != .none {
                if case .string(let s) = attr { attributes = try pySplit(s, ",", -1).map { .string(pyStrip($0, nil, left: true, right: true)) } } else { attributes = [attr] }
            }
            let sorted = try sortValues(try pyIterate(value), reverse: a[0]?.isTruthy ?? false) { (item: TemplateValue) throws(Failure) -> TemplateValue in
                func key(_ attribute: TemplateValue?) throws(Failure) -> TemplateValue {
                    let k = try self.attributePath(item, attribute)
                    return caseSensitive ? k : ignoreCase(k)
                }
                // make_multi_attrgetter returns a list, so equal (even undefined) keys compare without error.
                var keys: [TemplateValue] = []
                for attr in (attributes.isEmpty ? [nil] : attributes.map { Optional($0) }) { keys.append(try key(attr)) }
                return .list(TemplateList(owned: keys))
            }
            return .list(TemplateList(owned: sorted))
        case .reverse:
            if case .string(let s) = value { return .string(String(String.UnicodeScalarView(s.unicodeScalars.reversed()))) }
            return .list(TemplateList(owned: try pyIterate(value).reversed()))
        case .wordcount:
            return .int(wordCount(softString(value)))
        case .abs:
            switch value {
            case .int(let i):
                if i == Int.min { throw Failure(.overflow, "integer result too large for this engine") }
                return .int(Swift.abs(i))
            case .bool(let b): return .int(b ? 1 : 0)
            case .double(let d): return .double(Swift.abs(d))
            case .undefined(let m): throw Failure(.undefined, m)
            default: throw Failure(.type, "bad operand type for abs(): '\(value.typeName)'")
            }
        case .max, .min:
            let a = try bindArguments(kind == .max ? "max" : "min", args, kwargs, ["case_sensitive", "attribute"])
            let caseSensitive = a[0]?.isTruthy ?? false
            var best: (TemplateValue, TemplateValue)? = nil
            for item in try pyIterate(value) {
                var k = try attributePath(item, a[1])
                if !caseSensitive { k = ignoreCase(k) }
                if let current = best {
                    let c = try pyCompare(k, current.0, op: kind == .max ? ">" : "<")
                    if (kind == .max && c == 1) || (kind == .min && c == -1) { best = (k, item) }
                } else {
                    best = (k, item)
                }
            }
            return best?.1 ?? .undefined("No aggregated item, sequence was empty.")
        case .sum:
            let a = try bindArguments("sum", args, kwargs, ["attribute", "start"])
            var total = a[1] ?? .int(0)
            for item in try pyIterate(value) {
                total = try binaryOperation(.add, total, try attributePath(item, a[0]))
            }
            return total
        case .batch:
            let a = try bindArguments("batch", args, kwargs, ["linecount", "fill_with"], required: 1)
            let size = try requireInt(a[0]!)
            guard size > 0 else { throw Failure(.value, "batch size must be positive") }
            var out: [TemplateValue] = []
            var current: [TemplateValue] = []
            for item in try pyIterate(value) {
                current.append(item)
                if current.count == size {
                    out.append(.list(TemplateList(owned: current)))
                    current = []
                }
            }
            if !current.isEmpty {
                if let fill = a[1], fill != .none {
                    while current.count < size { current.append(fill) }
                }
                out.append(.list(TemplateList(owned: current)))
            }
            return .list(TemplateList(owned: out))
        case .items:
            switch value {
            case .undefined: return .list(TemplateList(owned: []))
            case .dict(let d): return .list(TemplateList(owned: zip(d.keys, d.values).map { .tuple([$0, $1]) }))
            default: throw Failure(.type, "Can only get item pairs from a mapping.")
            }
        case .dictsort:
            let a = try bindArguments("dictsort", args, kwargs, ["case_sensitive", "by", "reverse"])
            guard case .dict(let d) = value else {
                throw Failure(.undefined, "dictsort requires a mapping")
            }
            let caseSensitive = a[0]?.isTruthy ?? false
            let by = a[1].map { $0.pyStr } ?? "key"
            guard by == "key" || by == "value" else { throw Failure(.runtime, "You can only sort by either \"key\" or \"value\"") }
            let pairs = zip(d.keys, d.values).map { TemplateValue.tuple([$0, $1]) }
            let sorted = try sortValues(pairs, reverse: a[2]?.isTruthy ?? false) { (pair: TemplateValue) throws(Failure) -> TemplateValue in
                guard case .tuple(let kv) = pair else { return pair }
                let k = kv[by == "key" ? 0 : 1]
                return caseSensitive ? k : ignoreCase(k)
            }
            return .list(TemplateList(owned: sorted))
        case .center:
            let a = try bindArguments("center", args, kwargs, ["width"])
            let width = try a[0].map(requireInt) ?? 80
            if width > maxSequenceLength { throw Failure(.overflow, "width is too large") }
            return .string(pyCenter(softString(value), width))
        case .indent:
            let a = try bindArguments("indent", args, kwargs, ["width", "first", "blank"])
            let indention: String
            if case .string(let s)? = a[0] { indention = s } else {
                let w = try a[0].map(requireInt) ?? 4
                if w > maxSequenceLength { throw Failure(.overflow, "width is too large") }
                indention = String(repeating: " ", count: max(0, w))
            }
            let text = softString(value) + "\n"
            var lines = pySplitlines(text, keepends: false)
            var rv: String
            if a[2]?.isTruthy ?? false {
                rv = lines.joined(separator: "\n" + indention)
            } else {
                rv = lines.isEmpty ? "" : lines.removeFirst()
                if !lines.isEmpty {
                    rv += "\n" + lines.map { $0.isEmpty ? $0 : indention + $0 }.joined(separator: "\n")
                }
            }
            if a[1]?.isTruthy ?? false { rv = indention + rv }
            return .string(rv)
        case .striptags:
            var s = value.pyStr
            while let start = s.firstRange(of: "<!--"), let end = s[start.upperBound...].firstRange(of: "-->") {
                s = String(s[..<start.lowerBound]) + String(s[end.upperBound...])
            }
            while let start = s.firstIndex(of: "<"), let end = s[start...].firstIndex(of: ">") {
                s = String(s[..<start]) + String(s[s.index(after: end)...])
            }
            return .string(htmlUnescape(try pySplit(s, nil, -1).joined(separator: " ")))
        case .escape:
            var out = ""
            for c in softString(value).unicodeScalars {
                switch c {
                case "&": out += "&amp;"
                case "<": out += "&lt;"
                case ">": out += "&gt;"
                case "\"": out += "&#34;"
                case "'": out += "&#39;"
                default: out.unicodeScalars.append(c)
                }
            }
            return .string(out)
        case .safe:
            return .string(softString(value))
        case .format:
            if !args.isEmpty && !kwargs.isEmpty {
                throw Failure(.runtime, "can't handle positional and keyword arguments at the same time")
            }
            let formatArgs: TemplateValue = kwargs.isEmpty ? .tuple(args) : .dict(TemplateDict(owned: kwargs.map { (.string($0.0), $0.1) }))
            return .string(try pyPercentFormat(softString(value), formatArgs))
        case .tojson:
            var out = ""
            try jsonDump(value, into: &out)
            return .string(out)
        case .attr:
            let a = try bindArguments("attr", args, kwargs, ["name"], required: 1)
            let name = a[0]!.pyStr
            return try pythonAttribute(value, name) ?? {
                if case .dict = value { return .undefined("'dict object' has no attribute '\(name)'") }
                return .undefined("'\(value.typeName) object' has no attribute '\(name)'")
            }()
        case .choice, .random:
            _ = try bindArguments(kind == .choice ? "choice" : "random", args, kwargs, [])
            let items: [TemplateValue]
            switch value {
            case .dict(let d):
                // random.choice indexes the mapping with an integer.
                if d.keys.isEmpty { items = [] } else {
                    let i = rng.below(d.keys.count)
                    guard let v = try d.lookup(.int(i)) else { throw Failure(.key, String(i)) }
                    return v
                }
            default: items = try pyIterate(value)
            }
            if items.isEmpty {
                if kind == .random { return .undefined("No random item, sequence was empty.") }
                throw Failure(.index, "Cannot choose from an empty sequence")
            }
            return items[rng.below(items.count)]
        case .mostFrequent:
            // PromptSource: Counter(items).most_common() keeps first-seen order among equal counts.
            guard value.isTruthy else { return .none }
            var counts: [DictKey: Int] = [:]
            var order: [(DictKey, TemplateValue)] = []
            for item in try pyIterate(value) {
                guard let k = DictKey(item) else { throw Failure(.type, "unhashable type: '\(item.typeName)'") }
                if let c = counts[k] { counts[k] = c + 1 } else {
                    counts[k] = 1
                    order.append((k, item))
                }
            }
            let top = counts.values.max() ?? 0
            return .list(TemplateList(owned: order.filter { counts[$0.0] == top }.map(\.1)))
        }
    }
}

/// Python's `re.sub(pattern, repl, text, count)` (count 0: every match) on ICU's regular expressions, which agree
/// with Python's for the patterns templates use; `\1`–`\9` in `repl` name groups, as in Python.
func pyRegexSub(_ pattern: String, _ repl: String, _ text: String, count: Int) throws(Failure) -> String {
    let expression: NSRegularExpression
    do { expression = try NSRegularExpression(pattern: pattern) } catch {
        throw Failure(.value, "regex_replace: bad pattern \(pattern.debugDescription)")
    }
    var template = "", scalars = Array(repl.unicodeScalars), index = 0
    while index < scalars.count {
        let scalar = scalars[index]
        if scalar == "\\", index + 1 < scalars.count, ("1"..."9").contains(scalars[index + 1]) {
            template += "$" + String(scalars[index + 1])
            index += 2
            continue
        }
        template += NSRegularExpression.escapedTemplate(for: String(scalar))
        index += 1
    }
    var result = text
    let matches = expression.matches(in: text, range: NSRange(text.startIndex..., in: text))
    for match in (count > 0 ? Array(matches.prefix(count)) : matches).reversed() {
        guard let range = Range(match.range, in: result) else { continue }
        result.replaceSubrange(range, with: expression.replacementString(for: match, in: text, offset: 0, template: template))
    }
    return result
}
