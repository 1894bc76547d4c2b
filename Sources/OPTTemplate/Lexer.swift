import OPTSupport
/// What the lexer produces; `op` carries Jinja's operator spelling.
enum TokenKind: Equatable {
    case data(String)
    case variableBegin
    case variableEnd
    case blockBegin
    case blockEnd
    case name(String)
    case string(String)
    case int(Int)
    case float(Double)
    case op(String)
    case eof
}

struct Token {
    let kind: TokenKind
    let loc: SourceLoc

    /// How Jinja describes the token in "expected …, got …" messages.
    var described: String {
        switch kind {
        case .data: return "template data"
        case .variableBegin: return "begin of print statement"
        case .variableEnd: return "end of print statement"
        case .blockBegin: return "begin of statement block"
        case .blockEnd: return "end of statement block"
        case .name(let n): return n
        case .string(let s): return s
        case .int(let i): return String(i)
        case .float(let d): return pyFloatRepr(d)
        case .op(let o): return o
        case .eof: return "end of template"
        }
    }
}


/// Splits a template into tokens with Jinja 3.1's default delimiters and whitespace control.
struct Lexer {
    let name: String
    let s: [Unicode.Scalar]
    var lineStarts: [Int] = [0]
    var tokens: [Token] = []

    init(source: String, name: String, keepTrailingNewline: Bool = false) {
        self.name = name
        // Jinja normalizes every newline sequence to "\n" and drops one trailing newline unless told to keep it.
        var scalars: [Unicode.Scalar] = []
        scalars.reserveCapacity(source.unicodeScalars.count)
        var previousCR = false
        for c in source.unicodeScalars {
            if c == "\r" {
                scalars.append("\n")
                previousCR = true
                continue
            }
            if c == "\n" && previousCR {
                previousCR = false
                continue
            }
            previousCR = false
            scalars.append(c)
        }
        if scalars.last == "\n" && !keepTrailingNewline { scalars.removeLast() }
        s = scalars
        for (i, c) in s.enumerated() where c == "\n" { lineStarts.append(i + 1) }
    }

