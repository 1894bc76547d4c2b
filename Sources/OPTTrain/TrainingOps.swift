import CKernels
import Foundation
import OPTKernels
import OPTModel

/// Forward and backward of the layers' pieces over raw buffers, split across the pool.
///
/// Backward functions add into parameter gradients (which accumulate over micro-batches) and
/// either write or add the input gradient, as the caller says.
struct TrainingOps {
    let pool: ComputePool
    /// The inputs' element type of the linear layers' products, and the library doing them.
    let precision: MatmulPrecision
    let library: MatmulLibrary
    /// Per-block partial sums for the layer-norm parameter gradients (`ComputePool.maximumBlocks × 2 × width`).
    let partials: FloatBuffer

    init(pool: ComputePool, width: Int, precision: MatmulPrecision, library: MatmulLibrary) {
        self.pool = pool
        self.precision = precision
        self.library = library
        partials = FloatBuffer(count: ComputePool.maximumBlocks * 2 * width)
    }

    /// y = x · Wᵀ (+ b): x `[rows, in]`, W `[out, in]`.
    func linear(_ x: UnsafePointer<Float>, rows: Int, _ l: ParameterLayout.Linear, _ p: UnsafePointer<Float>,
                into y: UnsafeMutablePointer<Float>) {
        BLAS.sgemm(pool: pool, transposeA: false, transposeB: true, m: rows, n: l.outFeatures, k: l.inFeatures,
                   a: x, lda: l.inFeatures, b: p + l.weight.offset, ldb: l.inFeatures, c: y, ldc: l.outFeatures, precision: precision, library: library)
        guard let bias = l.bias else { return }
        let width = l.outFeatures, b = p + bias.offset
        pool.forEachChunk(rows, minimumChunk: 16) { _, range in
            for r in range { Ops.add(b, into: y + r * width, count: width) }
        }
    }

    /// `body` over `0..<count` in contiguous chunks, in parallel: for element-wise steps, whose results do not
    /// depend on where the chunks fall (the dropout masks are keyed by element index).
    func elementwise(_ count: Int, _ body: (Range<Int>) -> Void) {
        pool.forEachChunk(count, minimumChunk: 32_768) { _, range in body(range) }
    }

    /// x = dropout(x) with `mask`.
    func dropout(_ mask: DropoutMask, _ x: UnsafeMutablePointer<Float>, count: Int) {
        guard mask.isActive else { return }
        elementwise(count) { mask.apply(x + $0.lowerBound, count: $0.count, offset: $0.lowerBound) }
    }

    /// x += y.
    func add(_ y: UnsafePointer<Float>, into x: UnsafeMutablePointer<Float>, count: Int) {
        elementwise(count) { ck_add_f32(x + $0.lowerBound, y + $0.lowerBound, $0.count) }
    }

    /// x *= factor.
    func scale(_ x: UnsafeMutablePointer<Float>, count: Int, by factor: Float) {
        elementwise(count) { ck_scale_f32(x + $0.lowerBound, $0.count, factor) }
    }

    /// y = x.
    func copy(_ x: UnsafePointer<Float>, count: Int, into y: UnsafeMutablePointer<Float>) {
        elementwise(count) { (y + $0.lowerBound).update(from: x + $0.lowerBound, count: $0.count) }
    }

    /// Given dy `[rows, out]`: dW += dyᵀ·x, db += Σ dy, and dx = dy·W (or dx += when `accumulate`).
    func linearBackward(_ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>, rows: Int, _ l: ParameterLayout.Linear,
                        _ p: UnsafePointer<Float>, _ g: UnsafeMutablePointer<Float>,
                        dx: UnsafeMutablePointer<Float>?, accumulate: Bool = false) {
        let i = l.inFeatures, o = l.outFeatures
        BLAS.sgemm(pool: pool, transposeA: true, transposeB: false, m: o, n: i, k: rows,
                   a: dy, lda: o, b: x, ldb: i, beta: 1, c: g + l.weight.offset, ldc: i, precision: precision, library: library)
        if let bias = l.bias {
            let db = g + bias.offset
            // Columns are shared out, not rows: each db[j] adds its rows in order on one thread,
            // so the sum is the same whatever the thread count.
            pool.forEachChunk(o, minimumChunk: 64) { _, columns in
                for r in 0..<rows {
                    let row = dy + r * o
                    for j in columns { db[j] += row[j] }
                }
            }
        }
        if let dx {
            BLAS.sgemm(pool: pool, transposeA: false, transposeB: false, m: rows, n: i, k: o,
                       a: dy, lda: o, b: p + l.weight.offset, ldb: i, beta: accumulate ? 1 : 0, c: dx, ldc: i,
                       precision: precision, library: library)
        }
    }

