import CKernels
import Foundation
import OPTKernels
import OPTModel

/// How the learning rate moves over a run: linear warmup from 0, then a decay shape.
public struct LearningRateSchedule: Sendable, Equatable, Codable {
    public enum Decay: String, Sendable, Codable, CaseIterable {
        /// Linear to 0 at the last step (the paper's).
        case linear
        case cosine
        case constant
    }

    public var peak: Double
    public var warmupSteps: Int
    public var totalSteps: Int
    public var decay: Decay

    public init(peak: Double, warmupSteps: Int, totalSteps: Int, decay: Decay = .linear) {
        self.peak = peak
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
        self.decay = decay
    }

    /// The rate of update `step` (1-based, as PyTorch's LambdaLR after `step` scheduler steps).
    public func rate(atStep step: Int) -> Double {
        if step <= warmupSteps, warmupSteps > 0 { return peak * Double(step) / Double(warmupSteps) }
        let span = max(totalSteps - warmupSteps, 1)
        let progress = min(max(Double(step - warmupSteps) / Double(span), 0), 1)
        switch decay {
        case .linear: return peak * (1 - progress)
        case .cosine: return peak * 0.5 * (1 + cos(Double.pi * progress))
        case .constant: return peak
        }
    }
}

/// AdamW as `torch.optim.AdamW`: bias-corrected moments, decoupled weight decay applied before the
/// update, Float32 moments beside the Float32 master weights.
public final class AdamW {
    public struct Settings: Sendable, Equatable, Codable {
        public var beta1: Double = 0.9
        public var beta2: Double = 0.95
        public var epsilon: Double = 1e-8
        public var weightDecay: Double = 0.1
        public init(beta1: Double = 0.9, beta2: Double = 0.95, epsilon: Double = 1e-8, weightDecay: Double = 0.1) {
            self.beta1 = beta1
            self.beta2 = beta2
            self.epsilon = epsilon
            self.weightDecay = weightDecay
        }
    }

    public let settings: Settings
    /// First and second moments, in the parameters' layout.
    public let m: ParameterVector
    public let v: ParameterVector
    /// Updates taken so far.
    public var step = 0
    private let pool: ComputePool
    /// Contiguous runs of the parameter vector and whether they decay (biases, norms and position embeddings do not).
    private let runs: [(range: Range<Int>, decays: Bool)]

    public init(layout: ParameterLayout, settings: Settings = Settings(), pool: ComputePool) {
        self.settings = settings
        self.pool = pool
        m = ParameterVector(layout: layout)
        v = ParameterVector(layout: layout)
        runs = layout.slots.map { (range: $0.offset..<($0.offset + $0.count), decays: !ParameterLayout.isDecayExempt($0)) }
    }

    /// One update of `parameters` from `gradients` at learning rate `lr`.
    public func update(_ parameters: ParameterVector, gradients: ParameterVector, lr: Double) {
        step += 1
        let s = settings
        let b1 = Float(s.beta1), b2 = Float(s.beta2), eps = Float(s.epsilon)
        let correction1 = Float(1 - pow(s.beta1, Double(step)))
        let correction2Root = Float((1 - pow(s.beta2, Double(step))).squareRoot())
        let stepSize = Float(lr) / correction1, decay = Float(lr * s.weightDecay)
        let p = parameters.pointer, g = gradients.pointer, m = m.pointer, v = v.pointer
        for run in runs {
            let keep = run.decays ? 1 - decay : 1
            pool.forEachChunk(run.range.count, minimumChunk: 4096) { _, chunk in
                let i = run.range.lowerBound + chunk.lowerBound
                ck_adamw_f32(p + i, g + i, m + i, v + i, chunk.count, keep, b1, b2, stepSize, correction2Root, eps)
            }
        }
    }
}

/// Gradient-vector helpers of the training loop.
public enum GradientOps {
    /// The global L2 norm of `g` (accumulated in Double), the same bits whatever the pool's thread count.
    public static func norm(_ g: ParameterVector, pool: ComputePool) -> Double {
        let count = g.layout.count, blocks = ComputePool.blocks(count, minimumBlock: 4096)
        var partial = Array(repeating: 0.0, count: blocks)
        let pointer = g.pointer
        partial.withUnsafeMutableBufferPointer { sums in
            pool.forEachBlock(count, blocks: blocks) { block, range in
                sums[block] = ck_sum_squares_f64(pointer + range.lowerBound, range.count)
            }
        }
        return partial.reduce(0, +).squareRoot()
    }

    /// Scales `g` so that its norm is at most `maxNorm` (as `torch.nn.utils.clip_grad_norm_`); returns the norm before.
    @discardableResult
    public static func clip(_ g: ParameterVector, maxNorm: Double, pool: ComputePool) -> Double {
        let total = norm(g, pool: pool)
        guard maxNorm > 0, total > maxNorm else { return total }
        let factor = Float(maxNorm / (total + 1e-6)), pointer = g.pointer
        pool.forEachChunk(g.layout.count, minimumChunk: 4096) { _, range in
            ck_scale_f32(pointer + range.lowerBound, range.count, factor)
        }
        return total
    }

    public static func zero(_ g: ParameterVector) { g.pointer.update(repeating: 0, count: g.layout.count) }
}
