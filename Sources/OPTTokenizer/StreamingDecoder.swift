/// Turns ids into text incrementally for streaming generation; never emits half a UTF-8
/// character, holding bytes back until they complete one.
///
/// The concatenation of everything `append` and `finish` return equals
/// `tokenizer.decode(ids, skipSpecialTokens:)` of all the ids, invalid bytes included: bytes are
/// only held back from the start of a sequence that can still become a valid character, and no
/// decoded unit ever spans such a start, so splitting there cannot change the result.
public struct StreamingDecoder: Sendable {
    private let tokenizer: BPETokenizer
    private let skipSpecialTokens: Bool
    private var pending: [UInt8] = []

    /// A decoder for `tokenizer`'s ids; special tokens are skipped unless asked otherwise.
    public init(tokenizer: BPETokenizer, skipSpecialTokens: Bool = true) {
        self.tokenizer = tokenizer
        self.skipSpecialTokens = skipSpecialTokens
    }

    /// Adds one id and returns the text that is now complete (possibly empty).
    public mutating func append(_ id: Int) -> String {
        tokenizer.appendDecodedBytes(of: id, skipSpecialTokens: skipSpecialTokens, to: &pending)
        let ready = Self.completePrefixLength(pending)
        if ready == 0 { return "" }
        let text = String(decoding: pending[..<ready], as: UTF8.self)
        pending.removeFirst(ready)
        return text
    }

    /// Returns whatever is held back (an unfinished character becomes U+FFFD) and resets.
    public mutating func finish() -> String {
        defer { pending.removeAll() }
        return String(decoding: pending, as: UTF8.self)
    }

    /// The length of `bytes` without a trailing sequence that is a valid but unfinished UTF-8
    /// character (a lead byte and fewer continuation bytes than it needs, each in its allowed
    /// range). Anything else is complete or already invalid and can be emitted.
    static func completePrefixLength(_ bytes: [UInt8]) -> Int {
        let end = bytes.count
        var lead = end - 1
        while lead >= 0, end - lead <= 3, bytes[lead] & 0xC0 == 0x80 { lead -= 1 }
        guard lead >= 0 else { return end }
        let needed: Int
        switch bytes[lead] {
        case 0xC2...0xDF: needed = 2
        case 0xE0...0xEF: needed = 3
        case 0xF0...0xF4: needed = 4
        default: return end
        }
        let have = end - lead
        guard have < needed else { return end }
        if have >= 2 {
            // The second byte's range depends on the lead (no overlongs, surrogates or values
            // past U+10FFFF); outside it the bytes are invalid already and go out as U+FFFD.
            let second = bytes[lead + 1]
            let allowed: ClosedRange<UInt8>
            switch bytes[lead] {
            case 0xE0: allowed = 0xA0...0xBF
            case 0xED: allowed = 0x80...0x9F
            case 0xF0: allowed = 0x90...0xBF
            case 0xF4: allowed = 0x80...0x8F
            default: allowed = 0x80...0xBF
            }
            guard allowed.contains(second) else { return end }
        }
        return lead
    }
}
