import Foundation

/// The row-wise and element-wise operations of a transformer layer, over raw buffers.
///
/// These run on preallocated storage in the hot loop, so they take pointers and never allocate.
public enum Ops {
    /// y = x · Wᵀ + b for `rows` rows of `x` ([rows, inFeatures]); W is a PyTorch `Linear` weight `[outFeatures, inFeatures]`.
    public static func linear(
        _ x: UnsafePointer<Float>, rows: Int, inFeatures: Int,
        weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, outFeatures: Int,
        into y: UnsafeMutablePointer<Float>
    ) {
        BLAS.sgemm(transposeA: false, transposeB: true, m: rows, n: outFeatures, k: inFeatures,
                   a: x, lda: inFeatures, b: weight, ldb: inFeatures, c: y, ldc: outFeatures)
        guard let bias else { return }
        for r in 0..<rows {
            let row = y + r * outFeatures
            for j in 0..<outFeatures { row[j] += bias[j] }
        }
    }

    /// LayerNorm over the last dimension, matching `torch.nn.LayerNorm` (biased variance, eps inside the root).
    public static func layerNorm(
        _ x: UnsafePointer<Float>, rows: Int, width: Int,
        weight: UnsafePointer<Float>?, bias: UnsafePointer<Float>?, eps: Float,
        into y: UnsafeMutablePointer<Float>
    ) {
        for r in 0..<rows {
            let xr = x + r * width, yr = y + r * width
            var mean: Float = 0
            for j in 0..<width { mean += xr[j] }
            mean /= Float(width)
            var variance: Float = 0
            for j in 0..<width { let d = xr[j] - mean; variance += d * d }
            variance /= Float(width)
            let inv = 1 / (variance + eps).squareRoot()
            for j in 0..<width {
                var v = (xr[j] - mean) * inv
                if let weight { v *= weight[j] }
                if let bias { v += bias[j] }
                yr[j] = v
            }
        }
    }

    /// x += y, element-wise.
    public static func add(_ y: UnsafePointer<Float>, into x: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { x[i] += y[i] }
    }

    /// The activations OPT configs name (`activation_function`).
    public enum Activation: String, Sendable {
        case relu
        case gelu
        case geluNew = "gelu_new"

        /// Applies the activation in place.
        public func apply(_ x: UnsafeMutablePointer<Float>, count: Int) {
            switch self {
            case .relu:
                // Branch-free so that it vectorizes.
                for i in 0..<count { x[i] = Swift.max(x[i], 0) }
            case .gelu:
                for i in 0..<count { x[i] = 0.5 * x[i] * (1 + Float(erf(Double(x[i]) / 2.0.squareRoot()))) }
            case .geluNew:
                let c = Float((2.0 / Double.pi).squareRoot())
                for i in 0..<count {
                    let v = x[i]
                    x[i] = 0.5 * v * (1 + tanh(c * (v + 0.044715 * v * v * v)))
                }
            }
        }
    }

    /// log Σ exp(x) of one row, computed stably.
    public static func logSumExp(_ x: UnsafeBufferPointer<Float>, count: Int) -> Float {
        var maximum = -Float.infinity
        for i in 0..<count where x[i] > maximum { maximum = x[i] }
        guard maximum.isFinite else { return maximum }
        var sum: Double = 0
        for i in 0..<count { sum += Double(expf(x[i] - maximum)) }
        return maximum + Float(log(sum))
    }
}
