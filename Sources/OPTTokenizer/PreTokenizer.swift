/// The four character classes GPT-2's split pattern distinguishes.
enum CharacterClass: UInt8, Sendable {
    /// `\p{L}`: general categories Lu, Ll, Lt, Lm, Lo.
    case letter
    /// `\p{N}`: general categories Nd, Nl, No.
    case number
    /// `\s`: the Unicode White_Space property (Oniguruma's definition; U+001C...U+001F are not in it).
    case whitespace
    /// Everything else, including unassigned code points.
    case other

    /// The newest Unicode version whose letters and numbers the Oniguruma engine inside Hugging
    /// Face `tokenizers` knows. Swift's tables are newer (Unicode 17 in Swift 6.3); characters
    /// assigned later are unassigned to Oniguruma, hence `.other`, and must be here too for the
    /// ids to match. Checked over every code point by the unicode_classes.json fixture.
    static let onigurumaUnicodeVersion = (major: 16, minor: 0)

    /// Classes of the ASCII range, looked up before anything slower.
    private static let ascii: [CharacterClass] = (0..<128).map { value in
        switch UInt8(value) {
        case 0x09...0x0D, 0x20: return .whitespace
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return .number
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"): return .letter
        default: return .other
        }
    }

    /// The class Hugging Face's pre-tokenizer gives `scalar`.
    static func of(_ scalar: Unicode.Scalar) -> CharacterClass {
        if scalar.value < 128 { return ascii[Int(scalar.value)] }
        let properties = scalar.properties
        if properties.isWhitespace { return .whitespace }
        let result: CharacterClass
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            result = .letter
        case .decimalNumber, .letterNumber, .otherNumber:
            result = .number
        default:
            return .other
        }
        if let age = properties.age,
           (age.major, age.minor) > (onigurumaUnicodeVersion.major, onigurumaUnicodeVersion.minor) {
            return .other
        }
        return result
    }

    /// The class of the byte-0x80-or-above scalar whose UTF-8 starts at `bytes[index]`, and its
    /// length. Bytes that do not start a valid sequence count as one `.other` byte, which cannot
    /// happen for text that came from a Swift `String` but keeps the scanner total.
    @inline(__always)
    static func decode(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int, end: Int) -> (CharacterClass, Int) {
        let lead = bytes[index]
        if lead < 0x80 { return (ascii[Int(lead)], 1) }
        let length: Int
        var value: UInt32
        switch lead {
        case 0xC2...0xDF: length = 2; value = UInt32(lead & 0x1F)
        case 0xE0...0xEF: length = 3; value = UInt32(lead & 0x0F)
        case 0xF0...0xF4: length = 4; value = UInt32(lead & 0x07)
        default: return (.other, 1)
        }
        guard index + length <= end else { return (.other, 1) }
        for offset in 1..<length {
            let byte = bytes[index + offset]
            guard byte & 0xC0 == 0x80 else { return (.other, 1) }
            value = value << 6 | UInt32(byte & 0x3F)
        }
        guard let scalar = Unicode.Scalar(value) else { return (.other, 1) }
        return (of(scalar), length)
    }
}

/// The ByteLevel pre-tokenizer's split, GPT-2's pattern
/// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`,
/// matched by hand over UTF-8 (a regex engine is several times slower here). Every character
/// belongs to exactly one class, so the matches tile the text with no gaps.
struct GPT2PreTokenizer: Sendable {
    /// Calls `body` with the byte range of each pre-token of `bytes[range]`, in order.
    static func split(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, _ body: (Range<Int>) -> Void) {
        let end = range.upperBound
        var start = range.lowerBound
        while start < end {
            let first = bytes[start]
            // Alternatives 1-7: the contractions, lower case only, as in the original pattern.
            if first == UInt8(ascii: "'"), start + 1 < end {
                let second = bytes[start + 1]
                switch second {
                case UInt8(ascii: "s"), UInt8(ascii: "t"), UInt8(ascii: "m"), UInt8(ascii: "d"):
                    body(start..<start + 2)
                    start += 2
                    continue
                case UInt8(ascii: "r"), UInt8(ascii: "v"), UInt8(ascii: "l"):
                    if start + 2 < end {
                        let third = bytes[start + 2]
                        let matches = second == UInt8(ascii: "l") ? third == UInt8(ascii: "l") : third == UInt8(ascii: "e")
                        if matches {
                            body(start..<start + 3)
                            start += 3
                            continue
                        }
                    }
                default:
                    break
                }
            }
            var (runClass, length) = CharacterClass.decode(bytes, at: start, end: end)
            var cursor = start + length
            // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`: one U+0020 may lead a run of another class.
            if first == 0x20, cursor < end {
                let (nextClass, nextLength) = CharacterClass.decode(bytes, at: cursor, end: end)
                if nextClass != .whitespace {
                    runClass = nextClass
                    cursor += nextLength
                }
            }
            if runClass != .whitespace {
                while cursor < end {
                    let (nextClass, nextLength) = CharacterClass.decode(bytes, at: cursor, end: end)
                    guard nextClass == runClass else { break }
                    cursor += nextLength
                }
                body(start..<cursor)
                start = cursor
                continue
            }
            // `\s+(?!\S)` then `\s+`: a whitespace run followed by text gives its last character
            // to the next pre-token (so " word" keeps its space), unless the run is that one
            // character; a run reaching the end is taken whole.
            var lastStart = start
            while cursor < end {
                let (nextClass, nextLength) = CharacterClass.decode(bytes, at: cursor, end: end)
                guard nextClass == .whitespace else { break }
                lastStart = cursor
                cursor += nextLength
            }
            let stop = (cursor == end || lastStart == start) ? cursor : lastStart
            body(start..<stop)
            start = stop
        }
    }
}
