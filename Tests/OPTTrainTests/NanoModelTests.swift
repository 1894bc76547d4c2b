import Foundation
@testable import OPTBench
import OPTCheckpoint
import OPTModel
import Testing

/// The shipped base model, Models/nano (`optiml nano`): its shape, its size, and that pre-training
/// taught it the generated text, measured on sentences it never saw.
@Suite("Bundled nano model")
struct NanoModelTests {
    static let folder = Fixtures.packageRoot.appendingPathComponent("Models/nano")

    /// Position embeddings stay f32, as this tool loads them.
    @Test("is the nano shape, stored in f16 in a few MB")
    func shape() throws {
        let generator = try Generator(directory: Self.folder)
        let c = generator.model.config
        #expect(c.numHiddenLayers == 4 && c.hiddenSize == 192 && c.numAttentionHeads == 6 && c.ffnDim == 768)
        #expect(c.vocabSize >= generator.tokenizer.vocabularySize)
        let weights = Self.folder.appendingPathComponent("model.safetensors")
        let bytes = try FileManager.default.attributesOfItem(atPath: weights.path)[.size] as? Int ?? 0
        #expect(bytes < 5_000_000, "\(bytes) bytes")
        let checkpoint = try Checkpoint(directory: Self.folder)
        let matrices = checkpoint.tensorNames.compactMap(checkpoint.info).filter { $0.shape.count == 2 && !$0.name.contains("embed_positions") }
        #expect(!matrices.isEmpty && matrices.allSatisfy { $0.dtype == .f16 })
    }

    /// Perplexity on fresh sentences of the pre-training kinds (another seed than the corpus):
    /// the shipped weights against the same shape freshly initialised.
    @Test("predicts unseen sentences of its pre-training text far better than its initialisation")
    func perplexity() throws {
        let sentences = SyntheticSuite.pretrainingText(seed: 99, sentences: 64)
        func perplexity(_ generator: Generator) throws -> Double {
            let scores = try generator.score(sentences.map { sentence -> (context: String, continuation: String) in
                let space = sentence.firstIndex(of: " ")!
                return (String(sentence[..<space]), String(sentence[space...]))
            })
            let tokens = scores.map(\.tokenLogprobs.count).reduce(0, +)
            return exp(-scores.map(\.logprob).reduce(0, +) / Double(tokens))
        }
        let trained = try perplexity(try Generator(directory: Self.folder))
        let initial = try Fixtures.withTemporaryDirectory { directory in
            let config = try Generator(directory: Self.folder).model.config
            try RandomCheckpoint.write(config: config, dtype: .f32, seed: 0, tokenizer: Self.folder, to: directory)
            return try perplexity(try Generator(directory: directory))
        }
        #expect(trained < 3.5 && initial > 100 * trained, "perplexity \(trained) trained, \(initial) initial")
    }

    /// Facts the text states again and again: the opposite of a word, ranked among every opposite word.
    @Test("ranks the right opposite first")
    func opposites() throws {
        let generator = try Generator(directory: Self.folder)
        let pairs = SyntheticSuite.opposites
        let words = Array(Set(pairs.flatMap { [$0.0, $0.1] })).sorted()
        var right = 0
        for (word, opposite) in pairs {
            let scores = try generator.score(context: "The opposite of \(word) is", continuations: words.map { " " + $0 })
            let best = zip(words, scores).max { $0.1.logprob < $1.1.logprob }!.0
            if best == opposite { right += 1 }
        }
        #expect(Double(right) >= 0.9 * Double(pairs.count), "\(right) of \(pairs.count)")
    }
}
