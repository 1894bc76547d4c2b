import Foundation

/// Element-wise operations over raw buffers (the inference engine's row-wise steps between GEMMs are CKernels' rowwise.c).
///
/// These run on preallocated storage in the hot loop, so they take pointers and never allocate.
public enum Ops {
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
