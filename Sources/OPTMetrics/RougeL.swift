import Foundation
import OPTTokenizer

/// Precision, recall and F-measure of one ROUGE comparison (`rouge_score.scoring.Score`).
public struct RougeScore: Sendable, Hashable {
    /// LCS length over the number of prediction tokens.
    public var precision: Double
    /// LCS length over the number of target tokens.
    public var recall: Double
    /// `2·P·R / (P + R)`, 0 when both are 0.
    public var fmeasure: Double

    /// A score from its three parts.
    public init(precision: Double, recall: Double, fmeasure: Double) {
        self.precision = precision
        self.recall = recall
        self.fmeasure = fmeasure
    }

    /// The score of two texts with nothing in common, or of an empty side.
    public static let zero = RougeScore(precision: 0, recall: 0, fmeasure: 0)
}

/// ROUGE-L (longest common subsequence of tokens) as google's `rouge_score` computes it,
/// `RougeScorer(['rougeL'], …).score(target, prediction)['rougeL']`, with either of the two
/// tokenizations Super-NaturalInstructions uses.
///
/// - `.standard(stemming: true)`: rouge_score's default tokenizer with `use_stemmer=True`, the
///   English track. Python's `str.lower()`, every character outside `[a-z0-9]` becomes a space (so
///   all non-ASCII letters separate tokens and a text in another script has no tokens at all),
///   whitespace split, and tokens longer than three characters stemmed with nltk's Porter stemmer.
/// - `.gpt2`: Super-NI's cross-lingual track. The text's GPT-2 byte-level BPE tokens, each with
///   every leading `Ġ` (the space marker) stripped, no lowercasing, no stemming; a token that was
///   only spaces becomes the empty token, which still counts (and matches other empty tokens).
///
/// With no tokens on either side the score is 0, even for two identical texts.
public struct RougeL: Sendable {
    /// How texts are split into the tokens the LCS runs over.
    public enum Tokenization: Sendable {
        /// rouge_score's `DefaultTokenizer(use_stemmer:)`.
        case standard(stemming: Bool)
        /// Super-NI's `GPTTokenizer`: GPT-2 BPE tokens with leading `Ġ` stripped.
        case gpt2(BPETokenizer)
    }

    /// The tokenization of this scorer.
    public let tokenization: Tokenization
    private let stemmer: PorterStemmer?

    /// The scorer of Super-NI's default (English) track: rouge_score's default tokenizer, with the
    /// Porter stemmer unless `useStemmer` is false.
    public init(useStemmer: Bool = true) {
        self.init(tokenization: .standard(stemming: useStemmer))
    }

    /// A scorer with the given tokenization.
    public init(tokenization: Tokenization) {
        self.tokenization = tokenization
        if case .standard(true) = tokenization {
            stemmer = PorterStemmer(mode: .nltkExtensions)
        } else {
            stemmer = nil
        }
    }

    /// The scorer of Super-NI's cross-lingual track over `tokenizer`'s GPT-2 tokens.
    public init(crossLingual tokenizer: BPETokenizer) {
        self.init(tokenization: .gpt2(tokenizer))
    }

    /// The cross-lingual scorer with the GPT-2 tokenizer in `directory` (`vocab.json` +
    /// `merges.txt`, or `tokenizer.json`), as `BPETokenizer.load(directory:)` reads it.
    public static func crossLingual(tokenizerDirectory directory: URL) throws -> RougeL {
        RougeL(crossLingual: try BPETokenizer.load(directory: directory))
    }

    /// GPT-2's end-of-text marker; transformers' GPT-2 tokenizers split it out of any text as one
    /// special token, even when the vocabulary files do not list it.
    static let endOfText = "<|endoftext|>"

    /// The tokens the LCS is computed over.
    public func tokenize(_ text: String) -> [String] {
        switch tokenization {
        case .standard:
            return Self.standardTokens(text, stemmer: stemmer)
        case .gpt2(let tokenizer):
            return Self.gpt2Tokens(text, tokenizer: tokenizer)
        }
    }

    /// ROUGE-L of `prediction` against one `target` (rouge_score's `_score_lcs`).
    public func score(prediction: String, target: String) -> RougeScore {
        Self.score(targetTokens: tokenize(target), predictionTokens: tokenize(prediction))
    }

    /// The best F-measure over `references`, as Super-NI's `metric_max_over_ground_truths(rouge, …)`;
    /// 0 for no references (the Python helper raises).
    public func fmeasure(prediction: String, references: [String]) -> Double {
        let predicted = tokenize(prediction)
        return references.map { Self.score(targetTokens: tokenize($0), predictionTokens: predicted).fmeasure }.max() ?? 0
    }

