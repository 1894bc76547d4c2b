import Foundation

/// GPT-2 byte-level BPE as OPT uses it, giving the same ids as Hugging Face `tokenizers` /
/// transformers for any Unicode input.
///
/// The pipeline follows `tokenizers`' stages: added tokens are split out of the raw text, the
/// rest is pre-tokenized with GPT-2's pattern (`GPT2PreTokenizer`), each pre-token's bytes go
/// through the BPE model (`BPEModel`), and a post-processor template adds BOS/EOS. Decoding
/// joins the bytes of the tokens and repairs invalid UTF-8 with U+FFFD, as `errors="replace"`.
/// Immutable after loading apart from an internal, lock-protected word cache, so one instance
/// can serve many threads.
public final class BPETokenizer: Sendable {
    private let model: BPEModel
    private let addedVocabulary: AddedVocabulary
    /// The model vocabulary (token -> id) without added tokens.
    private let vocab: [String: Int]
    /// Added tokens by content; they shadow the model vocabulary, as in Hugging Face.
    private let addedIDs: [String: Int]
    /// Indexed by id: the token text (added token first, else model), nil for unused ids.
    private let tokens: [String?]
    /// Indexed by id: what the ByteLevel decoder emits for the token.
    private let decodedBytes: [[UInt8]]
    /// Indexed by id: whether `skipSpecialTokens` drops it.
    private let specialFlags: [Bool]
    private let templatePrefix: [Int]
    private let templateSuffix: [Int]
    private let addPrefixSpace: Bool
    private let useRegex: Bool

    /// The number of distinct tokens, model vocabulary and added tokens together (what
    /// transformers' `len(tokenizer)` reports; OPT's 50265, not the model's padded 50272).
    public let vocabularySize: Int
    /// The id prepended when BOS is added (OPT: `</s>` = 2); nil when the tokenizer has none.
    public let bosTokenID: Int?
    /// The end-of-sequence id (OPT: 2).
    public let eosTokenID: Int?
    /// The padding id (OPT: 1).
    public let padTokenID: Int?
    /// The unknown-token id as configured (OPT's config names `</s>`); byte-level BPE never
    /// needs it for ordinary text.
    public let unkTokenID: Int?

    /// Everything the tokenizer is made of, however it was read.
    struct Components {
        var vocab: [String: Int]
        var merges: [(String, String)]
        var modelUnknownToken: String?
        var fuseUnknown = false
        var ignoreMerges = false
        var addedTokens: [AddedToken]
        var bosToken: String?
        var eosToken: String?
        var padToken: String?
        var unkToken: String?
        var templatePrefix: [Int]
        var templateSuffix: [Int]
        var addPrefixSpace = false
        var useRegex = true
        /// Names the source in errors.
        var path: String
    }

    /// Builds a tokenizer from a vocabulary and merges, as transformers' `GPT2Tokenizer` does
    /// from vocab.json + merges.txt.
    ///
    /// - Parameters:
    ///   - vocab: token -> id, tokens spelled with GPT-2's byte-to-character table.
    ///   - merges: merge pairs, highest priority first.
    ///   - addedTokens: extra tokens matched literally before BPE (all treated as special).
    ///   - bosToken, eosToken, padToken, unkToken: special tokens; they are matched literally too
    ///     and must be in `vocab` or `addedTokens`.
    ///   - addBOS: whether `encode` prepends the BOS id by default (OPT: true).
    public convenience init(vocab: [String: Int], merges: [(String, String)], addedTokens: [String: Int],
                            bosToken: String?, eosToken: String?, padToken: String?, unkToken: String?,
                            addBOS: Bool) throws {
        let path = "<in-memory vocabulary>"
        var added = addedTokens.sorted { $0.value < $1.value }.map {
            AddedToken(content: $0.key, id: $0.value, special: true)
        }
        for (role, token) in [("bos_token", bosToken), ("eos_token", eosToken), ("pad_token", padToken), ("unk_token", unkToken)] {
            guard let token, !added.contains(where: { $0.content == token }) else { continue }
            guard let id = vocab[token] else { throw TokenizerError.unknownToken(path: path, token: token, role: role) }
            added.append(AddedToken(content: token, id: id, special: true))
        }
        let bosID = bosToken.flatMap { token in added.first { $0.content == token }?.id }
        try self.init(components: Components(
            vocab: vocab, merges: merges, addedTokens: added,
            bosToken: bosToken, eosToken: eosToken, padToken: padToken, unkToken: unkToken,
            templatePrefix: addBOS ? (bosID.map { [$0] } ?? []) : [], templateSuffix: [], path: path))
    }

