import Foundation
import OPTModel
import Testing
@testable import OPTTrain

@Suite struct OptimizerTests {
    struct Trace: Decodable {
        let model: String
        let lr: Double
        let warmup: Int
        let steps: Int
        let weight_decay: Double
        let clip: Double
        let losses: [Double]
        let grad_norms: [Double]
    }

    /// Six steps of AdamW with warmup, decay and clipping give PyTorch's losses and gradient norms.
    @Test func adamWStepsMatchPyTorch() throws {
        let trace = try JSONDecoder().decode(Trace.self, from: Data(contentsOf: Fixtures.training.appendingPathComponent("optimizer.json")))
        let fixture = try Fixtures.trainingBatch(trace.model)
        let parameters = try ParameterVector(directory: Fixtures.models.appendingPathComponent(trace.model))
        let gradients = ParameterVector(layout: parameters.layout)
        let graph = TrainingGraph(layout: parameters.layout, threads: 2)
        let optimizer = AdamW(layout: parameters.layout, settings: .init(weightDecay: trace.weight_decay), pool: graph.pool)
        let schedule = LearningRateSchedule(peak: trace.lr, warmupSteps: trace.warmup, totalSteps: trace.steps)
        let batch = fixture.packed
        for step in 1...trace.steps {
            GradientOps.zero(gradients)
            let result = try graph.run(batch, parameters: parameters, gradients: gradients, lossScale: 1 / Float(batch.labelCount))
            let loss = result.lossSum / Double(result.labels)
            let norm = GradientOps.clip(gradients, maxNorm: trace.clip, pool: graph.pool)
            #expect(abs(loss - trace.losses[step - 1]) <= 1e-4 * trace.losses[step - 1], "step \(step) loss \(loss)")
            #expect(abs(norm - trace.grad_norms[step - 1]) <= 1e-4 * trace.grad_norms[step - 1], "step \(step) norm \(norm)")
            optimizer.update(parameters, gradients: gradients, lr: schedule.rate(atStep: step))
        }
        let final = try graph.run(batch, parameters: parameters, gradients: nil)
        #expect(abs(final.lossSum / Double(final.labels) - trace.losses.last!) <= 1e-4 * trace.losses.last!)
    }

    @Test func schedulesWarmUpThenDecay() {
        let linear = LearningRateSchedule(peak: 1, warmupSteps: 4, totalSteps: 12)
        #expect([1, 2, 4, 8, 12].map { linear.rate(atStep: $0) } == [0.25, 0.5, 1, 0.5, 0])
        let cosine = LearningRateSchedule(peak: 1, warmupSteps: 0, totalSteps: 10, decay: .cosine)
        #expect(abs(cosine.rate(atStep: 5) - 0.5) < 1e-12 && cosine.rate(atStep: 10) < 1e-12 && cosine.rate(atStep: 0) == 1)
        let constant = LearningRateSchedule(peak: 2, warmupSteps: 2, totalSteps: 10, decay: .constant)
        #expect(constant.rate(atStep: 1) == 1 && constant.rate(atStep: 9) == 2)
    }

    @Test func clippingScalesOnlyAboveTheLimit() throws {
        let layout = ParameterLayout(config: .init(vocabSize: 4, hiddenSize: 4, numHiddenLayers: 1, numAttentionHeads: 1, ffnDim: 4, maxPositionEmbeddings: 4))
        let g = ParameterVector(layout: layout)
        g.pointer[0] = 3
        g.pointer[1] = 4
        let pool = TrainingGraph(layout: layout, threads: 2).pool
        #expect(GradientOps.clip(g, maxNorm: 10, pool: pool) == 5 && g.pointer[0] == 3)
        #expect(GradientOps.clip(g, maxNorm: 1, pool: pool) == 5)
        #expect(abs(GradientOps.norm(g, pool: pool) - 1) < 1e-5)
    }
}
