import Foundation
import Testing
@testable import OPTTrain

/// A run's numbers do not depend on `--threads`, so that a run can resume with another thread count
/// (the settings hash leaves it out): the same bits with 1 to 4 threads, more threads than cores included.
@Suite struct ThreadCountTests {
    static let threadCounts = [1, 2, 3, 4]

    /// Four rows of 64 tokens packing examples of several lengths (padding included), every token trained on:
    /// 256 rows for the layer norms, products and sums to cut up.
    static func batch(vocabulary: Int) throws -> PackedBatch {
        var batch = PackedBatch(rows: 4, length: 64, padToken: 1)
        let lengths = [[64], [40, 24], [20, 20, 13], [7, 50]]
        for (row, examples) in lengths.enumerated() {
            var start = 0
            for (e, count) in examples.enumerated() {
                let tokens = (0..<count).map { Int32((($0 + 1) * 37 + row * 101 + e * 13) % vocabulary) }
                try batch.place(tokens, lossMask: Array(repeating: true, count: count), row: row, start: start)
                start += count
            }
        }
        batch.padRows()
        return batch
    }

    static func bits(_ p: ParameterVector) -> [UInt32] {
        UnsafeBufferPointer(start: p.pointer, count: p.layout.count).map(\.bitPattern)
    }

    @Test(arguments: Fixtures.modelNames)
    func lossGradientsAndTheirNormAreBitIdenticalForEveryThreadCount(model name: String) throws {
        let parameters = try ParameterVector(directory: Fixtures.models.appendingPathComponent(name))
        let batch = try Self.batch(vocabulary: parameters.layout.config.vocabSize)
        var first: (loss: Double, gradients: [UInt32], norm: Double)?
        for threads in Self.threadCounts {
            let graph = TrainingGraph(layout: parameters.layout, threads: threads)
            let gradients = ParameterVector(layout: parameters.layout)
            let result = try graph.run(batch, parameters: parameters, gradients: gradients, lossScale: 1 / Float(batch.labelCount),
                                       dropout: .paper, dropoutSeed: 11)
            let run = (loss: result.lossSum, gradients: Self.bits(gradients), norm: GradientOps.norm(gradients, pool: graph.pool))
            guard let first else {
                first = run
                continue
            }
            #expect(run.loss.bitPattern == first.loss.bitPattern, "\(name): loss with \(threads) threads")
            #expect(run.norm.bitPattern == first.norm.bitPattern, "\(name): gradient norm with \(threads) threads")
            let differing = zip(run.gradients, first.gradients).filter { $0 != $1 }.count
            #expect(differing == 0, "\(name): \(differing) gradients differ with \(threads) threads")
        }
    }

    /// Whole optimizer steps through the trainer: losses, gradient norms, weights and AdamW's moments.
    @Test func threeTrainingStepsAreBitIdenticalForEveryThreadCount() throws {
        try Fixtures.withTemporaryDirectory { folder in
            let bench = try TrainerTests.syntheticBench(in: folder)
            var first: (records: [StepRecord], state: [[UInt32]])?
            for threads in Self.threadCounts {
                let trainer = try Trainer(model: TrainerTests.model, bench: bench, out: folder.appendingPathComponent("run-\(threads)"),
                                          settings: TrainerTests.settings(steps: 3), resume: false, threads: threads)
                var records: [StepRecord] = []
                try trainer.run { record in
                    var figures = record
                    figures.tokensPerSecond = 0
                    records.append(figures)
                }
                let state = [Self.bits(trainer.parameters), Self.bits(trainer.optimizer.m), Self.bits(trainer.optimizer.v)]
                guard let first else {
                    first = (records, state)
                    continue
                }
                #expect(records.map(\.loss.bitPattern) == first.records.map(\.loss.bitPattern), "losses with \(threads) threads")
                #expect(records.map(\.gradientNorm.bitPattern) == first.records.map(\.gradientNorm.bitPattern),
                        "gradient norms with \(threads) threads")
                #expect(records.count == 3 && records == first.records)
                for (name, (actual, expected)) in zip(["weights", "exp_avg", "exp_avg_sq"], zip(state, first.state)) {
                    let differing = zip(actual, expected).filter { $0 != $1 }.count
                    #expect(differing == 0, "\(differing) of the \(name) differ after 3 steps with \(threads) threads")
                }
            }
        }
    }
}
