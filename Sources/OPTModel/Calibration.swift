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
            model.pool.withBLASThreads {
                moments.sums.withUnsafeMutableBufferPointer { sums in
                    BLAS.ssyrk(upper: true, transposeA: true, n: moments.width, k: count, a: rows, lda: moments.width,
                               c: sums.baseAddress!, ldc: moments.width)
                }
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

    /// The inverse factor of the damped moments of the weight slot `name`'s inputs (`width × width`, for
    /// `ck_gptq_q4_columns`), nil where none were seen, factored with BLAS on `pool`'s threads. Throws where no damping
    /// makes them positive definite (inputs not finite).
    func inverseFactor(of name: String, pool: ComputePool) throws -> [Float]? {
        guard let moments = inputs[name] else { return nil }
        lock.lock()
        defer { lock.unlock() }
        if let last = lastFactor, last.input == ObjectIdentifier(moments) { return last.factor }
        let n = moments.width
        let mean = (0..<n).map { moments.sums[$0 * n + $0] }.reduce(0, +) / Float(n)
        for damping in Self.dampings {
            var damped = moments.sums
            // Inputs that were all zero still get a factor: the identity's.
            let added = mean > 0 ? damping * mean : 1
            for i in 0..<n { damped[i * n + i] += added }
            if let factor = pool.withBLASThreads({ Self.inverseFactor(damped, n: n) }) {
                lastFactor = (ObjectIdentifier(moments), factor)
                return factor
            }
        }
        throw ModelError.invalidArgument("calibration inputs of \(name): their second moments are not positive definite (inputs not finite?)")
    }

    /// Columns of the factorization's blocks: the diagonal blocks are factored one element at a time, the rest by BLAS.
    static let factorBlock = 128

    /// U, upper triangular with a positive diagonal, such that H⁻¹ = Uᵀ U (the Cholesky factor of H⁻¹, GPTQ's),
    /// for H [n×n] symmetric (only its upper triangle is read); nil where H is not positive definite.
    ///
    /// Turning a matrix half a turn (reversing its elements) reverses its rows and columns: A = P H P, whose lower
    /// triangle holds H's upper one. If A = L Lᵀ (L lower), H⁻¹ = (P L⁻¹ P)ᵀ (P L⁻¹ P), and P L⁻¹ P is upper: U is
    /// L⁻¹ turned back. So one Cholesky factorization (blocked, right-looking) and one triangular solve, both BLAS's.
    static func inverseFactor(_ h: [Float], n: Int) -> [Float]? {
        var a = [Float](h.reversed())
        let factored = a.withUnsafeMutableBufferPointer { buffer -> Bool in
            let a = buffer.baseAddress!
            for k0 in stride(from: 0, to: n, by: factorBlock) {
                let k1 = min(n, k0 + factorBlock)
                // The diagonal block, which the blocks before it have already updated.
                for i in k0..<k1 {
                    let row = a + i * n
                    for j in k0...i {
                        var sum = row[j]
                        for m in k0..<j { sum -= row[m] * a[j * n + m] }
                        if j < i {
                            row[j] = sum / a[j * n + j]
                        } else {
                            guard sum > 0, sum.isFinite else { return false }
                            row[i] = sum.squareRoot()
                        }
                    }
                }
                guard k1 < n else { break }
                // The columns below it: P ← P · L_kk⁻ᵀ; then the rows after it lose P Pᵀ.
                BLAS.solveLowerTriangular(fromLeft: false, transposeL: true, m: n - k1, n: k1 - k0,
                                          l: a + k0 * n + k0, ldl: n, b: a + k1 * n + k0, ldb: n)
                BLAS.ssyrk(upper: false, transposeA: false, n: n - k1, k: k1 - k0, alpha: -1,
                           a: a + k1 * n + k0, lda: n, c: a + k1 * n + k1, ldc: n)
            }
            return true
        }
        guard factored else { return nil }
        // L⁻¹ = L \\ I, a block of columns at a time: a lower-triangular inverse's columns from j on are zero above
        // row j, so each block solves only with the triangle below it (a third of the whole solve's work).
        var inverse = [Float](repeating: 0, count: n * n)
        for i in 0..<n { inverse[i * n + i] = 1 }
        a.withUnsafeBufferPointer { l in
            inverse.withUnsafeMutableBufferPointer { inverse in
                for j0 in stride(from: 0, to: n, by: factorBlock) {
                    BLAS.solveLowerTriangular(fromLeft: true, transposeL: false, m: n - j0, n: min(factorBlock, n - j0),
                                              l: l.baseAddress! + j0 * n + j0, ldl: n, b: inverse.baseAddress! + j0 * n + j0, ldb: n)
                }
            }
        }
        return inverse.reversed()
    }
}
