import Foundation

/// Trains a GPT-2-style byte-level BPE on a corpus: GPT-2's pre-tokenizer splits the text, each
/// pre-token starts as its bytes, and the most frequent adjacent pair is merged until the
/// vocabulary is full (ties broken by the pair's text, so training is deterministic). The result
/// is what `TokenizerWriter.write` stores and `BPETokenizer.load` reads: OPT's special tokens, the
/// 256 byte tokens, then one token per merge.
public enum BPETrainer {
    /// The vocabulary and merges for `texts`, at most `vocabularySize` tokens (specials and bytes included);
    /// pairs seen fewer than `minimumFrequency` times are not merged.
    public static func train(_ texts: [String], vocabularySize: Int, minimumFrequency: Int = 2) -> (vocab: [String: Int], merges: [(String, String)]) {
        var vocab = TokenizerWriter.byteVocabulary()
        // Distinct pre-tokens with their counts, each as a list of symbol ids.
        var counts: [[UInt8]: Int] = [:]
        for text in texts {
            var utf8 = Array(text.utf8)
            utf8.withUnsafeBufferPointer { bytes in
                GPT2PreTokenizer.split(bytes, 0..<bytes.count) { range in counts[Array(bytes[range]), default: 0] += 1 }
            }
            utf8.removeAll()
        }
        var symbols: [String] = Array(repeating: "", count: vocab.count)
        for (token, id) in vocab { symbols[id] = token }
        let byteID = { (byte: UInt8) in TokenizerWriter.specialTokens.count + Int(byte) }
        var words = counts.map { (symbols: $0.key.map(byteID), count: $0.value) }.sorted { $0.symbols.lexicographicallyPrecedes($1.symbols) }

        var merges: [(String, String)] = []
        while vocab.count < vocabularySize {
            var pairs: [Pair: Int] = [:]
            for word in words where word.symbols.count > 1 {
                for i in 0..<(word.symbols.count - 1) { pairs[Pair(word.symbols[i], word.symbols[i + 1]), default: 0] += word.count }
            }
            guard let best = pairs.max(by: { a, b in
                a.value != b.value ? a.value < b.value : (symbols[a.key.left], symbols[a.key.right]) > (symbols[b.key.left], symbols[b.key.right])
            }), best.value >= minimumFrequency else { break }
            let merged = symbols[best.key.left] + symbols[best.key.right]
            let id = symbols.count
            symbols.append(merged)
            vocab[merged] = id
            merges.append((symbols[best.key.left], symbols[best.key.right]))
            for w in words.indices where words[w].symbols.count > 1 {
                var out: [Int] = [], i = 0
                let s = words[w].symbols
                while i < s.count {
                    if i + 1 < s.count, s[i] == best.key.left, s[i + 1] == best.key.right {
                        out.append(id)
                        i += 2
                    } else {
                        out.append(s[i])
                        i += 1
                    }
                }
                words[w].symbols = out
            }
        }
        return (vocab, merges)
    }

    struct Pair: Hashable {
        let left: Int, right: Int
        init(_ left: Int, _ right: Int) {
            self.left = left
            self.right = right
        }
    }
}
