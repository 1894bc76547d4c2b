import CKernels

/// Dropout probabilities of a training run (transformers' `dropout`, `attention_dropout`, `activation_dropout`,
/// plus the embedding dropout of fairseq/metaseq).
public struct DropoutRates: Sendable, Equatable, Codable {
    /// After the embeddings.
    public var embedding: Float
    /// On each block's output before it joins the residual stream.
    public var residual: Float
    /// On attention probabilities.
    public var attention: Float
    /// After the FFN activation.
    public var activation: Float

    public init(embedding: Float = 0, residual: Float = 0, attention: Float = 0, activation: Float = 0) {
        self.embedding = embedding
        self.residual = residual
        self.attention = attention
        self.activation = activation
    }

    public static let none = DropoutRates()
    /// The paper's fine-tuning: 0.1 on embeddings, residual connections and attention.
    public static let paper = DropoutRates(embedding: 0.1, residual: 0.1, attention: 0.1, activation: 0)
}

/// Dropout decisions as a pure function of (seed, site, element): the backward pass regenerates the
/// forward's masks instead of storing them, and a resumed run draws the same ones.
struct DropoutMask {
    let seed: UInt64
    let site: UInt64
    let probability: Float
    /// What a kept element is multiplied by.
    let scale: Float
    /// Elements whose 24-bit hash falls below this are dropped.
    private let threshold: UInt32

    init(seed: UInt64, site: UInt64, probability: Float) {
        self.seed = seed
        self.site = site
        self.probability = probability
        scale = probability > 0 ? 1 / (1 - probability) : 1
        threshold = UInt32(min(Double(probability), 1) * 16_777_216)
    }

    var isActive: Bool { probability > 0 }

    /// x[i] *= 0 (dropped) or `scale`, decided by the hash of element `offset + i`, for i in 0..<count.
    func apply(_ x: UnsafeMutablePointer<Float>, count: Int, offset: Int = 0) {
        guard isActive else { return }
        ck_dropout_f32(x, count, seed &+ site &* 0x9E37_79B9_7F4A_7C15, UInt64(truncatingIfNeeded: offset), threshold, scale)
    }
}
