import CKernels
import Foundation
import OPTKernels

/// What calibration text shows of each matrix product's inputs: their second moments Σ xᵀx, by which GPTQ
/// (Frantar et al., 2022) rounds int4 weights so that the products move least on inputs like these (llama.cpp's
/// importance matrix and AutoGPTQ gather the same from calibration text).
///
/// Gathered from the f32 model (not layer by layer through the layers already rounded, as GPTQ's reference does):
/// every matrix sees the unquantized model's inputs. Gathered when first asked for, for as many of the products
/// from there on (in forward order, as a load asks for them) as `memoryBudget` holds, in one pass over the text:
/// a model whose moments all fit takes one pass, a larger one a pass per part, never holding more than one part.
public final class CalibrationStatistics: @unchecked Sendable {
    /// One input's Σ xᵀx (upper triangle, row-major) over its rows.
    final class Moments {
        let width: Int
        /// Which moments these are among all this instance gathered: the key of their factor. (An object's identity
        /// is no key: a pass frees the moments of the one before, whose addresses new ones may take.)
        let serial: Int
        var sums: [Float]
        init(width: Int, serial: Int) {
            self.width = width
            self.serial = serial
            sums = [Float](repeating: 0, count: width * width)
        }
        static func bytes(width: Int) -> Int { width * width * MemoryLayout<Float>.stride }
    }

    /// Bytes of moments held at once by default.
    public static let defaultMemoryBudget = 2 << 30

    private let model: OPTModel
    private let sequences: [[Int]]
    private let memoryBudget: Int
    /// The moments held now, by weight slot name (q, k and v share theirs).
    private var inputs: [String: Moments] = [:]
    /// Moments made so far, which numbers the next.
    private var momentsMade = 0
    /// The last inverse factor made, by its moments' serial (q, k and v, loaded one after another, share it).
    private var lastFactor: (serial: Int, factor: [Float])?
    private let lock = NSLock()
    /// Passes over the text so far, and the seconds they took.
    public private(set) var passes = 0
    public private(set) var gatheringSeconds = 0.0

    /// Statistics of `sequences` (token ids within the model's positions) through `model` (f32), holding at most
    /// `memoryBudget` bytes of moments at once (always at least one product's); nothing runs until asked.
    public init(model: OPTModel, sequences: [[Int]], memoryBudget: Int = defaultMemoryBudget) {
        self.model = model
        self.sequences = sequences
        self.memoryBudget = memoryBudget
    }

    /// Token positions each pass runs.
    public var positions: Int { sequences.map(\.count).reduce(0, +) }

    /// The second moments of the inputs of the weight slot `name` (upper triangle), nil where it takes no product's
    /// inputs (the position embeddings, an untied embedding).
    public func moments(of name: String) throws -> [Float]? {
        lock.lock()
        defer { lock.unlock() }
        return try heldMoments(of: name)?.sums
    }

    /// `name`'s moments, gathered with those of the products after it when they are not held. Called under `lock`.
    private func heldMoments(of name: String) throws -> Moments? {
        if let held = inputs[name] { return held }
        let groups = model.weights.layout.productInputs
        guard let first = groups.firstIndex(where: { $0.contains { $0.name == name } }) else { return nil }
        inputs = [:]
        var wanted: [String: Moments] = [:], bytes = 0
        for group in groups[first...] {
            let width = group[0].shape[1], momentBytes = Moments.bytes(width: width)
            guard wanted.isEmpty || bytes + momentBytes <= memoryBudget else { break }
            let moments = Moments(width: width, serial: momentsMade)
            momentsMade += 1
            bytes += momentBytes
            for slot in group { wanted[slot.name] = moments }
        }
        let workspace = SequenceWorkspace { [model] slots, rows, count in
            guard let moments = wanted[slots[0].name] else { return }
            model.pool.withBLASThreads {
                moments.sums.withUnsafeMutableBufferPointer { sums in
                    BLAS.ssyrk(upper: true, transposeA: true, n: moments.width, k: count, a: rows, lda: moments.width,
                               c: sums.baseAddress!, ldc: moments.width)
                }
            }
        }
        // The lm_head sees every position only where its inputs are wanted.
        let logits: OPTModel.LogitPositions = wanted[model.weights.layout.lmHead.name] == nil ? .last : .all
        let start = Date()
        for ids in sequences {
            let cache = KVCache(config: model.config, capacity: ids.count)
            try model.forward(sequences: [.init(tokens: ids, cache: cache, logits: logits)], workspace: workspace) { _ in }
        }
        passes += 1
        gatheringSeconds += Date().timeIntervalSince(start)
        inputs = wanted
        return wanted[name]
    }

    /// Damping added to the moments' diagonal before they are factored, as a share of its mean: GPTQ's reference
    /// takes 1%; a factorization that fails (moments not positive definite in f32) is tried again with ten times as much.
    static let dampings: [Float] = [0.01, 0.1, 1]

    /// The inverse factor of the damped moments of the weight slot `name`'s inputs (`width × width`, for
    /// `ck_gptq_q4_columns`), nil where the slot takes no product's inputs, factored with BLAS on `pool`'s threads. Throws where no damping
    /// makes them positive definite (inputs not finite).
    func inverseFactor(of name: String, pool: ComputePool) throws -> [Float]? {
        lock.lock()
        defer { lock.unlock() }
        guard let moments = try heldMoments(of: name) else { return nil }
        if let last = lastFactor, last.serial == moments.serial { return last.factor }
        let n = moments.width
        let mean = (0..<n).map { moments.sums[$0 * n + $0] }.reduce(0, +) / Float(n)
        for damping in Self.dampings {
            var damped = moments.sums
            // Inputs that were all zero still get a factor: the identity's.
            let added = mean > 0 ? damping * mean : 1
            for i in 0..<n { damped[i * n + i] += added }
            if let factor = pool.withBLASThreads({ Self.inverseFactor(damped, n: n) }) {
                lastFactor = (moments.serial, factor)
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
        // L⁻¹ = L \ I, a block of columns at a time: a lower-triangular inverse's columns from j on are zero above
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
