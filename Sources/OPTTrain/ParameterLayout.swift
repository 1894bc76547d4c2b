import Foundation
import OPTModel

/// Where every parameter of an `OPTForCausalLM` lives in one flat Float32 vector.
///
/// Training keeps parameters, gradients and both AdamW moments as four vectors of this layout, so
/// that the optimizer, gradient clipping and zeroing are single loops, and a checkpoint is the
/// vector cut at these offsets. Names are the Hugging Face checkpoint keys.
public struct ParameterLayout: Sendable {
    /// One tensor: its checkpoint name, shape and place in the vector.
    public struct Slot: Sendable, Equatable {
        public let name: String
        public let shape: [Int]
        public let offset: Int
        public var count: Int { shape.reduce(1, *) }
    }

    /// A `Linear`: weight `[out, in]` at `weight`, bias `[out]` at `bias`.
    public struct Linear: Sendable {
        public let weight: Int
        public let bias: Int?
        public let inFeatures: Int
        public let outFeatures: Int
    }

    /// A `LayerNorm` whose affine parameters may be absent.
    public struct Norm: Sendable {
        public let weight: Int?
        public let bias: Int?
    }

    /// One decoder layer.
    public struct Layer: Sendable {
        public let q, k, v, out: Linear
        public let attentionNorm: Norm
        public let fc1, fc2: Linear
        public let finalNorm: Norm
    }

    public let config: OPTConfig
    public private(set) var slots: [Slot] = []
    public private(set) var count = 0
    public let embedTokens: Int
    public let embedPositions: Int
    public let projectIn: Linear?
    public let projectOut: Linear?
    public let finalNorm: Norm?
    public let layers: [Layer]
    /// The lm_head weight: `embedTokens` when tied.
    public let lmHead: Int

    public init(config c: OPTConfig) {
        var slots: [Slot] = []
        var count = 0
        func add(_ name: String, _ shape: [Int]) -> Int {
            let slot = Slot(name: name, shape: shape, offset: count)
            slots.append(slot)
            count += slot.count
            return slot.offset
        }
        let d = "model.decoder.", h = c.hiddenSize
        func linear(_ name: String, in i: Int, out o: Int, bias: Bool) -> Linear {
            Linear(weight: add(name + ".weight", [o, i]), bias: bias ? add(name + ".bias", [o]) : nil, inFeatures: i, outFeatures: o)
        }
        func norm(_ name: String) -> Norm {
            guard c.layerNormElementwiseAffine else { return Norm(weight: nil, bias: nil) }
            return Norm(weight: add(name + ".weight", [h]), bias: add(name + ".bias", [h]))
        }
        embedTokens = add(d + "embed_tokens.weight", [c.vocabSize, c.wordEmbedProjDim])
        embedPositions = add(d + "embed_positions.weight", [c.maxPositionEmbeddings + OPTConfig.positionOffset, h])
        if c.hasProjection {
            projectIn = linear(d + "project_in", in: c.wordEmbedProjDim, out: h, bias: false)
            projectOut = linear(d + "project_out", in: h, out: c.wordEmbedProjDim, bias: false)
        } else {
            projectIn = nil
            projectOut = nil
        }
        finalNorm = c.hasFinalLayerNorm ? norm(d + "final_layer_norm") : nil
        layers = (0..<c.numHiddenLayers).map { i in
            let p = d + "layers.\(i).", bias = c.enableBias
            return Layer(
                q: linear(p + "self_attn.q_proj", in: h, out: h, bias: bias),
                k: linear(p + "self_attn.k_proj", in: h, out: h, bias: bias),
                v: linear(p + "self_attn.v_proj", in: h, out: h, bias: bias),
                out: linear(p + "self_attn.out_proj", in: h, out: h, bias: bias),
                attentionNorm: norm(p + "self_attn_layer_norm"),
                fc1: linear(p + "fc1", in: h, out: c.ffnDim, bias: bias),
                fc2: linear(p + "fc2", in: c.ffnDim, out: h, bias: bias),
                finalNorm: norm(p + "final_layer_norm"))
        }
        lmHead = c.tieWordEmbeddings ? embedTokens : add("lm_head.weight", [c.vocabSize, c.wordEmbedProjDim])
        self.config = c
        self.slots = slots
        self.count = count
    }

    /// The slot called `name`.
    public func slot(_ name: String) -> Slot? { slots.first { $0.name == name } }

    /// Whether a parameter is exempt from weight decay: biases, layer norms and position embeddings,
    /// as in metaseq and most instruction-tuning recipes.
    public static func isDecayExempt(_ slot: Slot) -> Bool {
        slot.shape.count == 1 || slot.name.hasSuffix("embed_positions.weight")
    }
}

/// A model's parameters in a `ParameterLayout`, as Float32.
public final class ParameterVector {
    public let layout: ParameterLayout
    public let values: FloatBuffer

    /// Zeros.
    public init(layout: ParameterLayout) {
        self.layout = layout
        values = FloatBuffer(count: layout.count)
    }

    public var pointer: UnsafeMutablePointer<Float> { values.pointer }

    /// The values of the slot called `name`.
    public func tensor(_ name: String) -> [Float]? {
        guard let slot = layout.slot(name) else { return nil }
        return Array(UnsafeBufferPointer(start: pointer + slot.offset, count: slot.count))
    }

    /// Copies every parameter of `model` (converted to Float32 whatever its stored format).
    public convenience init(model: OPTModel) throws {
        self.init(layout: ParameterLayout(config: model.config))
        let w = model.weights
        for (name, matrix) in w.namedMatrices {
            guard let slot = layout.slot(name), slot.shape == [matrix.rows, matrix.cols] else {
                throw ModelError.invalidArgument("training layout has no \(name) of shape [\(matrix.rows), \(matrix.cols)]")
            }
            matrix.toFloat(rows: 0..<matrix.rows, into: pointer + slot.offset)
        }
        for (name, shape, buffer) in w.namedFloatTensors {
            guard let slot = layout.slot(name), slot.shape == shape else {
                throw ModelError.invalidArgument("training layout has no \(name) of shape \(shape)")
            }
            (pointer + slot.offset).update(from: buffer.pointer, count: slot.count)
        }
        // An untied config whose checkpoint has no lm_head: the runtime ties it, so training starts tied too.
        if layout.lmHead != layout.embedTokens, w.tiedHead {
            (pointer + layout.lmHead).update(from: pointer + layout.embedTokens, count: layout.config.vocabSize * layout.config.wordEmbedProjDim)
        }
    }

    /// Loads a Hugging Face checkpoint directory (any format the runtime reads) as Float32.
    public convenience init(directory: URL) throws {
        try self.init(model: OPTModel(directory: directory, format: .f32, threads: 1))
    }
}