    func loc(_ i: Int) -> SourceLoc {
        var lo = 0
        var hi = lineStarts.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if lineStarts[mid] <= i { lo = mid } else { hi = mid - 1 }
        }
        return SourceLoc(line: Int32(lo + 1), column: Int32(i - lineStarts[lo] + 1))
    }

    func fail(_ reason: String, at i: Int) -> TemplateError {
        let l = loc(i)
        return TemplateError(kind: .syntax, reason: reason, templateName: name, line: Int(l.line), column: Int(l.column))
    }

    func text(_ a: Int, _ b: Int) -> String {
        var v = String.UnicodeScalarView()
        v.append(contentsOf: s[a..<b])
        return String(v)
    }

    func at(_ i: Int, _ lit: String) -> Bool {
        var j = i
        for c in lit.unicodeScalars {
            guard j < s.count, s[j] == c else { return false }
            j += 1
        }
        return true
    }

    func skipSpace(_ i: Int) -> Int {
        var j = i
        while j < s.count, PythonText.isWhitespace(s[j]) { j += 1 }
        return j
    }

    mutating func emitData(_ a: Int, _ b: Int, stripEnd: Bool) {
        var end = b
        if stripEnd { while end > a, PythonText.isWhitespace(s[end - 1]) { end -= 1 } }
        if end > a { tokens.append(Token(kind: .data(text(a, end)), loc: loc(a))) }
    }

    mutating func tokenize() throws(TemplateError) -> [Token] {
        var i = 0
        let n = s.count
        while i < n {
            // Find the next tag start.
            var j = i
            var found = false
            while j + 1 < n {
                if s[j] == "{" && (s[j + 1] == "{" || s[j + 1] == "%" || s[j + 1] == "#") {
                    found = true
                    break
                }
                j += 1
            }
            if !found {
                emitData(i, n, stripEnd: false)
                break
            }
            let kindChar = s[j + 1]
            var k = j + 2
            var sign: Unicode.Scalar? = nil
            if k < n, s[k] == "-" || s[k] == "+" {
                sign = s[k]
                k += 1
            }
            let strip = sign == "-"
            if kindChar == "%", let (contentStart, after) = rawBegin(k) {
                emitData(i, j, stripEnd: strip)
                i = try lexRaw(contentStart, tagStart: j, after: after)
                _ = after
                continue
            }
            emitData(i, j, stripEnd: strip)
            if kindChar == "#" {
                // The first "#}" ends the comment; a "-" right before it (not the opening sign) strips what follows.
                var q = k
                var end = -1
                while q + 1 < n {
                    if s[q] == "#" && s[q + 1] == "}" { end = q; break }
                    q += 1
                }
                if end < 0 { throw fail("Missing end of comment tag", at: j) }
                i = end + 2
                if end - 1 >= k, s[end - 1] == "-" { i = skipSpace(i) }
                continue
            }
            let isBlock = kindChar == "%"
            tokens.append(Token(kind: isBlock ? .blockBegin : .variableBegin, loc: loc(j)))
            i = try lexTag(k, isBlock: isBlock, tagStart: j)
        }
        tokens.append(Token(kind: .eof, loc: loc(n)))
        return tokens
    }

    /// Matches `\s*raw\s*(-%}\s*|%})` after `{%` and its sign; returns where the raw content starts.
    func rawBegin(_ k: Int) -> (Int, Int)? {
        var p = skipSpace(k)
        guard at(p, "raw") else { return nil }
        p = skipSpace(p + 3)
        if at(p, "-%}") { let c = skipSpace(p + 3); return (c, c) }
        if at(p, "%}") { return (p + 2, p + 2) }
        return nil
    }

    mutating func lexRaw(_ start: Int, tagStart: Int, after: Int) throws(TemplateError) -> Int {
        var q = start
        let n = s.count
        while q + 1 < n {
            if s[q] == "{" && s[q + 1] == "%" {
                var p = q + 2
                var sign: Unicode.Scalar? = nil
                if p < n, s[p] == "-" || s[p] == "+" { sign = s[p]; p += 1 }
                p = skipSpace(p)
                if at(p, "endraw") {
                    p = skipSpace(p + 6)
                    var endAfter = -1
                    if at(p, "-%}") {
                        endAfter = skipSpace(p + 3)
                    } else if at(p, "+%}") {
                        endAfter = p + 3
                    } else if at(p, "%}") {
                        endAfter = p + 2
                    }
                    if endAfter >= 0 {
                        emitData(start, q, stripEnd: sign == "-")
                        return endAfter
                    }
                }
            }
            q += 1
        }
        throw fail("Missing end of raw directive", at: tagStart)
    }

    static let twoCharOps: Set<String> = ["//", "**", "==", "!=", ">=", "<="]
    static let oneCharOps: Set<Unicode.Scalar> = [
        "+", "-", "/", "*", "%", "~", "[", "]", "(", ")", "{", "}", ">", "<", "=", ".", ":", "|", ",", ";",
    ]

    static func isDigit(_ c: Unicode.Scalar) -> Bool { c.value >= 0x30 && c.value <= 0x39 }

    mutating func lexTag(_ start: Int, isBlock: Bool, tagStart: Int) throws(TemplateError) -> Int {
        var i = start
        let n = s.count
        var balance: [Unicode.Scalar] = []
        while i < n {
            if balance.isEmpty {
                if isBlock {
                    if at(i, "-%}") {
                        tokens.append(Token(kind: .blockEnd, loc: loc(i)))
                        return skipSpace(i + 3)
                    }
                    if at(i, "+%}") {
                        tokens.append(Token(kind: .blockEnd, loc: loc(i)))
                        return i + 3
                    }
                    if at(i, "%}") {
                        tokens.append(Token(kind: .blockEnd, loc: loc(i)))
                        return i + 2
                    }
                } else {
                    if at(i, "-}}") {
                        tokens.append(Token(kind: .variableEnd, loc: loc(i)))
                        return skipSpace(i + 3)
                    }
                    if at(i, "}}") {
                        tokens.append(Token(kind: .variableEnd, loc: loc(i)))
                        return i + 2
                    }
                }
            }
            let c = s[i]
            if PythonText.isWhitespace(c) {
                i += 1
                continue
            }
            let tokenLoc = loc(i)
            if Lexer.isDigit(c) {
                let (kind, next) = try lexNumber(i)
                tokens.append(Token(kind: kind, loc: tokenLoc))
                i = next
                continue
            }
            if c == "_" || c.properties.isXIDStart {
                var j = i + 1
                while j < n, s[j] == "_" || s[j].properties.isXIDContinue { j += 1 }
                tokens.append(Token(kind: .name(text(i, j)), loc: tokenLoc))
                i = j
                continue
            }
            if c == "'" || c == "\"" {
                var j = i + 1
                var closed = false
                while j < n {
                    if s[j] == "\\" { j += 2; continue }
                    if s[j] == c { closed = true; break }
                    j += 1
                }
                guard closed else { throw fail("unexpected char '\(c)' at \(i)", at: i) }
                let value = try decodeEscapes(i + 1, j)
                tokens.append(Token(kind: .string(value), loc: tokenLoc))
                i = j + 1
                continue
            }
            if i + 1 < n {
                var two = String(c)
                two.unicodeScalars.append(s[i + 1])
                if Lexer.twoCharOps.contains(two) {
                    tokens.append(Token(kind: .op(two), loc: tokenLoc))
                    i += 2
                    continue
                }
            }
            if Lexer.oneCharOps.contains(c) {
                switch c {
                case "(", "[", "{": balance.append(c)
                case ")", "]", "}":
                    guard let open = balance.popLast() else { throw fail("unexpected '\(c)'", at: i) }
                    let expected: Unicode.Scalar = open == "(" ? ")" : open == "[" ? "]" : "}"
                    if expected != c { throw fail("unexpected '\(c)', expected '\(expected)'", at: i) }
                default: break
                }
                tokens.append(Token(kind: .op(String(c)), loc: tokenLoc))
                i += 1
                continue
            }
            throw fail("unexpected char '\(c)' at \(i)", at: i)
        }
        if let open = balance.last { throw fail("unexpected end of template, expected '\(open == "(" ? ")" : open == "[" ? "]" : "}")'", at: n) }
        return n
    }

    func scanDigits(_ i: Int) -> Int {
        // (\d+_)*\d+
        var j = i
        guard j < s.count, Lexer.isDigit(s[j]) else { return i }
        while j < s.count {
            if Lexer.isDigit(s[j]) { j += 1; continue }
            if s[j] == "_", j + 1 < s.count, Lexer.isDigit(s[j + 1]) { j += 1; continue }
            break
        }
        return j
    }

    func lexNumber(_ i: Int) throws(TemplateError) -> (TokenKind, Int) {
        let n = s.count
        // Jinja's float rule has a (?<!\.) look-behind: `x.0.1` is two item accesses.
        if i == 0 || s[i - 1] != "." {
            let intEnd = scanDigits(i)
            var j = intEnd
            var isFloat = false
            if j + 1 < n, s[j] == ".", Lexer.isDigit(s[j + 1]) {
                j = scanDigits(j + 1)
                isFloat = true
            }
            if j < n, s[j] == "e" || s[j] == "E" {
                var p = j + 1
                if p < n, s[p] == "+" || s[p] == "-" { p += 1 }
                let e = scanDigits(p)
                if e > p {
                    j = e
                    isFloat = true
                }
            }
            if isFloat {
                let literal = text(i, j).replacingAll("_", with: "")
                guard let d = Double(literal) else { throw fail("bad float literal", at: i) }
                return (.float(d), j)
            }
        }
        // Integers: 0b/0o/0x prefixes, [1-9](_?\d)*, 0(_?0)*
        if s[i] == "0", i + 1 < n {
            let p = s[i + 1]
            let radix: Int? = (p == "b" || p == "B") ? 2 : (p == "o" || p == "O") ? 8 : (p == "x" || p == "X") ? 16 : nil
            if let radix {
                var j = i + 2
                var digits = ""
                while j < n {
                    if s[j] == "_", j + 1 < n, Int(String(s[j + 1]), radix: radix) != nil { j += 1; continue }
                    guard Int(String(s[j]), radix: radix) != nil else { break }
                    digits.unicodeScalars.append(s[j])
                    j += 1
                }
                if !digits.isEmpty {
                    guard let v = Int(digits, radix: radix) else { throw fail("integer literal too large", at: i) }
                    return (.int(v), j)
                }
            }
        }
        if s[i] == "0" {
            var j = i + 1
            while j < n {
                if s[j] == "0" { j += 1; continue }
                if s[j] == "_", j + 1 < n, s[j + 1] == "0" { j += 1; continue }
                break
            }
            return (.int(0), j)
        }
        let j = scanDigits(i)
        guard let v = Int(text(i, j).replacingAll("_", with: "")) else { throw fail("integer literal too large", at: i) }
        return (.int(v), j)
    }

    /// Python's `unicode-escape` decoding, which Jinja applies to string literals.
    func decodeEscapes(_ a: Int, _ b: Int) throws(TemplateError) -> String {
        var out = String.UnicodeScalarView()
        var i = a
        while i < b {
            let c = s[i]
            if c != "\\" || i + 1 >= b {
                out.append(c)
                i += 1
                continue
            }
            let e = s[i + 1]
            i += 2
            switch e {
            case "\n": break
            case "\\": out.append("\\")
            case "'": out.append("'")
            case "\"": out.append("\"")
            case "a": out.append("\u{07}")
            case "b": out.append("\u{08}")
            case "f": out.append("\u{0C}")
            case "n": out.append("\n")
            case "r": out.append("\r")
            case "t": out.append("\t")
            case "v": out.append("\u{0B}")
            case "0"..."7":
                var v = e.value - 0x30
                var count = 1
                while count < 3, i < b, s[i].value >= 0x30, s[i].value <= 0x37 {
                    v = v * 8 + s[i].value - 0x30
                    i += 1
                    count += 1
                }
                out.append(Unicode.Scalar(v) ?? "\u{FFFD}")
            case "x", "u", "U":
                let width = e == "x" ? 2 : e == "u" ? 4 : 8
                var v: UInt32 = 0
                for k in 0..<width {
                    guard i + k < b, let d = hexValue(UInt8(truncatingIfNeeded: s[i + k].value)), s[i + k].isASCII else {
                        throw fail("truncated \\\(e)\(String(repeating: "X", count: width)) escape", at: i - 2)
                    }
                    v = v * 16 + UInt32(d)
                }
                i += width
                guard let scalar = Unicode.Scalar(v) else { throw fail("illegal Unicode character", at: i - 2) }
                out.append(scalar)
            default:
                out.append("\\")
                out.append(e)
            }
        }
        return String(out)
    }
}

extension String {
    /// Plain substring replacement without Foundation.
    func replacingAll(_ target: String, with replacement: String) -> String {
        pyReplace(self, target, replacement, count: -1)
    }
}

/// The value of an ASCII hexadecimal digit (string escapes `\x`, `\u`, `\U`).
func hexValue(_ b: UInt8) -> Int? {
    switch b {
    case 0x30...0x39: return Int(b - 0x30)
    case 0x41...0x46: return Int(b - 0x41 + 10)
    case 0x61...0x66: return Int(b - 0x61 + 10)
    default: return nil
    }
}
