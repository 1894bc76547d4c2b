import Foundation
import OPTModel
import Testing
@testable import OPTTrain

/// The same weights through the inference forward (OPTModel, KV cache) and the training forward
/// (TrainingGraph, packed rows with document masks) give the same log-likelihoods.
@Suite struct InferenceTrainingParityTests {
    @Test(arguments: Fixtures.modelNames)
    func packedTrainingLossEqualsInferenceLogLikelihoods(model name: String) throws {
        let directory = Fixtures.models.appendingPathComponent(name)
        let model = try OPTModel(directory: directory, format: .f32)
        let documents: [[Int32]] = [[2] + (0..<17).map { Int32(10 + ($0 * 7) % 40) }, [2] + (0..<11).map { Int32(5 + ($0 * 5) % 30) }]
        // Inference: each document alone, every position's log-softmax of the next token.
        var expected = 0.0
        for document in documents {
            let ids = document.map(Int.init)
            let cache = KVCache(config: model.config, batchSize: 1, capacity: ids.count)
            let logits = try model.forward(tokens: [ids], realToken: [ids.map { _ in true }], cache: cache, logits: .all) { Array($0) }
            let vocab = model.config.vocabSize
            for t in 0..<(ids.count - 1) {
                let row = logits[(t * vocab)..<((t + 1) * vocab)].map(Double.init)
                let top = row.max()!
                let logSum = top + Foundation.log(row.map { Foundation.exp($0 - top) }.reduce(0, +))
                expected += logSum - row[ids[t + 1]]
            }
        }
        // Training: both documents packed in one row (positions restart, attention stays within each), with padding after.
        let parameters = try ParameterVector(directory: directory)
        var batch = PackedBatch(rows: 1, length: 40, padToken: 1)
        try batch.place(documents[0], lossMask: documents[0].map { _ in true }, row: 0, start: 0)
        try batch.place(documents[1], lossMask: documents[1].map { _ in true }, row: 0, start: documents[0].count)
        batch.padRows()
        let result = try TrainingGraph(layout: parameters.layout, threads: 2).run(batch, parameters: parameters, gradients: nil)
        #expect(result.labels == documents.map { $0.count - 1 }.reduce(0, +))
        #expect(abs(result.lossSum - expected) / expected < 1e-5, "\(name): training \(result.lossSum), inference \(expected)")
    }
}
