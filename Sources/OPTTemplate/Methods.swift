import OPTSupport
/// Methods of Python values that templates call (`text.split()`, `items.append(x)`, `d.get(k)`) and the globals.

let listMethodNames: Set<String> = [
    "append", "extend", "insert", "pop", "remove", "index", "count", "reverse", "sort", "clear", "copy",
]
let dictMethodNames: Set<String> = [
    "keys", "values", "items", "get", "update", "pop", "setdefault", "copy", "clear", "popitem",
]

/// Python-style binding of positional and keyword arguments to named parameters.
func bindArguments(_ function: String, _ args: [TemplateValue], _ kwargs: [(String, TemplateValue)],
                   _ names: [String], required: Int = 0) throws(Failure) -> [TemplateValue?] {
    if args.count > names.count {
        throw Failure(.type, "\(function)() takes at most \(names.count) arguments (\(args.count) given)")
    }
    var bound = [TemplateValue?](repeating: nil, count: names.count)
    for (i, a) in args.enumerated() { bound[i] = a }
    for (k, v) in kwargs {
        guard let i = names.firstIndex(of: k) else {
            throw Failure(.type, "\(function)() got an unexpected keyword argument '\(k)'")
        }
        if bound[i] != nil { throw Failure(.type, "\(function)() got multiple values for argument '\(k)'") }
        bound[i] = v
    }
    for i in 0..<required where bound[i] == nil {
        throw Failure(.type, "\(function)() missing required argument '\(names[i])'")
    }
    return bound
}

/// An optional int argument; `None` counts as absent, as in Python's slice-style parameters.
func intArgument(_ v: TemplateValue?, _ what: String) throws(Failure) -> Int? {
    guard let v else { return nil }
    switch v {
    case .none: return nil
    case .int(let i): return i
    case .bool(let b): return b ? 1 : 0
    default: throw Failure(.type, "'\(v.typeName)' object cannot be interpreted as an integer")
    }
}

func requireInt(_ v: TemplateValue) throws(Failure) -> Int {
    if case .undefined(let m) = v { throw Failure(.undefined, m) }
    guard case .int(let i)? = Number(v) else {
        throw Failure(.type, "'\(v.typeName)' object cannot be interpreted as an integer")
    }
    return i
}

func requireString(_ v: TemplateValue, _ context: String) throws(Failure) -> String {
    if case .string(let s) = v { return s }
    if case .undefined(let m) = v { throw Failure(.undefined, m) }
    throw Failure(.type, "\(context) must be str, not \(v.typeName)")
}

func optionalString(_ v: TemplateValue?, _ context: String) throws(Failure) -> String? {
    guard let v else { return nil }
    if case .none = v { return nil }
    return try requireString(v, context)
}

func strings(_ values: [String]) -> TemplateValue { .list(TemplateList(owned: values.map { .string($0) })) }

extension Renderer {
    func hasMethod(_ obj: TemplateValue, _ name: String) -> Bool {
        switch obj {
        case .string: return stringMethodNames.contains(name)
        case .list: return listMethodNames.contains(name)
        case .dict: return dictMethodNames.contains(name)
        case .tuple: return name == "index" || name == "count"
        case .object(let o):
            if case .loop = o.kind { return name == "cycle" }
            return false
        default: return false
        }
    }

    func callMethod(_ receiver: TemplateValue, _ name: String, _ args: [TemplateValue],
                    _ kwargs: [(String, TemplateValue)]) throws(Failure) -> TemplateValue {
        switch receiver {
        case .string(let s): return try callStringMethod(s, name, args, kwargs)
        case .list(let l): return try callListMethod(l, name, args, kwargs)
        case .dict(let d): return try callDictMethod(d, name, args, kwargs)
        case .tuple(let t):
            return try callSequenceQuery(t, name, args, kwargs, typeName: "tuple")
        case .object(let o):
            if case .loop(let state) = o.kind, name == "cycle" {
                guard !args.isEmpty else { throw Failure(.type, "no items for cycling given") }
                return args[state.index0 % args.count]
            }
        default: break
        }
        throw Failure(.undefined, "'\(receiver.typeName) object' has no attribute '\(name)'")
    }

