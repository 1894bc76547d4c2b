/// A token matched literally in the input before pre-tokenization, with Hugging Face's
/// `AddedToken` options.
public struct AddedToken: Sendable, Hashable {
    /// The literal text.
    public var content: String
    /// The id it maps to.
    public var id: Int
    /// Special tokens are dropped by `decode(_:skipSpecialTokens: true)`.
    public var special: Bool
    /// Only match when not inside a word.
    public var singleWord: Bool
    /// Absorb the whitespace on the left of a match.
    public var lstrip: Bool
    /// Absorb the whitespace on the right of a match.
    public var rstrip: Bool
    /// Match against the normalized text (the second pass) rather than the raw text.
    public var normalized: Bool

    /// A token with Hugging Face's defaults for its kind (special tokens are not normalized).
    public init(content: String, id: Int, special: Bool, singleWord: Bool = false, lstrip: Bool = false,
                rstrip: Bool = false, normalized: Bool? = nil) {
        self.content = content
        self.id = id
        self.special = special
        self.singleWord = singleWord
        self.lstrip = lstrip
        self.rstrip = rstrip
        self.normalized = normalized ?? !special
    }
}

/// A piece of the input after added tokens are split out.
enum Segment: Equatable {
    /// Text to pre-tokenize and run through BPE.
    case text(Range<Int>)
    /// An added token's id.
    case token(Int)
}

/// Finds added tokens in UTF-8 text, leftmost-longest, as `tokenizers`' AddedVocabulary does
/// with its Aho-Corasick automata: first the non-normalized tokens over the raw text, then the
/// normalized ones over what is left (with no normalizer the two passes see the same bytes, but
/// the order still decides overlaps).
struct AddedVocabulary: Sendable {
    /// A byte trie over token contents: `edges[node]` holds (byte, child) pairs.
    private struct Trie: Sendable {
        var edges: [[(UInt8, Int32)]] = [[]]
        var terminal: [Int32] = [-1]
        var firstBytes = [Bool](repeating: false, count: 256)

        var isEmpty: Bool { edges[0].isEmpty }

        mutating func insert(_ bytes: [UInt8], token: Int32) {
            guard let first = bytes.first else { return }
            firstBytes[Int(first)] = true
            var node = 0
            for byte in bytes {
                if let child = edges[node].first(where: { $0.0 == byte })?.1 {
                    node = Int(child)
                } else {
                    edges.append([])
                    terminal.append(-1)
                    edges[node].append((byte, Int32(edges.count - 1)))
                    node = edges.count - 1
                }
            }
            terminal[node] = token
        }

        /// The longest token starting at `start`, as (token index, end).
        func longestMatch(_ bytes: UnsafeBufferPointer<UInt8>, at start: Int, end: Int) -> (Int, Int)? {
            var node = 0
            var best: (Int, Int)?
            var index = start
            while index < end {
                let byte = bytes[index]
                guard let child = edges[node].first(where: { $0.0 == byte })?.1 else { break }
                node = Int(child)
                index += 1
                if terminal[node] >= 0 { best = (Int(terminal[node]), index) }
            }
            return best
        }
    }

    /// All added tokens; a trie's terminal indexes into this.
    let tokens: [AddedToken]
    private let rawTrie: Trie
    private let normalizedTrie: Trie

    init(tokens: [AddedToken]) {
        self.tokens = tokens
        var raw = Trie()
        var normalized = Trie()
        for (index, token) in tokens.enumerated() {
            if token.normalized {
                normalized.insert(Array(token.content.utf8), token: Int32(index))
            } else {
                raw.insert(Array(token.content.utf8), token: Int32(index))
            }
        }
        rawTrie = raw
        normalizedTrie = normalized
    }

    var isEmpty: Bool { rawTrie.isEmpty && normalizedTrie.isEmpty }

    /// Splits `bytes` into text and added-token segments.
    func split(_ bytes: UnsafeBufferPointer<UInt8>) -> [Segment] {
        var first: [Segment] = []
        split(bytes, 0..<bytes.count, trie: rawTrie, into: &first)
        if normalizedTrie.isEmpty { return first }
        var second: [Segment] = []
        for segment in first {
            if case .text(let range) = segment {
                split(bytes, range, trie: normalizedTrie, into: &second)
            } else {
                second.append(segment)
            }
        }
        return second
    }

    /// One pass of `find_matches`: `range` plays the role of the whole sentence, so single-word
    /// and strip checks stop at its edges just as they stop at a split's edges in Hugging Face.
    private func split(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, trie: Trie, into segments: inout [Segment]) {
        if trie.isEmpty || range.isEmpty {
            if !range.isEmpty { segments.append(.text(range)) }
            return
        }
        var emitted = range.lowerBound
        var index = range.lowerBound
        while index < range.upperBound {
            guard trie.firstBytes[Int(bytes[index])],
                  let (tokenIndex, matchEnd) = trie.longestMatch(bytes, at: index, end: range.upperBound)
            else {
                index += 1
                continue
            }
            let token = tokens[tokenIndex]
            var start = index
            var stop = matchEnd
            index = matchEnd
            if token.singleWord {
                let wordBefore = start > range.lowerBound && Self.isWordCharacter(Self.scalar(before: start, in: bytes, from: range.lowerBound))
                let wordAfter = stop < range.upperBound && Self.isWordCharacter(Self.scalar(at: stop, in: bytes, end: range.upperBound))
                if wordBefore || wordAfter { continue }
            }
            if token.lstrip {
                var newStart = start
                while newStart > range.lowerBound {
                    let scalar = Self.scalar(before: newStart, in: bytes, from: range.lowerBound)
                    guard let scalar, scalar.properties.isWhitespace else { break }
                    newStart -= UTF8.width(scalar)
                }
                start = max(newStart, emitted)
            }
            if token.rstrip {
                while stop < range.upperBound {
                    let scalar = Self.scalar(at: stop, in: bytes, end: range.upperBound)
                    guard let scalar, scalar.properties.isWhitespace else { break }
                    stop += UTF8.width(scalar)
                }
                index = stop
            }
            if emitted < start { segments.append(.text(emitted..<start)) }
            segments.append(.token(token.id))
            emitted = stop
        }
        if emitted < range.upperBound { segments.append(.text(emitted..<range.upperBound)) }
    }

    /// Rust regex's `\w`: Alphabetic, marks, decimal digits, connector punctuation, join controls.
    private static func isWordCharacter(_ scalar: Unicode.Scalar?) -> Bool {
        guard let scalar else { return false }
        let properties = scalar.properties
        if properties.isAlphabetic || properties.isJoinControl { return true }
        switch properties.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .connectorPunctuation:
            return true
        default:
            return false
        }
    }

    private static func scalar(at index: Int, in bytes: UnsafeBufferPointer<UInt8>, end: Int) -> Unicode.Scalar? {
        var iterator = bytes[index..<end].makeIterator()
        var decoder = UTF8()
        if case .scalarValue(let scalar) = decoder.decode(&iterator) { return scalar }
        return nil
    }

    private static func scalar(before index: Int, in bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Unicode.Scalar? {
        var lead = index - 1
        while lead > start, bytes[lead] & 0xC0 == 0x80, index - lead < 4 { lead -= 1 }
        return scalar(at: lead, in: bytes, end: index)
    }
}
