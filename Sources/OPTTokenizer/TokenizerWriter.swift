import Foundation
import OPTSupport

/// Writes a byte-level BPE tokenizer in the Hugging Face layout OPT uses, so that transformers'
/// `AutoTokenizer` and this package both load it: vocab.json, merges.txt, tokenizer_config.json,
/// special_tokens_map.json.
public enum TokenizerWriter {
    /// OPT's special tokens and their ids; `</s>` is BOS and EOS, `<pad>` pads.
    public static let specialTokens: [(token: String, id: Int)] = [("<s>", 0), ("<pad>", 1), ("</s>", 2), ("<unk>", 3)]

    /// The smallest complete vocabulary: OPT's special tokens, then one token per byte.
    ///
    /// Every text encodes with it (byte by byte), which is all a random-weight model needs.
    public static func byteVocabulary() -> [String: Int] {
        var vocab = Dictionary(uniqueKeysWithValues: specialTokens.map { ($0.token, $0.id) })
        for byte in 0..<256 {
            vocab[ByteLevel.tokenString(forBytes: [UInt8(byte)])] = specialTokens.count + byte
        }
        return vocab
    }

    /// Writes the four files into `directory` (each atomically).
    public static func write(vocab: [String: Int], merges: [(String, String)], to directory: URL) throws {
        func json(_ object: Any) throws -> Data {
            try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        }
        let mergesText = "#version: 0.2\n" + merges.map { "\($0.0) \($0.1)\n" }.joined()
        let specials: [String: Any] = ["bos_token": "</s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>"]
        var config = specials
        config["tokenizer_class"] = "GPT2Tokenizer"
        config["add_bos_token"] = true
        config["model_max_length"] = 2048
        let files: [(String, Data)] = [
            ("vocab.json", try json(vocab)),
            ("merges.txt", Data(mergesText.utf8)),
            ("tokenizer_config.json", try json(config)),
            ("special_tokens_map.json", try json(specials)),
        ]
        for (name, data) in files {
            let url = directory.appendingPathComponent(name)
            do { try AtomicFile.write(data, to: url) } catch {
                throw TokenizerError.unwritableFile(path: url.path, reason: error.localizedDescription)
            }
        }
    }
}
