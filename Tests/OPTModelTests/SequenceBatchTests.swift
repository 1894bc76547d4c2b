import Foundation
import Testing
@testable import OPTModel

/// `forward(sequences:)`: sequences joining and leaving a running batch give what each gives alone.
@Suite struct SequenceBatchTests {
    @Test(arguments: Fixtures.modelNames)
    func raggedBatchesMatchSeparateGreedyRuns(model name: String) throws {
        let generator = try Generator(directory: Fixtures.models.appendingPathComponent(name))
        let model = generator.model
        let prompts = ["The capital of France is", "Q: What is 12 plus 7?\nA:", "Hello"].map { generator.tokenizer.encode($0) }
        var parameters = GenerationParameters()
        parameters.maxNewTokens = 6
        parameters.stopAtEOS = false
        let expected = try prompts.map { try generator.generate(promptIDs: [$0], parameters: parameters)[0].outputIDs }

        // Sequence i joins at step i (its whole prompt in that step), then decodes one token a step.
        let caches = prompts.map { KVCache(config: model.config, capacity: $0.count + 6) }
        var outputs = prompts.map { _ in [Int]() }
        let workspace = SequenceWorkspace()
        for step in 0..<(6 + prompts.count) {
            let active = prompts.indices.filter { $0 <= step && outputs[$0].count < 6 }
            let steps = active.map { i in
                OPTModel.SequenceStep(tokens: outputs[i].isEmpty ? prompts[i] : [outputs[i].last!], cache: caches[i], logits: .last)
            }
            let chosen = try model.forward(sequences: steps, workspace: workspace) { logits in logits.map { row in row.indices.max { row[$0] < row[$1] }! } }
            for (i, id) in zip(active, chosen) { outputs[i].append(id) }
        }
        #expect(outputs == expected)
    }

    @Test func everyPositionsLogitsMatchTheSequenceAlone() throws {
        let generator = try Generator(directory: Fixtures.models.appendingPathComponent("tiny-postln-bin-sharded"))
        let model = generator.model, ids = generator.tokenizer.encode("Translate to German: cat ->")
        let cache = KVCache(config: model.config, capacity: ids.count)
        let reference = try model.forward(sequences: [.init(tokens: ids, cache: cache, logits: .all)], workspace: SequenceWorkspace()) { Array($0[0]) }
        let other = KVCache(config: model.config, capacity: 4)
        let mine = KVCache(config: model.config, capacity: ids.count)
        let results = try model.forward(sequences: [.init(tokens: [2, 50], cache: other, logits: .last), .init(tokens: ids, cache: mine, logits: .all)],
                                        workspace: SequenceWorkspace()) { $0.map { Array($0) } }
        #expect(results.count == 2 && results[0].count == model.config.vocabSize)
        // The two batches are 16 and 18 rows, which may take different GEMM paths (the matrix-vector kernels, then
        // oneDNN's or BLAS's), each summing in its own order: equal up to f32 rounding relative to the logits' size.
        let scale = reference.map(abs).max() ?? 1
        let largest = zip(results[1], reference).map { abs($0 - $1) }.max() ?? .infinity
        #expect(largest <= 1e-5 * scale, "logits differ by up to \(largest) (largest logit \(scale))")
        #expect(throws: ModelError.self) {
            try model.forward(sequences: [.init(tokens: [1, 2, 3], cache: other, logits: .last)], workspace: SequenceWorkspace()) { _ in }
        }
    }
}
