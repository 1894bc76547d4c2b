import Foundation
import OPTKernels
import OPTModel
import Testing

/// int4 rounded by GPTQ over calibration inputs. An extension of the serialized "Weight formats" suite, whose tests
/// switch the process-wide GEMM paths.
extension WeightFormatTests {
    /// Sequences of pseudo-random tokens, BOS first, apart from `promptLogits`'s prompt.
    static func calibrationSequences(vocabulary: Int, count: Int = 6, length: Int = 40) -> [[Int]] {
        var state: UInt64 = 17
        return (0..<count).map { _ in
            [2] + (1..<length).map { _ in
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                return 4 + Int(state >> 33) % (vocabulary - 4)
            }
        }
    }

    /// The f32 fixture, its calibration sequences, and their statistics under the default memory budget (one pass)
    /// and under a budget of one byte (a pass per product).
    static func statisticsInOneAndManyPasses() throws
        -> (model: OPTModel, sequences: [[Int]], onePass: CalibrationStatistics, perProduct: CalibrationStatistics) {
        let model = try OPTModel(directory: directory, format: .f32)
        let sequences = calibrationSequences(vocabulary: model.config.vocabSize)
        return (model, sequences, CalibrationStatistics(model: model, sequences: sequences),
                CalibrationStatistics(model: model, sequences: sequences, memoryBudget: 1))
    }

    /// Every matrix product's inputs are gathered, q, k and v sharing theirs, in one pass when they fit the memory
    /// budget and in a pass per product when it holds one at a time, with the same sums; fc2's inputs come from a
    /// ReLU, so no moment is negative. The head's are checked against the logits: with the head tied to the embedding
    /// E, Σ over positions of logit(v)² = E[v] H E[v]ᵀ for the head's moments H.
    @Test("calibration gathers each matrix product's inputs")
    func calibrationStatistics() throws {
        let (model, sequences, statistics, oneAtATime) = try Self.statisticsInOneAndManyPasses()
        let layout = model.weights.layout
        #expect(statistics.positions == sequences.map(\.count).reduce(0, +))
        #expect(layout.productInputs.count == 4 * layout.layers.count + 1)
        for group in layout.productInputs {
            let moments = try #require(try statistics.moments(of: group[0].name))
            #expect(moments.count == group[0].shape[1] * group[0].shape[1])
            for slot in group { #expect(try statistics.moments(of: slot.name) == moments, "\(slot.name)") }
            #expect(try oneAtATime.moments(of: group[0].name) == moments, "\(group[0].name) gathered alone")
        }
        #expect(statistics.passes == 1)
        #expect(oneAtATime.passes == layout.productInputs.count)
        #expect(try statistics.moments(of: layout.embedPositions.name) == nil)
        for layer in layout.layers {
            #expect(try statistics.moments(of: layer.fc2.weight.name)?.allSatisfy { $0 >= 0 } == true)
        }

        #expect(layout.tiedHead)
        let n = model.config.hiddenSize
        let head = try #require(try statistics.moments(of: layout.lmHead.name))
        var squares = [Double](repeating: 0, count: model.config.vocabSize)
        for ids in sequences {
            let cache = KVCache(config: model.config, capacity: ids.count)
            try model.forward(sequences: [.init(tokens: ids, cache: cache, logits: .all)], workspace: SequenceWorkspace()) { logits in
                for (i, logit) in logits[0].enumerated() { squares[i % squares.count] += Double(logit) * Double(logit) }
            }
        }
        var row = [Float](repeating: 0, count: n)
        for v in [0, 5, 77, model.config.vocabSize - 1] {
            model.weights.embedTokens.toFloat(rows: v..<(v + 1), into: &row)
            var quadratic = 0.0
            for i in 0..<n {
                for j in i..<n { quadratic += (i == j ? 1 : 2) * Double(row[i]) * Double(row[j]) * Double(head[i * n + j]) }
            }
            #expect(abs(quadratic - squares[v]) <= 1e-4 * squares[v], "token \(v): \(quadratic) against \(squares[v])")
        }
    }

    /// GPTQ over calibration inputs leaves logits nearer f32's than each weight's nearest level (its squared error
    /// measured at 0.32 of theirs on this fixture), and touches only what is int4: the first layer, int8, is the same.
    @Test("int4 by GPTQ: logits nearer f32's, int8 matrices untouched")
    func gptqInt4() throws {
        let reference = try OPTModel(directory: Self.directory, format: .f32)
        let statistics = CalibrationStatistics(model: reference, sequences: Self.calibrationSequences(vocabulary: reference.config.vocabSize))
        let nearest = try OPTModel(directory: Self.directory, format: .int4, headFormat: .int4)
        let gptq = try OPTModel(directory: Self.directory, format: .int4, headFormat: .int4, calibration: statistics)
        let expected = try promptLogits(reference, oneAtATime: false)
        func squaredError(_ model: OPTModel) throws -> Double {
            try zip(promptLogits(model, oneAtATime: false), expected).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) }
        }
        let ratio = try squaredError(gptq) / squaredError(nearest)
        #expect(ratio < 0.6, "GPTQ's squared logit error is \(ratio) of the nearest levels'")
        for (a, b) in zip(nearest.weights.namedMatrices, gptq.weights.namedMatrices) {
            let bytes = a.matrix.format == .int8 ? a.matrix.rows * a.matrix.cols : a.matrix.rows * a.matrix.cols / 2
            let same = memcmp(a.matrix.data, b.matrix.data, bytes) == 0
            #expect(same == (a.matrix.format != .int4), "\(a.slot.name) (\(a.matrix.format))")
        }
    }

    /// GPTQ's weights do not depend on how many passes the statistics took: with moments for one product at a time
    /// (a pass each, every pass freeing the moments before it) each matrix gets its own inputs' factor, bit for bit
    /// the one of a single pass. (The factor kept for q, k and v was once keyed by its moments' address, which a later
    /// pass's moments could take: another product's factor, or one of another size.)
    @Test("int4 by GPTQ: the same weights in one pass and in a pass per product")
    func gptqIndependentOfTheMemoryBudget() throws {
        let (reference, _, onePass, perProduct) = try Self.statisticsInOneAndManyPasses()
        let a = try OPTModel(directory: Self.directory, format: .int4, headFormat: .int4, calibration: onePass)
        let b = try OPTModel(directory: Self.directory, format: .int4, headFormat: .int4, calibration: perProduct)
        #expect(onePass.passes == 1 && perProduct.passes == reference.weights.layout.productInputs.count - 4,
                "the first layer stays int8, so its four groups of inputs are never asked for")
        for (x, y) in zip(a.weights.namedMatrices, b.weights.namedMatrices) where x.matrix.format == .int4 {
            let groups = x.matrix.rows * x.matrix.cols / WeightFormat.int4GroupSize
            let (xScales, yScales) = (try #require(x.matrix.groupScales), try #require(y.matrix.groupScales))
            let same = memcmp(x.matrix.data, y.matrix.data, x.matrix.rows * x.matrix.cols / 2) == 0
                && memcmp(xScales, yScales, groups * 2) == 0
            #expect(same, "\(x.slot.name)")
        }
    }
}