    func callSequenceQuery(_ items: [TemplateValue], _ name: String, _ args: [TemplateValue],
                           _ kwargs: [(String, TemplateValue)], typeName: String) throws(Failure) -> TemplateValue {
        if name == "count" {
            let a = try bindArguments("count", args, kwargs, ["value"], required: 1)
            return .int(items.filter { pyEquals($0, a[0]!) }.count)
        }
        let a = try bindArguments("index", args, kwargs, ["value", "start", "stop"], required: 1)
        let (lo, hi) = clampRange(try intArgument(a[1], "start"), try intArgument(a[2], "stop"), items.count)
        if lo < hi {
            for i in lo..<hi where pyEquals(items[i], a[0]!) { return .int(i) }
        }
        throw Failure(.value, typeName == "list" ? "\(a[0]!.pyRepr) is not in list" : "tuple.index(x): x not in tuple")
    }

    func callListMethod(_ original: TemplateList, _ name: String, _ args: [TemplateValue],
                        _ kwargs: [(String, TemplateValue)]) throws(Failure) -> TemplateValue {
        switch name {
        case "index", "count":
            return try callSequenceQuery(original.items, name, args, kwargs, typeName: "list")
        case "copy":
            _ = try bindArguments("copy", args, kwargs, [])
            return .list(TemplateList(owned: original.items))
        default: break
        }
        let l = mutable(original)
        switch name {
        case "append":
            let a = try bindArguments("append", args, kwargs, ["object"], required: 1)
            if l.items.count >= maxSequenceLength { throw Failure(.overflow, "list is too long") }
            l.items.append(a[0]!)
        case "extend":
            let a = try bindArguments("extend", args, kwargs, ["iterable"], required: 1)
            let more = try pyIterate(a[0]!)
            if l.items.count + more.count > maxSequenceLength { throw Failure(.overflow, "list is too long") }
            l.items.append(contentsOf: more)
        case "insert":
            let a = try bindArguments("insert", args, kwargs, ["index", "object"], required: 2)
            var i = try requireInt(a[0]!)
            if i < 0 { i = max(0, i + l.items.count) }
            l.items.insert(a[1]!, at: min(i, l.items.count))
        case "pop":
            let a = try bindArguments("pop", args, kwargs, ["index"])
            if l.items.isEmpty { throw Failure(.index, "pop from empty list") }
            let i = try intArgument(a[0], "index") ?? -1
            let j = i < 0 ? i + l.items.count : i
            guard j >= 0 && j < l.items.count else { throw Failure(.index, "pop index out of range") }
            return l.items.remove(at: j)
        case "remove":
            let a = try bindArguments("remove", args, kwargs, ["value"], required: 1)
            guard let i = l.items.firstIndex(where: { pyEquals($0, a[0]!) }) else {
                throw Failure(.value, "list.remove(x): x not in list")
            }
            l.items.remove(at: i)
        case "reverse":
            _ = try bindArguments("reverse", args, kwargs, [])
            l.items.reverse()
        case "clear":
            _ = try bindArguments("clear", args, kwargs, [])
            l.items.removeAll()
        case "sort":
            let a = try bindArguments("sort", args, kwargs, ["key", "reverse"])
            if let key = a[0], key != .none { throw Failure(.type, "sort(key=...) is not supported") }
            l.items = try sortValues(l.items, reverse: a[1]?.isTruthy ?? false) { $0 }
        default:
            throw Failure(.undefined, "'list object' has no attribute '\(name)'")
        }
        return .none
    }

