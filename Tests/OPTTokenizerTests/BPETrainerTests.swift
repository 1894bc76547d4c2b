import Foundation
import Testing
@testable import OPTTokenizer

@Suite("BPE trainer")
struct BPETrainerTests {
    static let corpus: [String] = (0..<400).map { i in
        let names = ["Anna", "Ben", "Carla", "David"], cities = ["Paris", "Rome", "Oslo", "Tokyo"]
        return "\(names[i % 4]) lives in \(cities[(i / 4) % 4]). \(i) plus \(i % 7) is \(i + i % 7). The opposite of hot is cold."
    }

    @Test("the trained tokenizer loads, round-trips any text, compresses its corpus and trains deterministically")
    func trainWriteLoad() throws {
        let (vocab, merges) = BPETrainer.train(Self.corpus, vocabularySize: 400)
        #expect(vocab.count == 400 && merges.count == 400 - 260)
        #expect(vocab["</s>"] == 2 && vocab["<pad>"] == 1 && Set(vocab.values).count == vocab.count)
        let again = BPETrainer.train(Self.corpus, vocabularySize: 400)
        #expect(again.merges.map { $0.0 + " " + $0.1 } == merges.map { $0.0 + " " + $0.1 })

        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bpe-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try TokenizerWriter.write(vocab: vocab, merges: merges, to: folder)
        let tokenizer = try BPETokenizer.load(directory: folder)
        for text in Self.corpus.prefix(5) + ["Héllo wörld — 東京 🙂 unseen words\n\ttabs", "  spaces  "] {
            let ids = tokenizer.encode(text)
            #expect(ids.first == 2 && tokenizer.decode(Array(ids.dropFirst())) == text)
        }
        let text = Self.corpus[7], ids = tokenizer.encode(text, addBOS: false)
        #expect(ids.count * 3 < text.utf8.count, "\(ids.count) tokens for \(text.utf8.count) bytes")
        // Frequent words became single tokens.
        #expect(tokenizer.encode(" lives", addBOS: false).count == 1 && tokenizer.encode(" opposite", addBOS: false).count == 1)
    }

    @Test("training stops when no pair is frequent enough")
    func stopsEarly() {
        let (vocab, merges) = BPETrainer.train(["ab", "cd"], vocabularySize: 1000)
        #expect(merges.isEmpty && vocab.count == 260)
    }
}
