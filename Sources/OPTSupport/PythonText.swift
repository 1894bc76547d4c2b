/// The few pieces of Python's `str` and `re` semantics that the reference metric scripts rely on,
/// on Unicode scalars (Python strings are sequences of code points; Swift's `String` compares by
/// canonical equivalence, which the references do not).
public enum PythonText {
    /// `str.lower()`: the full lowercase mapping of every code point, with the one contextual rule
    /// CPython applies (capital sigma becomes final sigma at the end of a cased word).
    public static func lower<C: RandomAccessCollection>(_ scalars: C) -> [Unicode.Scalar] where C.Element == Unicode.Scalar, C.Index == Int {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(scalars.count)
        for index in scalars.indices {
            let scalar = scalars[index]
            let value = scalar.value
            if value < 0x80 {
                out.append(value >= 0x41 && value <= 0x5A ? Unicode.Scalar(UInt8(value + 32)) : scalar)
            } else if value == 0x3A3 {
                out.append(isFinalSigma(scalars, at: index) ? "\u{3C2}" : "\u{3C3}")
            } else {
                out.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars)
            }
        }
        return out
    }

    /// `str.lower()` of a whole string.
    public static func lower(_ text: String) -> [Unicode.Scalar] {
        lower(Array(text.unicodeScalars))
    }

    /// CPython's `handle_capital_sigma`: Final_Sigma is `\p{cased}\p{case-ignorable}*` before and
    /// not `\p{case-ignorable}*\p{cased}` after.
    private static func isFinalSigma<C: RandomAccessCollection>(_ scalars: C, at index: Int) -> Bool where C.Element == Unicode.Scalar, C.Index == Int {
        var j = index - 1
        while j >= scalars.startIndex && scalars[j].properties.isCaseIgnorable { j -= 1 }
        guard j >= scalars.startIndex && scalars[j].properties.isCased else { return false }
        j = index + 1
        while j < scalars.endIndex && scalars[j].properties.isCaseIgnorable { j += 1 }
        return j == scalars.endIndex || !scalars[j].properties.isCased
    }

    /// `str.isspace()` for one code point (Python's list, which adds the ASCII information
    /// separators U+001C...U+001F to Unicode's White_Space and leaves out U+200B and U+FEFF).
    /// (Inlinable: the template engine's lexer asks it of every character.)
    @inlinable public static func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            return true
        default:
            return false
        }
    }

    /// Membership in `string.punctuation` (ASCII only).
    public static func isPunctuation(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x21...0x2F, 0x3A...0x40, 0x5B...0x60, 0x7B...0x7E: return true
        default: return false
        }
    }

    /// `\w` of Python's `re` for a `str` pattern: `ch.isalnum() or ch == '_'` (letters of any
    /// script and anything with a numeric value; combining marks are not word characters).
    public static func isWordCharacter(_ scalar: Unicode.Scalar) -> Bool {
        let value = scalar.value
        if value < 0x80 {
            return (value >= 0x30 && value <= 0x39) || (value >= 0x41 && value <= 0x5A) || (value >= 0x61 && value <= 0x7A) || value == 0x5F
        }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            return true
        default:
            return scalar.properties.numericType != nil
        }
    }

    /// `str.split()` without arguments: the runs between whitespace, empty ones dropped.
    public static func split(_ scalars: [Unicode.Scalar]) -> [ArraySlice<Unicode.Scalar>] {
        var pieces: [ArraySlice<Unicode.Scalar>] = []
        var start: Int?
        for (index, scalar) in scalars.enumerated() {
            if isWhitespace(scalar) {
                if let begin = start { pieces.append(scalars[begin..<index]); start = nil }
            } else if start == nil {
                start = index
            }
        }
        if let begin = start { pieces.append(scalars[begin..<scalars.count]) }
        return pieces
    }

    /// `' '.join(text.split())`.
    public static func collapseWhitespace(_ scalars: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(scalars.count)
        for piece in split(scalars) {
            if !out.isEmpty { out.append(" ") }
            out.append(contentsOf: piece)
        }
        return out
    }

    /// A `String` made of exactly these scalars.
    public static func string<S: Sequence>(_ scalars: S) -> String where S.Element == Unicode.Scalar {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        return String(view)
    }

    /// `str.strip()`: the text without the code points `str.isspace` accepts at either end.
    public static func strip(_ text: String) -> String {
        let scalars = text.unicodeScalars
        guard let first = scalars.firstIndex(where: { !isWhitespace($0) }),
              let last = scalars.lastIndex(where: { !isWhitespace($0) }) else { return "" }
        return String(scalars[first...last])
    }
}
