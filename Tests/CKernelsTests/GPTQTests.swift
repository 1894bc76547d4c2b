import CKernels
import Testing

/// GPTQ's int4 rounding: the inverse factor of the inputs' second moments, and the rounding it steers.
/// One implementation for every instruction set (no dispatch), so these need not switch paths.
@Suite("GPTQ")
struct GPTQTests {
    /// Rows of inputs whose columns are correlated (each a mix of a few shared directions plus its own noise), as a
    /// layer's inputs are: the case where carrying rounding errors into later columns can cancel them.
    static func correlatedInputs(rows: Int, cols: Int, seed: UInt64) -> [Float] {
        let shared = 6
        let mixing = KernelTests.random(shared * cols, seed: seed)
        let factors = KernelTests.random(rows * shared, seed: seed + 1)
        let noise = KernelTests.random(rows * cols, seed: seed + 2)
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

    static func factor(_ h: [Float], n: Int) -> [Float] {
        var u = [Float](repeating: .nan, count: n * n)
        #expect(ck_gptq_inverse_factor(h, &u, n) == 0)
        return u
    }

    /// int4 weights read back (through the format's own reader).
    static func dequantized(_ packed: [UInt8], _ scales: [UInt16], rows: Int, cols: Int) -> [Float] {
        var out = [Float](repeating: .nan, count: rows * cols)
        ck_rows_to_f32_q4(packed, scales, &out, cols, 0, rows)
        return out
    }

    /// U is upper triangular with a positive diagonal and Uᵀ U H = I: the Cholesky factor of H⁻¹, which those two
    /// properties determine. Sizes below, at and past the dot product's eight lanes.
    @Test(arguments: [1, 7, 8, 37, 130])
    func inverseFactorIsTheCholeskyFactorOfTheInverse(n: Int) {
        let h = Self.dampedMoments(Self.correlatedInputs(rows: 3 * n + 8, cols: n, seed: UInt64(n)), rows: 3 * n + 8, cols: n)
        let u = Self.factor(h, n: n)
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
    @Test func inverseFactorReadsTheUpperTriangle() {
        let n = 19
        let h = Self.dampedMoments(Self.correlatedInputs(rows: 64, cols: n, seed: 5), rows: 64, cols: n)
        var upper = h
        for i in 0..<n { for j in 0..<i { upper[i * n + j] = .nan } }
        #expect(Self.factor(upper, n: n) == Self.factor(h, n: n))
    }

    /// Moments that are not positive definite name the column where the factorization stopped; it runs from the
    /// last column to the first.
    @Test func inverseFactorRefusesWhatIsNotPositiveDefinite() {
        var u = [Float](repeating: 0, count: 9)
        #expect(ck_gptq_inverse_factor([1, 0, 0, 0, -1, 0, 0, 0, 1], &u, 3) == 2)
        #expect(ck_gptq_inverse_factor([1, 0, 0, 0, 1, 0, 0, 0, .nan], &u, 3) == 3)
        // Rank one: its second pivot (column 1, from the end) is zero.
        #expect(ck_gptq_inverse_factor([1, 1, 1, 1, 1, 1, 1, 1, 1], &u, 3) == 2)
    }

    /// With U the identity no error has anywhere to go: GPTQ is ck_quantize_rows_q4, bit for bit (NaN included),
    /// over a width that ends in a partial block.
    @Test func identityFactorGivesTheNearestLevels() {
        let rows = 37, cols = 160
        var weights = KernelTests.random(rows * cols, seed: 21).map { $0 * 2 }
        weights[5] = .nan
        weights[cols + 40] = 0
        var identity = [Float](repeating: 0, count: cols * cols)
        for i in 0..<cols { identity[i * cols + i] = 1 }
        var nearest = [UInt8](repeating: 0, count: rows * cols / 2), nearestScales = [UInt16](repeating: 0, count: rows * cols / 32)
        ck_quantize_rows_q4(weights, &nearest, &nearestScales, rows, cols)
        var packed = [UInt8](repeating: 0xAA, count: rows * cols / 2), scales = [UInt16](repeating: 0, count: rows * cols / 32)
        var rounded = weights
        ck_gptq_q4(&rounded, identity, &packed, &scales, rows, cols)
        #expect(packed == nearest)
        #expect(scales == nearestScales)
    }

    /// On inputs like those it was given, GPTQ's weights move the products far less than the nearest levels do
    /// (measured 0.024 of their squared error here: inputs of few directions leave much room to cancel errors); rows are independent, so splitting them changes no bit.
    @Test func gptqLowersTheOutputError() {
        let rows = 24, cols = 192, count = 400
        let x = Self.correlatedInputs(rows: count, cols: cols, seed: 31)
        let u = Self.factor(Self.dampedMoments(x, rows: count, cols: cols), n: cols)
        let weights = KernelTests.random(rows * cols, seed: 41)
        var nearest = [UInt8](repeating: 0, count: rows * cols / 2), nearestScales = [UInt16](repeating: 0, count: rows * cols / 32)
        ck_quantize_rows_q4(weights, &nearest, &nearestScales, rows, cols)
        var packed = [UInt8](repeating: 0, count: rows * cols / 2), scales = [UInt16](repeating: 0, count: rows * cols / 32)
        var rounded = weights
        ck_gptq_q4(&rounded, u, &packed, &scales, rows, cols)

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
        let gptq = outputError(Self.dequantized(packed, scales, rows: rows, cols: cols))
        let plain = outputError(Self.dequantized(nearest, nearestScales, rows: rows, cols: cols))
        #expect(gptq < 0.1 * plain, "GPTQ \(gptq) against the nearest levels' \(plain)")

        let split = 10
        var first = Array(weights[0..<(split * cols)]), second = Array(weights[(split * cols)...])
        var packedFirst = [UInt8](repeating: 0, count: split * cols / 2), scalesFirst = [UInt16](repeating: 0, count: split * cols / 32)
        var packedSecond = [UInt8](repeating: 0, count: (rows - split) * cols / 2)
        var scalesSecond = [UInt16](repeating: 0, count: (rows - split) * cols / 32)
        ck_gptq_q4(&first, u, &packedFirst, &scalesFirst, split, cols)
        ck_gptq_q4(&second, u, &packedSecond, &scalesSecond, rows - split, cols)
        #expect(packedFirst + packedSecond == packed)
        #expect(scalesFirst + scalesSecond == scales)
    }
}