    func callDictMethod(_ original: TemplateDict, _ name: String, _ args: [TemplateValue],
                        _ kwargs: [(String, TemplateValue)]) throws(Failure) -> TemplateValue {
        switch name {
        case "keys":
            _ = try bindArguments("keys", args, kwargs, [])
            return .list(TemplateList(owned: original.keys))
        case "values":
            _ = try bindArguments("values", args, kwargs, [])
            return .list(TemplateList(owned: original.values.map { fresh($0) }))
        case "items":
            _ = try bindArguments("items", args, kwargs, [])
            return .list(TemplateList(owned: zip(original.keys, original.values).map { .tuple([$0, fresh($1)]) }))
        case "get":
            let a = try bindArguments("get", args, kwargs, ["key", "default"], required: 1)
            return try original.lookup(a[0]!).map { fresh($0) } ?? a[1] ?? .none
        case "copy":
            _ = try bindArguments("copy", args, kwargs, [])
            return .dict(TemplateDict(owned: original.pairs))
        default: break
        }
        let d = mutable(original)
        switch name {
        case "update":
            if args.count > 1 { throw Failure(.type, "update expected at most 1 argument, got \(args.count)") }
            if let other = args.first {
                for (k, v) in try pairsOf(other) { try d.set(k, v) }
            }
            for (k, v) in kwargs { try d.set(.string(k), v) }
            return .none
        case "pop":
            let a = try bindArguments("pop", args, kwargs, ["key", "default"], required: 1)
            if let v = try d.remove(a[0]!) { return v }
            if let fallback = a[1] { return fallback }
            throw Failure(.key, a[0]!.pyRepr)
        case "setdefault":
            let a = try bindArguments("setdefault", args, kwargs, ["key", "default"], required: 1)
            if let v = try d.lookup(a[0]!) { return v }
            try d.set(a[0]!, a[1] ?? .none)
            return a[1] ?? .none
        case "clear":
            _ = try bindArguments("clear", args, kwargs, [])
            d.keys.removeAll()
            d.values.removeAll()
            d.index.removeAll()
            return .none
        case "popitem":
            _ = try bindArguments("popitem", args, kwargs, [])
            guard let k = d.keys.last else { throw Failure(.key, "'popitem(): dictionary is empty'") }
            let v = try d.remove(k) ?? .none
            return .tuple([k, v])
        default:
            throw Failure(.undefined, "'dict object' has no attribute '\(name)'")
        }
    }

    /// The key/value pairs of a mapping or of an iterable of pairs, as `dict()` and `update()` accept.
    func pairsOf(_ v: TemplateValue) throws(Failure) -> [(TemplateValue, TemplateValue)] {
        if case .dict(let d) = v { return d.pairs }
        if case .object(let o) = v, case .namespace(let d) = o.kind { return d.pairs }
        var pairs: [(TemplateValue, TemplateValue)] = []
        for (i, item) in try pyIterate(v).enumerated() {
            let kv: [TemplateValue]
            switch item {
            case .list, .tuple, .string: kv = try pyIterate(item)
            default: throw Failure(.type, "cannot convert dictionary update sequence element #\(i) to a sequence")
            }
            guard kv.count == 2 else {
                throw Failure(.value, "dictionary update sequence element #\(i) has length \(kv.count); 2 is required")
            }
            pairs.append((kv[0], kv[1]))
        }
        return pairs
    }

    func callBuiltin(_ builtin: Builtin, _ args: [TemplateValue], _ kwargs: [(String, TemplateValue)]) throws(Failure) -> TemplateValue {
        switch builtin {
        case .range:
            if !kwargs.isEmpty { throw Failure(.type, "range() takes no keyword arguments") }
            var start = 0
            var stop = 0
            var step = 1
            switch args.count {
            case 1: stop = try requireInt(args[0])
            case 2: start = try requireInt(args[0]); stop = try requireInt(args[1])
            case 3: start = try requireInt(args[0]); stop = try requireInt(args[1]); step = try requireInt(args[2])
            default: throw Failure(.type, "range expected at most 3 arguments, got \(args.count)")
            }
            if step == 0 { throw Failure(.value, "range() arg 3 must not be zero") }
            // Computed in Double so extreme bounds cannot overflow; the cap keeps the result exact.
            let span = step > 0 ? Double(stop) - Double(start) : Double(start) - Double(stop)
            let estimate = span <= 0 ? 0 : (span / Swift.abs(Double(step))).rounded(.up)
            if estimate > Double(maxSequenceLength) { throw Failure(.overflow, "range is too long for this engine") }
            let count = Int(estimate)
            if count > maxSequenceLength { throw Failure(.overflow, "range is too long for this engine") }
            return .list(TemplateList(owned: (0..<count).map { .int(start + $0 * step) }))
        case .zip:
            if !kwargs.isEmpty { throw Failure(.type, "zip() takes no keyword arguments") }
            var columns: [[TemplateValue]] = []
            for a in args {
                do { columns.append(try pyIterate(a)) } catch {
                    throw Failure(.type, "'\(a.typeName)' object is not iterable")
                }
            }
            guard let n = columns.map(\.count).min() else { return .list(TemplateList(owned: [])) }
            return .list(TemplateList(owned: (0..<n).map { i in .tuple(columns.map { $0[i] }) }))
        case .dict:
            if args.count > 1 { throw Failure(.type, "dict expected at most 1 argument, got \(args.count)") }
            let d = TemplateDict(owned: [])
            if let first = args.first {
                for (k, v) in try pairsOf(first) { try d.set(k, v) }
            }
            for (k, v) in kwargs { try d.set(.string(k), v) }
            return .dict(d)
        case .namespace:
            let d = TemplateDict(owned: [])
            if args.count > 1 { throw Failure(.type, "namespace expected at most 1 argument, got \(args.count)") }
            if let first = args.first {
                for (k, v) in try pairsOf(first) { try d.set(k, v) }
            }
            for (k, v) in kwargs { try d.set(.string(k), v) }
            return .object(TemplateObject(.namespace(d)))
        case .lipsum:
            throw Failure(.runtime, "lipsum() is not supported by this template engine")
        }
    }

