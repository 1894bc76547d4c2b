import CKernels
import Foundation
import OPTKernels

/// What calibration text shows of each matrix product's inputs: their second moments Σ xᵀx, by which GPTQ
/// (Frantar et al., 2022) rounds int4 weights so that the products move least on inputs like these (llama.cpp's
/// importance matrix and AutoGPTQ gather the same from calibration text).
///
/// Gathered in one f32 pass over the text (not layer by layer through the layers already rounded, as GPTQ's
/// reference does): every matrix sees the inputs of the unquantized model.
public final class CalibrationStatistics: @unchecked Sendable {
    /// One input's Σ xᵀx (upper triangle, row-major) over its rows.
    final class Moments {
        let width: Int
        var sums: [Float]
        init(width: Int) {
            self.width = width
            sums = [Float](repeating: 0, count: width * width)
        }
    }

    /// Each weight slot's input, by the slot's name (q, k and v share one).
    private let inputs: [String: Moments]
    /// Token positions run.
    public let positions: Int
    /// The last inverse factor made (q, k and v, loaded one after another, share it).
    private var lastFactor: (input: ObjectIdentifier, factor: [Float])?
    private let lock = NSLock()

    /// Runs each of `sequences` (token ids within the model's positions) through `model` in one pass and keeps the
    /// second moments of every matrix product's inputs.
    public init(model: OPTModel, sequences: [[Int]]) throws {
        var inputs: [String: Moments] = [:]
        let workspace = SequenceWorkspace { slots, rows, count in
            let moments = inputs[slots[0].name] ?? Moments(width: slots[0].shape[1])
            for slot in slots { inputs[slot.name] = moments }
            moments.sums.withUnsafeMutableBufferPointer { sums in
                BLAS.accumulateGram(rows, rows: count, cols: moments.width, into: sums.baseAddress!)
            }
        }
        for ids in sequences {
            let cache = KVCache(config: model.config, capacity: ids.count)
            try model.forward(sequences: [.init(tokens: ids, cache: cache, logits: .all)], workspace: workspace) { _ in }
        }
        self.inputs = inputs
        positions = sequences.map(\.count).reduce(0, +)
    }

    /// Weight slots whose inputs were seen.
    public var slotNames: Set<String> { Set(inputs.keys) }

    /// The second moments of the inputs of the weight slot `name` (upper triangle), nil where none were seen.
    public func moments(of name: String) -> [Float]? { inputs[name]?.sums }

    /// Damping added to the moments' diagonal before they are factored, as a share of its mean: GPTQ's reference
    /// takes 1%; a factorization that fails (moments not positive definite in f32) is tried again with ten times as much.
    static let dampings: [Float] = [0.01, 0.1, 1]

    /// `ck_gptq_inverse_factor` of the damped moments of the weight slot `name`'s inputs (`width × width`), nil where
    /// none were seen. Throws where no damping makes them positive definite (non-finite inputs).
    func inverseFactor(of name: String) throws -> [Float]? {
        guard let moments = inputs[name] else { return nil }
        lock.lock()
        defer { lock.unlock() }
        if let last = lastFactor, last.input == ObjectIdentifier(moments) { return last.factor }
        let n = moments.width
        let diagonal = (0..<n).map { moments.sums[$0 * n + $0] }
        let mean = diagonal.reduce(0, +) / Float(n)
        var failed = 0
        for damping in Self.dampings {
            var damped = moments.sums
            // Inputs that were all zero still get a factor: the identity's.
            let added = mean > 0 ? damping * mean : 1
            for i in 0..<n { damped[i * n + i] += added }
            var factor = [Float](repeating: 0, count: n * n)
            failed = ck_gptq_inverse_factor(damped, &factor, n)
            if failed == 0 {
                lastFactor = (ObjectIdentifier(moments), factor)
                return factor
            }
            if failed < 0 { break }
        }
        let reason = failed < 0 ? "out of memory" : "not positive definite at column \(failed - 1) (inputs not finite?)"
        throw ModelError.invalidArgument("calibration inputs of \(name): their second moments cannot be factored: \(reason)")
    }
}