    init(components: Components) throws {
        let path = components.path
        model = try BPEModel(vocab: components.vocab, merges: components.merges, unknownToken: components.modelUnknownToken,
                             fuseUnknown: components.fuseUnknown, ignoreMerges: components.ignoreMerges, path: path)
        vocab = components.vocab
        addedVocabulary = AddedVocabulary(tokens: components.addedTokens)
        var addedIDs: [String: Int] = [:]
        for token in components.addedTokens where addedIDs[token.content] == nil {
            addedIDs[token.content] = token.id
        }
        self.addedIDs = addedIDs

        let maxID = max(vocab.values.max() ?? 0, components.addedTokens.map(\.id).max() ?? 0)
        let entries = vocab.count + components.addedTokens.count
        // Ids index flat tables; refuse vocabularies so sparse that those would be absurd.
        guard maxID < 16 * entries + 65_536 else {
            throw TokenizerError.invalidVocabulary(path: path, reason: "ids are too sparse (largest \(maxID) for \(entries) tokens)")
        }
        var tokens = [String?](repeating: nil, count: maxID + 1)
        for (token, id) in vocab { tokens[id] = token }
        var special = [Bool](repeating: false, count: maxID + 1)
        for token in components.addedTokens {
            tokens[token.id] = token.content
            if token.special { special[token.id] = true }
        }
        self.tokens = tokens
        specialFlags = special
        decodedBytes = tokens.map { $0.map(ByteLevel.decodedBytes(ofToken:)) ?? [] }
        vocabularySize = Set(vocab.keys).union(addedIDs.keys).count

        let modelVocab = components.vocab
        func roleID(_ token: String?) -> Int? {
            guard let token else { return nil }
            return addedIDs[token] ?? modelVocab[token]
        }
        bosTokenID = roleID(components.bosToken)
        eosTokenID = roleID(components.eosToken)
        padTokenID = roleID(components.padToken)
        unkTokenID = roleID(components.unkToken)
        for id in components.templatePrefix + components.templateSuffix where id < 0 || id > maxID {
            throw TokenizerError.unknownToken(path: path, token: "id \(id)", role: "post-processor token")
        }
        templatePrefix = components.templatePrefix
        templateSuffix = components.templateSuffix
        addPrefixSpace = components.addPrefixSpace
        useRegex = components.useRegex
    }

    // MARK: - Encoding

    /// The ids of `text` as the model sees them.
    ///
    /// - Parameter addBOS: whether to add the special tokens of the tokenizer's post-processor
    ///   (for OPT: prepend `</s>` = 2). nil uses the tokenizer's own default, which is true for
    ///   OPT and false for plain GPT-2; true on a tokenizer without a template prepends its BOS
    ///   id when it has one.
    public func encode(_ text: String, addBOS: Bool? = nil) -> [Int] {
        let hasTemplate = !templatePrefix.isEmpty || !templateSuffix.isEmpty
        let addSpecial = addBOS ?? hasTemplate
        var ids: [Int] = []
        ids.reserveCapacity(text.utf8.count / 3 + 4)
        if addSpecial {
            if hasTemplate { ids += templatePrefix } else if let bosTokenID { ids.append(bosTokenID) }
        }
        var text = text
        text.withUTF8 { bytes in encodeBody(bytes, into: &ids) }
        if addSpecial { ids += templateSuffix }
        return ids
    }

    private func encodeBody(_ bytes: UnsafeBufferPointer<UInt8>, into ids: inout [Int]) {
        if addedVocabulary.isEmpty {
            encodeText(bytes, 0..<bytes.count, into: &ids)
            return
        }
        for segment in addedVocabulary.split(bytes) {
            switch segment {
            case .token(let id): ids.append(id)
            case .text(let range): encodeText(bytes, range, into: &ids)
            }
        }
    }