    // MARK: str methods

    func callStringMethod(_ s: String, _ name: String, _ args: [TemplateValue],
                          _ kwargs: [(String, TemplateValue)]) throws(Failure) -> TemplateValue {
        func noArgs() throws(Failure) { _ = try bindArguments(name, args, kwargs, []) }
        func predicate(_ test: (Unicode.Scalar) -> Bool) throws(Failure) -> TemplateValue {
            try noArgs()
            return .bool(!s.isEmpty && s.unicodeScalars.allSatisfy(test))
        }
        switch name {
        case "split", "rsplit":
            let a = try bindArguments(name, args, kwargs, ["sep", "maxsplit"])
            let sep = try optionalString(a[0], "sep")
            let maxsplit = try intArgument(a[1], "maxsplit") ?? -1
            return strings(name == "split" ? try pySplit(s, sep, maxsplit) : try pyRsplit(s, sep, maxsplit))
        case "strip", "lstrip", "rstrip":
            let a = try bindArguments(name, args, kwargs, ["chars"])
            let chars = try optionalString(a[0], "\(name) arg")
            return .string(pyStrip(s, chars, left: name != "rstrip", right: name != "lstrip"))
        case "lower", "casefold": try noArgs(); return .string(pyLower(s))
        case "upper": try noArgs(); return .string(pyUpper(s))
        case "capitalize": try noArgs(); return .string(pyCapitalize(s))
        case "title": try noArgs(); return .string(pyTitle(s))
        case "swapcase": try noArgs(); return .string(pySwapcase(s))
        case "replace":
            let a = try bindArguments(name, args, kwargs, ["old", "new", "count"], required: 2)
            let old = try requireString(a[0]!, "replace() argument 1")
            let new = try requireString(a[1]!, "replace() argument 2")
            return .string(pyReplace(s, old, new, count: try intArgument(a[2], "count") ?? -1))
        case "startswith", "endswith":
            let a = try bindArguments(name, args, kwargs, ["prefix", "start", "end"], required: 1)
            let start = try intArgument(a[1], "start")
            let end = try intArgument(a[2], "end")
            let affixes: [TemplateValue]
            if case .tuple(let t) = a[0]! { affixes = t } else { affixes = [a[0]!] }
            for affix in affixes {
                guard case .string(let text) = affix else {
                    throw Failure(.type, "\(name) first arg must be str or a tuple of str, not \(affix.typeName)")
                }
                if pyStartsEnds(s, text, start, end, ends: name == "endswith") { return .bool(true) }
            }
            return .bool(false)
        case "find", "rfind", "index", "rindex", "count":
            let a = try bindArguments(name, args, kwargs, ["sub", "start", "end"], required: 1)
            let sub = try requireString(a[0]!, "must be str, not \(a[0]!.typeName); argument")
            let start = try intArgument(a[1], "start")
            let end = try intArgument(a[2], "end")
            if name == "count" { return .int(pyCount(s, sub, start, end)) }
            let r = pyFind(s, sub, start, end, name.hasPrefix("r") ? .last : .first)
            if r < 0 && (name == "index" || name == "rindex") { throw Failure(.value, "substring not found") }
            return .int(r)
        case "join":
            let a = try bindArguments(name, args, kwargs, ["iterable"], required: 1)
            var parts: [String] = []
            for (i, item) in try pyIterate(a[0]!).enumerated() {
                guard case .string(let p) = item else {
                    throw Failure(.type, "sequence item \(i): expected str instance, \(item.typeName) found")
                }
                parts.append(p)
            }
            return .string(parts.joined(separator: s))
        case "format": return .string(try pyStrFormat(s, args, kwargs))
        case "format_map":
            let a = try bindArguments(name, args, kwargs, ["mapping"], required: 1)
            return .string(try pyStrFormat(s, [], try pairsOf(a[0]!).map { ($0.0.pyStr, $0.1) }))
        case "isdigit": return try predicate(isDigitChar)
        case "isdecimal": return try predicate(isDecimal)
        case "isnumeric": return try predicate(isNumericChar)
        case "isalpha": return try predicate(isAlpha)
        case "isalnum": return try predicate(isAlnum)
        case "isspace": return try predicate(PythonText.isWhitespace)
        case "isascii": try noArgs(); return .bool(s.unicodeScalars.allSatisfy { $0.isASCII })
        case "isprintable": try noArgs(); return .bool(s.unicodeScalars.allSatisfy(pyIsPrintable))
        case "isupper": try noArgs(); return .bool(pyIsUpper(s))
        case "islower": try noArgs(); return .bool(pyIsLower(s))
        case "istitle": try noArgs(); return .bool(pyIsTitle(s))
        case "isidentifier":
            try noArgs()
            guard let f = s.unicodeScalars.first else { return .bool(false) }
            return .bool((f == "_" || f.properties.isXIDStart)
                && s.unicodeScalars.dropFirst().allSatisfy { $0 == "_" || $0.properties.isXIDContinue })
        case "splitlines":
            let a = try bindArguments(name, args, kwargs, ["keepends"])
            return strings(pySplitlines(s, keepends: a[0]?.isTruthy ?? false))
        case "zfill":
            let a = try bindArguments(name, args, kwargs, ["width"], required: 1)
            let width = try requireInt(a[0]!)
            let length = s.unicodeScalars.count
            guard width > length else { return .string(s) }
            var body = s
            var sign = ""
            if let f = s.unicodeScalars.first, f == "-" || f == "+" {
                sign = String(f)
                body = String(s.unicodeScalars.dropFirst())
            }
            return .string(sign + String(repeating: "0", count: width - length) + body)
        case "center", "ljust", "rjust":
            let a = try bindArguments(name, args, kwargs, ["width", "fillchar"], required: 1)
            let width = try requireInt(a[0]!)
            let fill = try optionalString(a[1], "fillchar") ?? " "
            guard fill.unicodeScalars.count == 1 else {
                throw Failure(.type, "The fill character must be exactly one character long")
            }
            if width > maxSequenceLength { throw Failure(.overflow, "width is too large") }
            if name == "center" { return .string(pyCenter(s, width, fill)) }
            let padding = max(0, width - s.unicodeScalars.count)
            let pad = String(repeating: fill, count: padding)
            return .string(name == "ljust" ? s + pad : pad + s)
        case "partition", "rpartition":
            let a = try bindArguments(name, args, kwargs, ["sep"], required: 1)
            let sep = try requireString(a[0]!, "must be str, not \(a[0]!.typeName); sep")
            if sep.isEmpty { throw Failure(.value, "empty separator") }
            let hay = Array(s.utf8)
            let needle = Array(sep.utf8)
            let hit = name == "partition" ? byteFind(hay, needle, from: 0) : byteFindLast(hay, needle, from: 0, to: hay.count)
            guard let hit else {
                return name == "partition" ? .tuple([.string(s), "", ""]) : .tuple(["", "", .string(s)])
            }
            return .tuple([.string(stringFromBytes(hay[0..<hit])), .string(sep),
                           .string(stringFromBytes(hay[(hit + needle.count)...]))])
        case "removeprefix", "removesuffix":
            let a = try bindArguments(name, args, kwargs, ["affix"], required: 1)
            let affix = try requireString(a[0]!, "\(name)() argument")
            if name == "removeprefix" {
                if s.utf8.starts(with: affix.utf8) { return .string(stringFromBytes(Array(s.utf8)[affix.utf8.count...])) }
            } else if s.utf8.reversed().starts(with: affix.utf8.reversed()) {
                let bytes = Array(s.utf8)
                return .string(stringFromBytes(bytes[0..<(bytes.count - affix.utf8.count)]))
            }
            return .string(s)
        case "expandtabs":
            let a = try bindArguments(name, args, kwargs, ["tabsize"])
            let size = try intArgument(a[0], "tabsize") ?? 8
            var out = ""
            var column = 0
            for c in s.unicodeScalars {
                if c == "\t" {
                    if size > 0 {
                        let n = size - column % size
                        out += String(repeating: " ", count: n)
                        column += n
                    }
                } else {
                    out.unicodeScalars.append(c)
                    column = (c == "\n" || c == "\r") ? 0 : column + 1
                }
            }
            return .string(out)
        default:
            throw Failure(.runtime, "str.\(name)() is not supported by this template engine")
        }
    }

