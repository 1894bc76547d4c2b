import ArgumentParser
import Foundation
import OPTSupport
import OPTTokenizer

/// `optiml train-tokenizer`: a byte-level BPE tokenizer trained on a corpus.
struct TrainTokenizer: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-tokenizer",
        abstract: "Train a GPT-2-style byte-level BPE tokenizer (OPT's special tokens) on a text corpus.",
        discussion: """
        The corpus is a JSONL file of {"text": …} lines (as optiml synth writes pretraining.jsonl) or plain text, one \
        document a line. Writes vocab.json, merges.txt, tokenizer_config.json and special_tokens_map.json into --out, \
        which every optiml command and transformers' AutoTokenizer load. Training is deterministic.
        """)

    @Option(help: "Corpus: JSONL with a \"text\" field per line, or plain text.") var corpus: String
    @Option(help: "Tokens in the vocabulary, OPT's 4 special tokens and the 256 byte tokens included.") var vocabSize = 4096
    @Option(help: "Pairs seen fewer times than this are not merged.") var minFrequency = defaultMinFrequency
    @Option(help: "Output folder.") var out: String

    static let defaultMinFrequency = 2

    func run() throws {
        guard vocabSize >= 260, minFrequency >= 1 else { throw ValidationError("--vocab-size must be at least 260 and --min-frequency at least 1") }
        try Self.train(corpus: corpus, vocabSize: vocabSize, minFrequency: minFrequency, out: out)
    }

    /// Trains on `corpus` (a path), writes the tokenizer into `out` and prints what it trained (`optiml nano`'s
    /// tokenizer stage too).
    static func train(corpus: String, vocabSize: Int, minFrequency: Int, out: String) throws {
        guard let lines = try? JSONLinesReader(url: URL(fileURLWithPath: corpus)) else { throw ValidationError("--corpus \(corpus): cannot read it") }
        var texts: [String] = []
        while let line = try lines.next() {
            guard !line.bytes.isEmpty else { continue }
            if line.bytes.first == UInt8(ascii: "{") {
                guard let object = try? JSONSerialization.jsonObject(with: Data(line.bytes)) as? [String: Any], let text = object["text"] as? String else {
                    throw ValidationError("\(corpus):\(line.number): a JSON line needs a string \"text\"")
                }
                texts.append(text)
            } else {
                texts.append(String(decoding: line.bytes, as: UTF8.self))
            }
        }
        let (vocab, merges) = BPETrainer.train(texts, vocabularySize: vocabSize, minimumFrequency: minFrequency)
        let directory = URL(fileURLWithPath: out)
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try TokenizerWriter.write(vocab: vocab, merges: merges, to: directory)
        } catch { throw CLIError(error) }
        print("trained \(vocab.count) tokens (\(merges.count) merges) on \(texts.count) documents into \(out)")
    }
}
