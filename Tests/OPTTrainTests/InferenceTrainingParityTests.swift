import Foundation
import OPTModel
import Testing
@testable import OPTTrain

/// The same weights through the inference forward (OPTModel, one KV cache per sequence) and the training forward
/// (TrainingGraph, packed rows with document masks) give the same logits, and so the same log-likelihoods.
@Suite struct InferenceTrainingParityTests {
    static let documents: [[Int]] = [[2] + (0..<17).map { 10 + ($0 * 7) % 40 }, [2] + (0..<11).map { 5 + ($0 * 5) % 30 }]

    /// Every position's logits of each document, through the inference forward (both documents in one ragged pass).
    func inferenceLogits(_ directory: URL) throws -> (logits: [[Float]], vocab: Int) {
        let model = try OPTModel(directory: directory, format: .f32)
        let steps = Self.documents.map { OPTModel.SequenceStep(tokens: $0, cache: KVCache(config: model.config, capacity: $0.count), logits: .all) }
        return (try model.forward(sequences: steps, workspace: SequenceWorkspace()) { $0.map { Array($0) } }, model.config.vocabSize)
    }

    /// Both documents packed in one training row (positions restart, attention stays within each), with padding after.
    func packedBatch() throws -> PackedBatch {
        var batch = PackedBatch(rows: 1, length: 40, padToken: 1)
        var start = 0
        for document in Self.documents {
            try batch.place(document.map(Int32.init), lossMask: document.map { _ in true }, row: 0, start: start)
            start += document.count
        }
        batch.padRows()
        return batch
    }

    @Test(arguments: Fixtures.modelNames)
    func trainingLogitsEqualInferenceLogits(model name: String) throws {
        let directory = Fixtures.models.appendingPathComponent(name)
        let (inference, vocab) = try inferenceLogits(directory)
        let parameters = try ParameterVector(directory: directory)
        let training = try TrainingGraph(layout: parameters.layout, threads: 2).logits(try packedBatch(), parameters: parameters)
        // The packed row holds the documents one after the other; the positions after them are padding.
        let packed = Array(training[..<(inference.map(\.count).reduce(0, +))])
        let expected = inference.flatMap { $0 }
        #expect(packed.count == Self.documents.map(\.count).reduce(0, +) * vocab)
        // Both are f32 with different GEMMs and summation orders: equal up to rounding relative to the logits' size.
        let scale = expected.map(abs).max() ?? 1
        let largest = zip(packed, expected).map { abs($0 - $1) }.max() ?? .infinity
        #expect(largest <= 1e-5 * scale, "\(name): logits differ by up to \(largest) (largest logit \(scale))")
    }

    @Test(arguments: Fixtures.modelNames)
    func packedTrainingLossEqualsInferenceLogLikelihoods(model name: String) throws {
        let directory = Fixtures.models.appendingPathComponent(name)
        let (inference, vocab) = try inferenceLogits(directory)
        // Inference: every position's log-softmax of the next token.
        var expected = 0.0
        for (ids, logits) in zip(Self.documents, inference) {
            for t in 0..<(ids.count - 1) {
                let row = logits[(t * vocab)..<((t + 1) * vocab)].map(Double.init)
                let top = row.max()!
                let logSum = top + Foundation.log(row.map { Foundation.exp($0 - top) }.reduce(0, +))
                expected += logSum - row[ids[t + 1]]
            }
        }
        let parameters = try ParameterVector(directory: directory)
        let result = try TrainingGraph(layout: parameters.layout, threads: 2).run(try packedBatch(), parameters: parameters, gradients: nil)
        #expect(result.labels == Self.documents.map { $0.count - 1 }.reduce(0, +))
        #expect(abs(result.lossSum - expected) / expected < 1e-5, "\(name): training \(result.lossSum), inference \(expected)")
    }
}