    /// Python's `str.format`: `{}`, `{0}`, `{name}`, `{0.attr}`, `{0[key]}`, `!r`/`!s` and format specs.
    func pyStrFormat(_ format: String, _ args: [TemplateValue], _ kwargs: [(String, TemplateValue)]) throws(Failure) -> String {
        let s = Array(format.unicodeScalars)
        var out = String.UnicodeScalarView()
        var i = 0
        var autoIndex = 0
        var usedManual = false
        while i < s.count {
            let c = s[i]
            if c == "}" {
                guard i + 1 < s.count, s[i + 1] == "}" else { throw Failure(.value, "Single '}' encountered in format string") }
                out.append("}")
                i += 2
                continue
            }
            if c != "{" {
                out.append(c)
                i += 1
                continue
            }
            if i + 1 < s.count, s[i + 1] == "{" {
                out.append("{")
                i += 2
                continue
            }
            // Find the matching close brace, allowing one nested level in the spec.
            var j = i + 1
            var depth = 1
            while j < s.count {
                if s[j] == "{" { depth += 1 }
                if s[j] == "}" { depth -= 1; if depth == 0 { break } }
                j += 1
            }
            guard j < s.count else { throw Failure(.value, "expected '}' before end of string") }
            let field = stringFromScalars(s[(i + 1)..<j])
            i = j + 1
            var fieldName = field
            var conversion: Character? = nil
            var spec = ""
            if let colon = field.firstIndex(of: ":") {
                fieldName = String(field[..<colon])
                spec = String(field[field.index(after: colon)...])
            }
            if let bang = fieldName.firstIndex(of: "!") {
                let conv = fieldName[fieldName.index(after: bang)...]
                guard conv.count == 1 else { throw Failure(.value, "expected ':' after conversion specifier") }
                conversion = conv.first
                fieldName = String(fieldName[..<bang])
            }
            if spec.contains("{") {
                spec = try pyStrFormat(spec, args, kwargs)
            }
            // Split the field name into the first part and the .attr / [key] chain.
            var first = ""
            var rest = Substring(fieldName)
            while let ch = rest.first, ch != "." && ch != "[" {
                first.append(ch)
                rest = rest.dropFirst()
            }
            var value: TemplateValue
            if first.isEmpty {
                if usedManual { throw Failure(.value, "cannot switch from manual field specification to automatic field numbering") }
                guard autoIndex < args.count else { throw Failure(.index, "Replacement index \(autoIndex) out of range for positional args tuple") }
                value = args[autoIndex]
                autoIndex += 1
            } else if let n = Int(first) {
                if autoIndex > 0 { throw Failure(.value, "cannot switch from automatic field numbering to manual field specification") }
                usedManual = true
                guard n >= 0 && n < args.count else { throw Failure(.index, "Replacement index \(n) out of range for positional args tuple") }
                value = args[n]
            } else {
                guard let kw = kwargs.first(where: { $0.0 == first }) else { throw Failure(.key, pyStringRepr(first)) }
                value = kw.1
            }
            while let ch = rest.first {
                rest = rest.dropFirst()
                if ch == "." {
                    var attr = ""
                    while let a = rest.first, a != "." && a != "[" {
                        attr.append(a)
                        rest = rest.dropFirst()
                    }
                    guard let v = try pythonAttribute(value, attr) else {
                        throw Failure(.type, "'\(value.typeName)' object has no attribute '\(attr)'")
                    }
                    value = v
                } else {
                    guard let close = rest.firstIndex(of: "]") else { throw Failure(.value, "Missing ']' in format string") }
                    let keyText = String(rest[..<close])
                    rest = rest[rest.index(after: close)...]
                    let key: TemplateValue = Int(keyText).map { .int($0) } ?? .string(keyText)
                    let v = try getitem(value, key)
                    if case .undefined = v { throw Failure(.key, key.pyRepr) }
                    value = v
                }
            }
            switch conversion {
            case nil: break
            case "r", "a": value = .string(value.pyRepr)
            case "s": value = .string(value.pyStr)
            default: throw Failure(.value, "Unknown conversion specifier \(conversion!)")
            }
            if case .undefined = value, spec.isEmpty {
                continue
            }
            out.append(contentsOf: try applyFormatSpec(value, spec).unicodeScalars)
        }
        return String(out)
    }
}
