import Foundation

/// The tensors of an `OPTForCausalLM`: each one's checkpoint name, shape, role and place in one flat Float32 vector.
///
/// This is the one description of the architecture's parameters. Loading (`OPTWeights`), export
/// (`CheckpointExport`), random initialisation (`RandomCheckpoint`) and training (whose parameters,
/// gradients and AdamW moments are vectors in this layout) all take names and shapes from it.
/// Names are the Hugging Face checkpoint keys of `OPTForCausalLM`.
public struct ParameterLayout: Sendable {
    /// What a tensor is, which decides how it is stored, initialised and decayed.
    public enum Role: Sendable, Equatable {
        /// A `Linear` weight or the token embedding (or lm_head): kept in the model's `WeightFormat`.
        case matrix
        /// The learned position embeddings.
        case positions
        /// A `Linear` bias.
        case bias
        /// A `LayerNorm`'s scale γ.
        case normWeight
        /// A `LayerNorm`'s shift β.
        case normBias
    }

    /// One tensor: its checkpoint name, shape, role and place in the vector.
    public struct Slot: Sendable, Equatable {
        public let name: String
        public let shape: [Int]
        public let role: Role
        public let offset: Int
        public var count: Int { shape.reduce(1, *) }
    }

    /// A `Linear`: weight `[out, in]`, optional bias `[out]`.
    public struct Linear: Sendable {
        public let weight: Slot
        public let bias: Slot?
        public var inFeatures: Int { weight.shape[1] }
        public var outFeatures: Int { weight.shape[0] }
    }

    /// A `LayerNorm` whose affine parameters may be absent.
    public struct Norm: Sendable {
        public let weight: Slot?
        public let bias: Slot?
        /// Its slots, weight first.
        public var slots: [Slot] { [weight, bias].compactMap { $0 } }
    }

    /// One decoder layer.
    public struct Layer: Sendable {
        public let q, k, v, out: Linear
        public let attentionNorm: Norm
        public let fc1, fc2: Linear
        public let finalNorm: Norm
        /// Its linears in checkpoint order.
        public var linears: [Linear] { [q, k, v, out, fc1, fc2] }
    }

    public let config: OPTConfig
    /// Every tensor in vector order (a tied lm_head is not one).
    public let slots: [Slot]
    /// Floats in the vector.
    public let count: Int
    public let embedTokens: Slot
    public let embedPositions: Slot
    public let projectIn: Linear?
    public let projectOut: Linear?
    public let finalNorm: Norm?
    public let layers: [Layer]
    /// The lm_head weight: `embedTokens` when tied.
    public let lmHead: Slot
    /// Whether lm_head is the token embedding itself (`tie_word_embeddings`).
    public var tiedHead: Bool { lmHead == embedTokens }

    public init(config c: OPTConfig) {
        var slots: [Slot] = []
        var count = 0
        func add(_ name: String, _ shape: [Int], _ role: Role) -> Slot {
            let slot = Slot(name: name, shape: shape, role: role, offset: count)
            slots.append(slot)
            count += slot.count
            return slot
        }
        let d = "model.decoder.", h = c.hiddenSize
        func linear(_ name: String, in i: Int, out o: Int, bias: Bool) -> Linear {
            Linear(weight: add(name + ".weight", [o, i], .matrix), bias: bias ? add(name + ".bias", [o], .bias) : nil)
        }
        func norm(_ name: String) -> Norm {
            guard c.layerNormElementwiseAffine else { return Norm(weight: nil, bias: nil) }
            return Norm(weight: add(name + ".weight", [h], .normWeight), bias: add(name + ".bias", [h], .normBias))
        }
        embedTokens = add(d + "embed_tokens.weight", [c.vocabSize, c.wordEmbedProjDim], .matrix)
        embedPositions = add(d + "embed_positions.weight", [c.maxPositionEmbeddings + OPTConfig.positionOffset, h], .positions)
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
        lmHead = c.tieWordEmbeddings ? embedTokens : add("lm_head.weight", [c.vocabSize, c.wordEmbedProjDim], .matrix)
        self.config = c
        self.slots = slots
        self.count = count
    }

    /// The weights of each matrix product, grouped by the input they share (q, k and v), in the order a forward pass
    /// runs them: project_in, each layer's q/k/v, out_proj, fc1 and fc2, project_out, the lm_head (the embedding when tied).
    public var productInputs: [[Slot]] {
        var groups = projectIn.map { [[$0.weight]] } ?? []
        for l in layers { groups += [[l.q.weight, l.k.weight, l.v.weight], [l.out.weight], [l.fc1.weight], [l.fc2.weight]] }
        if let projectOut { groups.append([projectOut.weight]) }
        return groups + [[lmHead]]
    }

    /// The slot called `name`.
    public func slot(_ name: String) -> Slot? { slots.first { $0.name == name } }

    /// Whether a parameter is exempt from weight decay: biases, layer norms and position embeddings,
    /// as in metaseq and most instruction-tuning recipes.
    public static func isDecayExempt(_ slot: Slot) -> Bool { slot.role != .matrix }
}