    /// Pre-tokenizes one stretch of text between added tokens and runs BPE on each piece.
    private func encodeText(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, into ids: inout [Int]) {
        if range.isEmpty { return }
        if addPrefixSpace && bytes[range.lowerBound] != 0x20 {
            // ByteLevel(add_prefix_space) prepends a space to every stretch, not just the first.
            var spaced = [UInt8](repeating: 0x20, count: range.count + 1)
            for (offset, index) in range.enumerated() { spaced[offset + 1] = bytes[index] }
            spaced.withUnsafeBufferPointer { encodePieces($0, 0..<$0.count, into: &ids) }
        } else {
            encodePieces(bytes, range, into: &ids)
        }
    }

    private func encodePieces(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, into ids: inout [Int]) {
        guard let base = bytes.baseAddress else { return }
        if !useRegex {
            model.tokenize(UnsafeBufferPointer(start: base + range.lowerBound, count: range.count), into: &ids)
            return
        }
        GPT2PreTokenizer.split(bytes, range) { piece in
            model.tokenize(UnsafeBufferPointer(start: base + piece.lowerBound, count: piece.count), into: &ids)
        }
    }

    // MARK: - Decoding

    /// The text of `ids`: the bytes of their tokens joined, invalid UTF-8 replaced by U+FFFD
    /// (one per maximal invalid subsequence, as Rust's `from_utf8_lossy`), unknown ids ignored.
    ///
    /// - Parameters:
    ///   - skipSpecialTokens: drop special tokens (`</s>`, `<pad>`, ...).
    ///   - cleanUpTokenizationSpaces: apply transformers' `clean_up_tokenization` (" ." -> ".",
    ///     " 's" -> "'s", ...), which transformers 4 did by default for OPT; transformers 5 never
    ///     does it for BPE tokenizers (it corrupts text), hence off by default.
    public func decode(_ ids: [Int], skipSpecialTokens: Bool = false, cleanUpTokenizationSpaces: Bool = false) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(ids.count * 4)
        for id in ids { appendDecodedBytes(of: id, skipSpecialTokens: skipSpecialTokens, to: &bytes) }
        let text = String(decoding: bytes, as: UTF8.self)
        return cleanUpTokenizationSpaces ? Self.cleanUpTokenizationSpaces(text) : text
    }

    /// Appends what decoding `id` contributes, before UTF-8 repair.
    func appendDecodedBytes(of id: Int, skipSpecialTokens: Bool, to bytes: inout [UInt8]) {
        guard id >= 0, id < decodedBytes.count else { return }
        if skipSpecialTokens && specialFlags[id] { return }
        bytes += decodedBytes[id]
    }

    /// transformers' `clean_up_tokenization`: removes the spaces old word-level tokenizers put
    /// before punctuation and contractions.
    public static func cleanUpTokenizationSpaces(_ text: String) -> String {
        // Python's str.replace, done on UTF-8 bytes: the patterns are ASCII, and Foundation's
        // replacingOccurrences would compare with Unicode equivalence instead.
        var bytes = Array(text.utf8)
        for (from, to) in [(" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"),
                           (" 'm", "'m"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")] {
            bytes = replacingAll(Array(from.utf8), with: Array(to.utf8), in: bytes)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func replacingAll(_ pattern: [UInt8], with replacement: [UInt8], in bytes: [UInt8]) -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            if index + pattern.count <= bytes.count && bytes[index..<index + pattern.count].elementsEqual(pattern) {
                result += replacement
                index += pattern.count
            } else {
                result.append(bytes[index])
                index += 1
            }
        }
        return result
    }

    // MARK: - Vocabulary

    /// The token text of `id` (an added token's content, else the model vocabulary's spelling
    /// with GPT-2's byte characters, e.g. "Ġworld"); nil for ids outside the vocabulary.
    public func token(forID id: Int) -> String? {
        guard id >= 0, id < tokens.count else { return nil }
        return tokens[id]
    }

    /// The id of a token text (added tokens first, as in Hugging Face); nil if unknown.
    public func id(forToken token: String) -> Int? {
        addedIDs[token] ?? vocab[token]
    }

    /// Whether `id` is a special token (dropped by `skipSpecialTokens`).
    public func isSpecial(_ id: Int) -> Bool {
        id >= 0 && id < specialFlags.count && specialFlags[id]
    }

    /// The added tokens (special or not) that are matched literally in text, in id order.
    public var addedTokens: [AddedToken] {
        addedVocabulary.tokens.sorted { $0.id < $1.id }
    }
}