    /// ROUGE-L of two token lists: `lcs / len(prediction)`, `lcs / len(target)` and their F-measure,
    /// all 0 when either list is empty.
    public static func score(targetTokens: [String], predictionTokens: [String]) -> RougeScore {
        guard !targetTokens.isEmpty, !predictionTokens.isEmpty else { return .zero }
        // Tokens compare code point by code point, as Python's `==` on `str` does.
        var ids: [[UInt32]: Int] = [:]
        var target: [Int] = []
        target.reserveCapacity(targetTokens.count)
        for token in targetTokens {
            let key = token.unicodeScalars.map(\.value)
            if let id = ids[key] {
                target.append(id)
            } else {
                ids[key] = ids.count
                target.append(ids.count - 1)
            }
        }
        let prediction = predictionTokens.map { ids[$0.unicodeScalars.map(\.value)] ?? -1 }
        let lcs = lcsLength(target, prediction)
        let precision = Double(lcs) / Double(predictionTokens.count)
        let recall = Double(lcs) / Double(targetTokens.count)
        let fmeasure = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0.0
        return RougeScore(precision: precision, recall: recall, fmeasure: fmeasure)
    }

    /// The length of a longest common subsequence of `a` and `b`.
    public static func lcsLength<T: Equatable>(_ a: [T], _ b: [T]) -> Int {
        guard !a.isEmpty, !b.isEmpty else { return 0 }
        var previous = [Int](repeating: 0, count: b.count + 1)
        var current = previous
        for x in a {
            for (j, y) in b.enumerated() {
                current[j + 1] = x == y ? previous[j] + 1 : max(previous[j + 1], current[j])
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }

    // MARK: - Tokenizers

    /// rouge_score's `tokenize.tokenize(text, stemmer)`.
    static func standardTokens(_ text: String, stemmer: PorterStemmer?) -> [String] {
        var tokens: [String] = []
        var current: [UInt8] = []
        func flush() {
            guard !current.isEmpty else { return }
            if let stemmer, current.count > 3 {
                tokens.append(stemmer.stem(ascii: current))
            } else {
                tokens.append(String(decoding: current, as: UTF8.self))
            }
            current.removeAll(keepingCapacity: true)
        }
        func add(_ value: UInt32) {
            if (value >= 0x61 && value <= 0x7A) || (value >= 0x30 && value <= 0x39) {
                current.append(UInt8(value))
            } else {
                flush()
            }
        }
        for scalar in text.unicodeScalars {
            let value = scalar.value
            if value < 0x80 {
                add(value >= 0x41 && value <= 0x5A ? value + 32 : value)
            } else {
                // A few code points lowercase to ASCII (U+0130 to "i" + U+0307, the Kelvin sign to
                // "k"); capital sigma's context rule only chooses between two non-ASCII letters.
                for lowered in scalar.properties.lowercaseMapping.unicodeScalars { add(lowered.value) }
            }
        }
        flush()
        return tokens
    }

    /// Super-NI's `GPTTokenizer.tokenize`: `[t.lstrip("Ġ") for t in gpt_tokenizer.tokenize(s)]`.
    static func gpt2Tokens(_ text: String, tokenizer: BPETokenizer) -> [String] {
        var tokens: [String] = []
        for (index, piece) in splitOnEndOfText(text).enumerated() {
            if index > 0 { tokens.append(endOfText) }
            guard !piece.isEmpty else { continue }
            for id in tokenizer.encode(piece, addBOS: false) {
                let token = tokenizer.token(forID: id) ?? ""
                tokens.append(String(token.unicodeScalars.drop { $0 == "\u{120}" }))
            }
        }
        return tokens
    }

    /// `text` cut at every literal `<|endoftext|>` (matched on UTF-8 bytes, not on characters, so
    /// a combining mark after the `>` does not hide it).
    static func splitOnEndOfText(_ text: String) -> [String] {
        let bytes = Array(text.utf8)
        let marker = Array(endOfText.utf8)
        var pieces: [String] = []
        var start = 0
        var index = 0
        while index + marker.count <= bytes.count {
            if bytes[index] == marker[0] && bytes[index..<(index + marker.count)].elementsEqual(marker) {
                pieces.append(String(decoding: bytes[start..<index], as: UTF8.self))
                index += marker.count
                start = index
            } else {
                index += 1
            }
        }
        pieces.append(String(decoding: bytes[start...], as: UTF8.self))
        return pieces
    }
}
