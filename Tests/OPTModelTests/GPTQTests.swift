import OPTKernels
import Testing

@testable import OPTModel

/// GPTQ's int4 rounding: the inverse factor of the inputs' second moments, and the rounding it steers
/// (`ck_gptq_q4_columns`, one implementation for every instruction set, so these need not switch paths).
@Suite("GPTQ")
struct GPTQTests {
    /// Uniform values in [-1, 1) from a fixed seed.
    static func random(_ count: Int, seed: UInt64) -> [Float] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(Int64(bitPattern: state) >> 40) / Float(1 << 23)
        }
    }

    /// Rows of inputs whose columns are correlated (each a mix of a few shared directions plus its own noise), as a
    /// layer's inputs are: the case where carrying rounding errors into later columns can cancel them.
    static func correlatedInputs(rows: Int, cols: Int, seed: UInt64) -> [Float] {
        let shared = 6
        let mixing = Self.random(shared * cols, seed: seed)
        let factors = Self.random(rows * shared, seed: seed + 1)
        let noise = Self.random(rows * cols, seed: seed + 2)
        return (0..<(rows * cols)).map { i in
            let r = i / cols, c = i % cols
            return (0..<shared).reduce(0.1 * noise[i]) { $0 + factors[r * shared + $1] * mixing[$1 * cols + c] }
        }
    }

    /// Σ xᵀx over the rows of x [rows][cols] (full, in Double, independent of BLAS), damped as
    /// `CalibrationStatistics` damps it: 1% of the mean diagonal added to the diagonal.
    static func dampedMoments(_ x: [Float], rows: Int, cols: Int) -> [Float] {
        var h = [Double](repeating: 0, count: cols * cols)
        for r in 0..<rows {
            for i in 0..<cols where x[r * cols + i] != 0 {
                for j in 0..<cols { h[i * cols + j] += Double(x[r * cols + i]) * Double(x[r * cols + j]) }
            }
        }
        let damping = 0.01 * (0..<cols).map { h[$0 * cols + $0] }.reduce(0, +) / Double(cols)
        for i in 0..<cols { h[i * cols + i] += damping }
        return h.map(Float.init)
    }

    static func factor(_ h: [Float], n: Int) throws -> [Float] {
        try #require(CalibrationStatistics.inverseFactor(h, n: n))
    }

    /// `values` in int4, by GPTQ with `factor` (nil: the nearest levels), on `threads` threads.
    static func int4(_ values: [Float], rows: Int, cols: Int, factor: [Float]?, threads: Int = 2) -> WeightMatrix {
        WeightConversion.matrix(values, rows: rows, cols: cols, format: .int4, pool: ComputePool(threads: threads), gptqFactor: factor)
    }

    /// A matrix's packed levels and scales.
    static func bytes(_ m: WeightMatrix) -> (levels: [UInt8], scales: [UInt16]) {
        (Array(UnsafeBufferPointer(start: m.data.assumingMemoryBound(to: UInt8.self), count: m.rows * m.cols / 2)),
         Array(UnsafeBufferPointer(start: m.groupScales, count: m.rows * m.cols / WeightFormat.int4GroupSize)))
    }

    /// int4 weights read back.
    static func dequantized(_ m: WeightMatrix) -> [Float] {
        var out = [Float](repeating: .nan, count: m.rows * m.cols)
        m.toFloat(rows: 0..<m.rows, into: &out)
        return out
    }

    /// U is upper triangular with a positive diagonal and Uᵀ U H = I: the Cholesky factor of H⁻¹, which those two
    /// properties determine. Sizes below, at and past the factorization's blocks of 128 columns.
    @Test(arguments: [1, 7, 128, 130, 300])
    func inverseFactorIsTheCholeskyFactorOfTheInverse(n: Int) throws {
        let h = Self.dampedMoments(Self.correlatedInputs(rows: 3 * n + 8, cols: n, seed: UInt64(n)), rows: 3 * n + 8, cols: n)
        let u = try Self.factor(h, n: n)
        for i in 0..<n {
            #expect(u[i * n + i] > 0)
            for j in 0..<i { #expect(u[i * n + j] == 0, "U[\(i)][\(j)] below the diagonal") }
        }
        // Uᵀ U, then (Uᵀ U) H, in Double.
        var inverse = [Double](repeating: 0, count: n * n)
        for k in 0..<n {
            for i in k..<n where u[k * n + i] != 0 {
                for j in k..<n { inverse[i * n + j] += Double(u[k * n + i]) * Double(u[k * n + j]) }
            }
        }
        var worst = 0.0
        for i in 0..<n {
            for j in 0..<n {
                var product = 0.0
                for k in 0..<n { product += inverse[i * n + k] * Double(h[k * n + j]) }
                worst = max(worst, abs(product - (i == j ? 1 : 0)))
            }
        }
        #expect(worst < 2e-3, "max |Uᵀ U H − I| = \(worst)")
    }

    /// Only H's upper triangle is read.
    @Test func inverseFactorReadsTheUpperTriangle() throws {
        let n = 150
        let h = Self.dampedMoments(Self.correlatedInputs(rows: 400, cols: n, seed: 5), rows: 400, cols: n)
        var upper = h
        for i in 0..<n { for j in 0..<i { upper[i * n + j] = .nan } }
        #expect(try Self.factor(upper, n: n) == Self.factor(h, n: n))
    }

    /// Moments that are not positive definite (a negative or zero pivot, or one not finite) have no factor.
    @Test func inverseFactorRefusesWhatIsNotPositiveDefinite() {
        #expect(CalibrationStatistics.inverseFactor([1, 0, 0, 0, -1, 0, 0, 0, 1], n: 3) == nil)
        #expect(CalibrationStatistics.inverseFactor([1, 0, 0, 0, 1, 0, 0, 0, .nan], n: 3) == nil)
        #expect(CalibrationStatistics.inverseFactor([1, 1, 1, 1, 1, 1, 1, 1, 1], n: 3) == nil)
    }

    /// With U the identity no error has anywhere to go: GPTQ gives the nearest levels, bit for bit (NaN included),
    /// over a width that ends in a partial block.
    @Test func identityFactorGivesTheNearestLevels() {
        let rows = 37, cols = 160
        var weights = Self.random(rows * cols, seed: 21).map { $0 * 2 }
        weights[5] = .nan
        weights[cols + 40] = 0
        var identity = [Float](repeating: 0, count: cols * cols)
        for i in 0..<cols { identity[i * cols + i] = 1 }
        let nearest = Self.bytes(Self.int4(weights, rows: rows, cols: cols, factor: nil))
        let gptq = Self.bytes(Self.int4(weights, rows: rows, cols: cols, factor: identity))
        #expect(gptq.levels == nearest.levels)
        #expect(gptq.scales == nearest.scales)
    }

    /// On inputs like those it was given, GPTQ's weights move the products far less than the nearest levels do
    /// (measured 0.019 of their squared error here: inputs of few directions leave much room to cancel errors),
    /// over two whole blocks of 128 columns and a partial one; rows are independent, so the thread count changes no bit.
    @Test func gptqLowersTheOutputError() throws {
        let rows = 24, cols = 320, count = 400
        let x = Self.correlatedInputs(rows: count, cols: cols, seed: 31)
        let u = try Self.factor(Self.dampedMoments(x, rows: count, cols: cols), n: cols)
        let weights = Self.random(rows * cols, seed: 41)
        let gptq = Self.int4(weights, rows: rows, cols: cols, factor: u)

        func outputError(_ w: [Float]) -> Double {
            var sum = 0.0
            for r in 0..<count {
                for o in 0..<rows {
                    let d = (0..<cols).reduce(0.0) { $0 + Double(x[r * cols + $1]) * (Double(weights[o * cols + $1]) - Double(w[o * cols + $1])) }
                    sum += d * d
                }
            }
            return sum
        }
        let ratio = outputError(Self.dequantized(gptq)) / outputError(Self.dequantized(Self.int4(weights, rows: rows, cols: cols, factor: nil)))
        #expect(ratio < 0.1, "GPTQ's squared output error is \(ratio) of the nearest levels'")
        for threads in [1, 3] {
            let other = Self.bytes(Self.int4(weights, rows: rows, cols: cols, factor: u, threads: threads))
            #expect(other.levels == Self.bytes(gptq).levels && other.scales == Self.bytes(gptq).scales, "\(threads) threads")
        }

        // An infinite weight's error is not finite and would reach every later column: such a matrix gets the nearest levels.
        var infinite = weights
        infinite[cols + 7] = .infinity
        let nearest = Self.bytes(Self.int4(infinite, rows: rows, cols: cols, factor: nil))
        let refused = Self.bytes(Self.int4(infinite, rows: rows, cols: cols, factor: u))
        #expect(refused.levels == nearest.levels && refused.scales == nearest.scales)
    }
}
