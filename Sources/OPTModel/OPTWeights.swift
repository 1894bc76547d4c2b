import Foundation
import OPTCheckpoint

/// A `torch.nn.Linear`: weight `[outFeatures, inFeatures]` and an optional bias.
public struct LinearWeights: Sendable {
    public let weight: FloatBuffer
    public let bias: FloatBuffer?
    public let inFeatures: Int
    public let outFeatures: Int
}

/// A `torch.nn.LayerNorm` whose affine parameters may be absent (`layer_norm_elementwise_affine: false`).
public struct LayerNormWeights: Sendable {
    public let weight: FloatBuffer?
    public let bias: FloatBuffer?
    public static let eps: Float = 1e-5
}

/// One `OPTDecoderLayer`; names mirror the checkpoint keys.
public struct OPTLayerWeights: Sendable {
    public let qProj, kProj, vProj, outProj: LinearWeights
    public let selfAttnLayerNorm: LayerNormWeights
    public let fc1, fc2: LinearWeights
    public let finalLayerNorm: LayerNormWeights
}

/// Every parameter of an `OPTForCausalLM`, in Float32.
public struct OPTWeights: Sendable {
    public let embedTokens: FloatBuffer       // [vocab, word_embed_proj_dim]
    public let embedPositions: FloatBuffer    // [max_position_embeddings + 2, hidden]
    public let projectIn: LinearWeights?      // word_embed_proj_dim -> hidden (350m)
    public let projectOut: LinearWeights?     // hidden -> word_embed_proj_dim (350m)
    public let finalLayerNorm: LayerNormWeights?
    public let layers: [OPTLayerWeights]
    public let lmHead: FloatBuffer            // [vocab, word_embed_proj_dim], usually tied to embedTokens

    /// Reads and shape-checks every tensor the config implies.
    ///
    /// Names are looked up with and without the `model.` prefix (OPTForCausalLM vs OPTModel
    /// checkpoints); a missing `lm_head.weight` means the head is tied to the token embedding.
    public init(checkpoint: Checkpoint, config: OPTConfig, directory: String) throws {
        let reader = TensorReader(checkpoint: checkpoint, directory: directory)
        let c = config
        let d = "decoder."
        embedTokens = try reader.tensor(d + "embed_tokens.weight", [c.vocabSize, c.wordEmbedProjDim])
        embedPositions = try reader.tensor(
            d + "embed_positions.weight", [c.maxPositionEmbeddings + OPTConfig.positionOffset, c.hiddenSize])
        if c.hasProjection {
            projectIn = try reader.linear(d + "project_in", in: c.wordEmbedProjDim, out: c.hiddenSize, bias: false)
            projectOut = try reader.linear(d + "project_out", in: c.hiddenSize, out: c.wordEmbedProjDim, bias: false)
        } else {
            projectIn = nil
            projectOut = nil
        }
        let affine = c.layerNormElementwiseAffine
        finalLayerNorm = c.hasFinalLayerNorm
            ? try reader.layerNorm(d + "final_layer_norm", width: c.hiddenSize, affine: affine) : nil
        layers = try (0..<c.numHiddenLayers).map { i in
            let p = d + "layers.\(i)."
            let h = c.hiddenSize, bias = c.enableBias
            return OPTLayerWeights(
                qProj: try reader.linear(p + "self_attn.q_proj", in: h, out: h, bias: bias),
                kProj: try reader.linear(p + "self_attn.k_proj", in: h, out: h, bias: bias),
                vProj: try reader.linear(p + "self_attn.v_proj", in: h, out: h, bias: bias),
                outProj: try reader.linear(p + "self_attn.out_proj", in: h, out: h, bias: bias),
                selfAttnLayerNorm: try reader.layerNorm(p + "self_attn_layer_norm", width: h, affine: affine),
                fc1: try reader.linear(p + "fc1", in: h, out: c.ffnDim, bias: bias),
                fc2: try reader.linear(p + "fc2", in: c.ffnDim, out: h, bias: bias),
                finalLayerNorm: try reader.layerNorm(p + "final_layer_norm", width: h, affine: affine))
        }
        if reader.contains("lm_head.weight") {
            lmHead = try reader.tensor("lm_head.weight", [c.vocabSize, c.wordEmbedProjDim], prefixed: false)
        } else {
            lmHead = embedTokens
        }
    }
}

/// Looks tensors up by their OPTModel name, with or without `model.`, and checks shapes.
private struct TensorReader {
    let checkpoint: Checkpoint
    let directory: String

    func contains(_ name: String) -> Bool { checkpoint.info(name) != nil }

    func tensor(_ name: String, _ shape: [Int], prefixed: Bool = true) throws -> FloatBuffer {
        let candidates = prefixed ? ["model." + name, name] : [name]
        guard let stored = candidates.first(where: { checkpoint.info($0) != nil }),
              let info = checkpoint.info(stored)
        else { throw ModelError.missingTensor(name: name, directory: directory) }
        guard info.shape == shape else {
            throw ModelError.wrongShape(name: stored, expected: shape, found: info.shape, directory: directory)
        }
        return FloatBuffer(try checkpoint.floats(stored))
    }

    func linear(_ name: String, in inFeatures: Int, out outFeatures: Int, bias: Bool) throws -> LinearWeights {
        LinearWeights(
            weight: try tensor(name + ".weight", [outFeatures, inFeatures]),
            bias: bias ? try tensor(name + ".bias", [outFeatures]) : nil,
            inFeatures: inFeatures, outFeatures: outFeatures)
    }

    func layerNorm(_ name: String, width: Int, affine: Bool) throws -> LayerNormWeights {
        guard affine else { return LayerNormWeights(weight: nil, bias: nil) }
        return LayerNormWeights(weight: try tensor(name + ".weight", [width]), bias: try tensor(name + ".bias", [width]))
    }
}
