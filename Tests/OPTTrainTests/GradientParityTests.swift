import Foundation
import OPTCheckpoint
import OPTModel
import Testing
@testable import OPTTrain

/// Loss and gradients against transformers' OPTForCausalLM on the same packed, label-masked batch.
@Suite struct GradientParityTests {
    @Test(arguments: Fixtures.modelNames)
    func lossAndEveryGradientMatchTransformers(model name: String) throws {
        let fixture = try Fixtures.trainingBatch(name)
        let parameters = try ParameterVector(directory: Fixtures.models.appendingPathComponent(name))
        let gradients = ParameterVector(layout: parameters.layout)
        let graph = TrainingGraph(layout: parameters.layout, threads: 2)
        let batch = fixture.packed
        #expect(batch.labelCount == fixture.labels)
        let result = try graph.run(batch, parameters: parameters, gradients: gradients, lossScale: 1 / Float(fixture.labels))
        #expect(result.labels == fixture.labels)
        #expect(abs(result.lossSum - fixture.loss_sum) / fixture.loss_sum < 1e-5)

        let reference = try Checkpoint(directory: Fixtures.training.appendingPathComponent("\(name)/gradients"))
        let all = try parameters.layout.slots.map { try reference.floats($0.name) }
        // k_proj.bias's true gradient is 0 (softmax ignores a shift shared by a row's scores), so
        // float32 rounding is all it has: errors are measured against a floor set by the whole gradient.
        let floor = 1e-6 * all.joined().map { Double($0) * Double($0) }.reduce(0, +).squareRoot()
        for (slot, expected) in zip(parameters.layout.slots, all) {
            let actual = gradients.tensor(slot.name) ?? []
            #expect(actual.count == expected.count, "\(slot.name)")
            let error = zip(actual, expected).map { Double($0 - $1) * Double($0 - $1) }.reduce(0, +).squareRoot()
            let norm = expected.map { Double($0) * Double($0) }.reduce(0, +).squareRoot()
            #expect(error <= 1e-4 * norm + floor, "\(name) \(slot.name): relative error \(error / max(norm, 1e-12))")
        }
    }
}