    /// LayerNorm as `torch.nn.LayerNorm`, saving each row's mean and 1/σ for the backward pass.
    func layerNorm(_ x: UnsafePointer<Float>, rows: Int, width: Int, _ n: ParameterLayout.Norm, _ p: UnsafePointer<Float>,
                   mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        let gamma = n.weight.map { p + $0.offset }, beta = n.bias.map { p + $0.offset }
        pool.forEachChunk(rows, minimumChunk: 8) { _, range in
            for r in range {
                let xr = x + r * width, yr = y + r * width
                var m: Float = 0
                for j in 0..<width { m += xr[j] }
                m /= Float(width)
                var variance: Float = 0
                for j in 0..<width { let d = xr[j] - m; variance += d * d }
                let inv = 1 / (variance / Float(width) + 1e-5).squareRoot()
                mean[r] = m
                rstd[r] = inv
                for j in 0..<width {
                    var v = (xr[j] - m) * inv
                    if let gamma { v *= gamma[j] }
                    if let beta { v += beta[j] }
                    yr[j] = v
                }
            }
        }
    }

    /// dx += LayerNorm'(x)ᵀ·dy (or dx = with `accumulate` false); dγ += Σ dy·x̂, dβ += Σ dy.
    func layerNormBackward(_ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>, rows: Int, width: Int,
                           _ n: ParameterLayout.Norm, _ p: UnsafePointer<Float>, _ g: UnsafeMutablePointer<Float>,
                           mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>,
                           dx: UnsafeMutablePointer<Float>, accumulate: Bool) {
        let gamma = n.weight.map { p + $0.offset }
        // dγ and dβ sum over rows: per block of rows, then over the blocks in order, so that the
        // thread count cannot change the result.
        let parts = partials.pointer, blocks = ComputePool.blocks(rows, minimumBlock: 8)
        parts.update(repeating: 0, count: blocks * 2 * width)
        pool.forEachBlock(rows, blocks: blocks) { block, range in
            let dGamma = parts + block * 2 * width, dBeta = dGamma + width
            for r in range {
                let xr = x + r * width, dyr = dy + r * width, dxr = dx + r * width
                let m = mean[r], inv = rstd[r]
                var sumG: Float = 0, sumGX: Float = 0
                for j in 0..<width {
                    let xhat = (xr[j] - m) * inv
                    let gj = dyr[j] * (gamma?[j] ?? 1)
                    sumG += gj
                    sumGX += gj * xhat
                    dGamma[j] += dyr[j] * xhat
                    dBeta[j] += dyr[j]
                }
                let meanG = sumG / Float(width), meanGX = sumGX / Float(width)
                for j in 0..<width {
                    let xhat = (xr[j] - m) * inv
                    let v = inv * (dyr[j] * (gamma?[j] ?? 1) - meanG - xhat * meanGX)
                    dxr[j] = accumulate ? dxr[j] + v : v
                }
            }
        }
        guard let weight = n.weight, let bias = n.bias else { return }
        for block in 0..<blocks {
            let dGamma = parts + block * 2 * width
            Ops.add(dGamma, into: g + weight.offset, count: width)
            Ops.add(dGamma + width, into: g + bias.offset, count: width)
        }
    }
}

extension Ops.Activation {
    /// dx = dy · f′(x), in place over `dy`.
    func backward(_ x: UnsafePointer<Float>, _ dy: UnsafeMutablePointer<Float>, count: Int) {
        switch self {
        case .relu:
            ck_relu_backward_f32(x, dy, count)
        case .gelu:
            let invRoot2 = Float(1 / 2.0.squareRoot()), invRoot2Pi = Float(1 / (2 * Double.pi).squareRoot())
            for i in 0..<count {
                let v = x[i]
                let cdf = 0.5 * (1 + Float(erf(Double(v * invRoot2))))
                dy[i] *= cdf + v * invRoot2Pi * expf(-0.5 * v * v)
            }
        case .geluNew:
            let c = Float((2.0 / Double.pi).squareRoot())
            for i in 0..<count {
                let v = x[i], inner = c * (v + 0.044715 * v * v * v)
                let t = tanhf(inner)
                dy[i] *= 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * c * (1 + 3 * 0.044715 * v * v)
            }
        }
    }
}
