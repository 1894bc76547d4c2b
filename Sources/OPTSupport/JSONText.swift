/// JSON string literals written by hand where an encoder would cost too much, order keys differently or
/// escape differently: a safetensors header, a million sample lines, Python's `json.dumps` output (Super-NI's
/// report), Jinja's `tojson`.
public enum JSONText {
    /// How much beyond JSON's minimum is escaped.
    public struct Escaping: OptionSet, Sendable {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }
        /// Every code point past ASCII as `\uXXXX` (surrogate pairs beyond the BMP): Python's `json.dumps`
        /// with its default `ensure_ascii=True`.
        public static let asciiOnly = Escaping(rawValue: 1)
        /// `<`, `>`, `&` and `'` as `\u003c`…, so that the text is safe inside HTML: Jinja's `tojson`.
        public static let htmlSafe = Escaping(rawValue: 2)
    }

    /// Appends `text` as a JSON string literal: quote, backslash and control characters escaped (with
    /// JSON's short forms where it has them), the rest as `escaping` says.
    public static func appendQuoted(_ text: String, to out: inout String, escaping: Escaping = []) {
        out.unicodeScalars.append("\"")
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case "<", ">", "&", "'" where escaping.contains(.htmlSafe):
                appendEscaped(scalar.value, to: &out)
            case _ where scalar.value < 0x20 || (scalar.value > 0x7E && escaping.contains(.asciiOnly)):
                if scalar.value > 0xFFFF {
                    let v = scalar.value - 0x10000
                    appendEscaped(0xD800 + (v >> 10), to: &out)
                    appendEscaped(0xDC00 + (v & 0x3FF), to: &out)
                } else {
                    appendEscaped(scalar.value, to: &out)
                }
            default:
                out.unicodeScalars.append(scalar)
            }
        }
        out.unicodeScalars.append("\"")
    }

    /// `text` as a JSON string literal.
    public static func quoted(_ text: String, escaping: Escaping = []) -> String {
        var out = ""
        appendQuoted(text, to: &out, escaping: escaping)
        return out
    }

    /// `\u` and four lowercase hexadecimal digits, as Python writes them.
    private static func appendEscaped(_ value: UInt32, to out: inout String) {
        let digits = String(value, radix: 16)
        out += "\\u" + String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}
