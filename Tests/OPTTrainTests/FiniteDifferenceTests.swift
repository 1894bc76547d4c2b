import Foundation
import OPTModel
import Testing
@testable import OPTTrain

/// The backward pass against central differences of the loss itself, with every dropout on
/// (its masks are fixed by the seed) and GELU instead of ReLU, so that the loss is smooth in the
/// parameters and the differences do not straddle kinks.
@Suite struct FiniteDifferenceTests {
    @Test(arguments: ["tiny-preln-safetensors-sharded", "tiny-postln-bin-sharded"])
    func gradientsMatchCentralDifferencesWithDropout(model name: String) throws {
        let fixture = try Fixtures.trainingBatch(name)
        let loaded = try ParameterVector(directory: Fixtures.models.appendingPathComponent(name))
        var config = loaded.layout.config
        config.activationFunction = "gelu"
        let parameters = ParameterVector(layout: ParameterLayout(config: config))
        parameters.pointer.update(from: loaded.pointer, count: loaded.layout.count)
        let gradients = ParameterVector(layout: parameters.layout)
        let graph = TrainingGraph(layout: parameters.layout, threads: 2)
        let batch = fixture.packed
        let dropout = DropoutRates(embedding: 0.1, residual: 0.1, attention: 0.1, activation: 0.1)
        func loss() throws -> Double {
            let r = try graph.run(batch, parameters: parameters, gradients: nil, dropout: dropout, dropoutSeed: 7)
            return r.lossSum / Double(r.labels)
        }
        _ = try graph.run(batch, parameters: parameters, gradients: gradients, lossScale: 1 / Float(batch.labelCount),
                          dropout: dropout, dropoutSeed: 7)
        // Dropout must change the loss, or this would test nothing beyond the parity tests.
        let plain = try graph.run(batch, parameters: parameters, gradients: nil)
        #expect(abs(plain.lossSum / Double(plain.labels) - (try loss())) > 1e-4)

        // In every tensor, the three entries with the largest gradients.
        var checked = 0
        for slot in parameters.layout.slots {
            let g = gradients.tensor(slot.name)!
            let largest = g.indices.sorted { abs(g[$0]) > abs(g[$1]) }.prefix(3)
            for i in largest where abs(g[i]) > 1e-3 {
                let p = parameters.pointer + slot.offset + i, saved = p.pointee, eps: Float = 1e-3
                p.pointee = saved + eps
                let up = try loss()
                p.pointee = saved - eps
                let down = try loss()
                p.pointee = saved
                let numeric = (up - down) / Double(2 * eps)
                #expect(abs(numeric - Double(g[i])) <= 2e-2 * abs(Double(g[i])) + 2e-4, "\(slot.name)[\(i)]: \(numeric) vs \(g[i])")
                checked += 1
            }
        }
        #expect(checked > 50)
    }
}
