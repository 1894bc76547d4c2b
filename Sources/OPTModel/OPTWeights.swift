import CKernels
import Foundation
import OPTCheckpoint
import OPTKernels

/// A `torch.nn.Linear`: weight `[outFeatures, inFeatures]` and an optional Float32 bias.
public struct LinearWeights: Sendable {
    public let weight: WeightMatrix
    public let bias: ConstantFloats?
    public var inFeatures: Int { weight.cols }
    public var outFeatures: Int { weight.rows }
}

/// A `torch.nn.LayerNorm` whose affine parameters may be absent (`layer_norm_elementwise_affine: false`).
public struct LayerNormWeights: Sendable {
    public let weight: ConstantFloats?
    public let bias: ConstantFloats?
    public static let eps: Float = 1e-5
}

/// One `OPTDecoderLayer`; names mirror the checkpoint keys.
public struct OPTLayerWeights: Sendable {
    public let qProj, kProj, vProj, outProj: LinearWeights
    public let selfAttnLayerNorm: LayerNormWeights
    public let fc1, fc2: LinearWeights
    public let finalLayerNorm: LayerNormWeights
}

/// Every parameter of an `OPTForCausalLM`.
///
/// Matrices (projections, FFN, token embeddings and lm_head) are kept in the chosen
/// `WeightFormat`; position embeddings, biases and layer norms stay Float32 (they are small).
public struct OPTWeights: Sendable {
    public let embedTokens: WeightMatrix      // [vocab, word_embed_proj_dim]
    public let embedPositions: ConstantFloats   // [max_position_embeddings + 2, hidden]
    public let projectIn: LinearWeights?      // word_embed_proj_dim -> hidden (350m)
    public let projectOut: LinearWeights?     // hidden -> word_embed_proj_dim (350m)
    public let finalLayerNorm: LayerNormWeights?
    public let layers: [OPTLayerWeights]
    public let lmHead: WeightMatrix           // [vocab, word_embed_proj_dim], usually tied to embedTokens
    /// Whether lm_head is the token embedding itself.
    public let tiedHead: Bool

    /// Reads and shape-checks every tensor the config implies.
    ///
    /// Names are looked up with and without the `model.` prefix (OPTForCausalLM vs OPTModel
    /// checkpoints); a missing `lm_head.weight` means the head is tied to the token embedding.
    /// `format` nil keeps each matrix as stored; weights already in the wanted format are used in
    /// place in the memory map, without a copy. Quantizing to int4 runs on `threads` threads (default: every core).
    public init(checkpoint: Checkpoint, config: OPTConfig, directory: String, format: WeightFormat? = nil,
                threads: Int? = nil) throws {
        let reader = TensorReader(checkpoint: checkpoint, directory: directory, format: format, pool: ComputePool(threads: threads))
        let c = config
        let d = "decoder."
        embedTokens = try reader.matrix(d + "embed_tokens.weight", rows: c.vocabSize, cols: c.wordEmbedProjDim)
        embedPositions = try reader.floats(
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
        // transformers ties the head whenever tie_word_embeddings is set, whatever the file holds.
        if !c.tieWordEmbeddings, reader.contains("lm_head.weight") {
            lmHead = try reader.matrix("lm_head.weight", rows: c.vocabSize, cols: c.wordEmbedProjDim, prefixed: false)
            tiedHead = false
        } else {
            lmHead = embedTokens
            tiedHead = true
        }
    }

    /// Every matrix of the model with its checkpoint name (for quantizing and saving).
    public var namedMatrices: [(name: String, matrix: WeightMatrix)] {
        var all: [(String, WeightMatrix)] = [("model.decoder.embed_tokens.weight", embedTokens)]
        if let projectIn { all.append(("model.decoder.project_in.weight", projectIn.weight)) }
        if let projectOut { all.append(("model.decoder.project_out.weight", projectOut.weight)) }
        for (i, l) in layers.enumerated() {
            let p = "model.decoder.layers.\(i)."
            all += [(p + "self_attn.q_proj.weight", l.qProj.weight), (p + "self_attn.k_proj.weight", l.kProj.weight),
                    (p + "self_attn.v_proj.weight", l.vProj.weight), (p + "self_attn.out_proj.weight", l.outProj.weight),
                    (p + "fc1.weight", l.fc1.weight), (p + "fc2.weight", l.fc2.weight)]
        }
        if !tiedHead { all.append(("lm_head.weight", lmHead)) }
        return all
    }

    /// Every Float32 vector and table of the model (position embeddings, biases, layer norms) with its checkpoint name.
    public var namedFloatTensors: [(name: String, shape: [Int], values: ConstantFloats)] {
        var all: [(String, [Int], ConstantFloats)] = [
            ("model.decoder.embed_positions.weight", [embedPositions.count / hiddenSize, hiddenSize], embedPositions),
        ]
        func norm(_ name: String, _ n: LayerNormWeights?) {
            if let w = n?.weight { all.append((name + ".weight", [w.count], w)) }
            if let b = n?.bias { all.append((name + ".bias", [b.count], b)) }
        }
        func bias(_ name: String, _ l: LinearWeights) {
            if let b = l.bias { all.append((name + ".bias", [b.count], b)) }
        }
        norm("model.decoder.final_layer_norm", finalLayerNorm)
        for (i, l) in layers.enumerated() {
            let p = "model.decoder.layers.\(i)."
            for (name, linear) in [("self_attn.q_proj", l.qProj), ("self_attn.k_proj", l.kProj), ("self_attn.v_proj", l.vProj),
                                   ("self_attn.out_proj", l.outProj), ("fc1", l.fc1), ("fc2", l.fc2)] {
                bias(p + name, linear)
            }
            norm(p + "self_attn_layer_norm", l.selfAttnLayerNorm)
            norm(p + "final_layer_norm", l.finalLayerNorm)
        }
        return all
    }

    /// Width of the decoder's hidden states.
    private var hiddenSize: Int { layers.first?.qProj.inFeatures ?? embedPositions.count }
}

/// Looks tensors up by their OPTModel name, with or without `model.`, checks shapes, converts formats.
private struct TensorReader {
    let checkpoint: Checkpoint
    let directory: String
    let format: WeightFormat?
    /// The threads conversions at load run on.
    let pool: ComputePool

    /// Suffix of the per-row scales stored beside an int8 matrix (`<name>_scale`).
    static let scaleSuffix = "_scale"
    /// Suffix of the per-group f16 scales stored beside an int4 matrix (`<name>_group_scale`).
    static let groupScaleSuffix = "_group_scale"
    /// safetensors metadata key recording the int4 group size (columns per scale).
    static let groupSizeKey = "optiml_int4_group_size"

    func contains(_ name: String) -> Bool { checkpoint.info(name) != nil }

    /// The stored name and info of `name`; `shape` nil leaves the shape to the caller.
    func resolve(_ name: String, _ shape: [Int]?, prefixed: Bool) throws -> (String, TensorInfo) {
        let candidates = prefixed ? ["model." + name, name] : [name]
        guard let stored = candidates.first(where: { checkpoint.info($0) != nil }), let info = checkpoint.info(stored) else {
            throw ModelError.missingTensor(name: name, directory: directory)
        }
        if let shape, info.shape != shape {
            throw ModelError.wrongShape(name: stored, expected: shape, found: info.shape, directory: directory)
        }
        return (stored, info)
    }

    func floats(_ name: String, _ shape: [Int], prefixed: Bool = true) throws -> ConstantFloats {
        let (stored, _) = try resolve(name, shape, prefixed: prefixed)
        return ConstantFloats(try checkpoint.floats(stored))
    }

    func matrix(_ name: String, rows: Int, cols: Int, prefixed: Bool = true) throws -> WeightMatrix {
        // int4 is stored packed (U8 [rows, cols / 2]), so the shape is checked once the dtype is known.
        let (stored, info) = try resolve(name, nil, prefixed: prefixed)
        let storedFormat: WeightFormat?
        switch info.dtype {
        case .f32: storedFormat = .f32
        case .f16: storedFormat = .f16
        case .bf16: storedFormat = .bf16
        case .i8: storedFormat = .int8
        case .u8: storedFormat = .int4
        default: storedFormat = nil
        }
        let expected = storedFormat == .int4 ? [rows, cols / 2] : [rows, cols]
        guard info.shape == expected else {
            throw ModelError.wrongShape(name: stored, expected: expected, found: info.shape, directory: directory)
        }
        let target = format ?? storedFormat ?? .f32
        let group = WeightFormat.int4GroupSize
        if (target == .int4 || storedFormat == .int4) && cols % group != 0 {
            throw ModelError.invalidTensor(
                name: stored, reason: "has \(cols) columns: int4 needs a multiple of \(group) (one scale per \(group) columns)",
                directory: directory)
        }
        var scales: UnsafePointer<Float>?
        var groupScales: UnsafePointer<UInt16>?
        if storedFormat == .int8 {
            let (scaleName, _) = try resolve(stored + Self.scaleSuffix, [rows], prefixed: false)
            guard checkpoint.info(scaleName)?.dtype == .f32, let raw = try checkpoint.mappedBytes(scaleName),
                  Int(bitPattern: raw.baseAddress) % 4 == 0 else {
                throw ModelError.invalidArgument("\(directory): \(scaleName) must be contiguous, aligned F32 per-row scales")
            }
            scales = raw.baseAddress?.assumingMemoryBound(to: Float.self)
        }
        if storedFormat == .int4 {
            if let stated = checkpoint.metadata[Self.groupSizeKey], stated != String(group) {
                throw ModelError.invalidTensor(
                    name: stored, reason: "is int4 in groups of \(stated) columns (metadata \(Self.groupSizeKey)); this build reads groups of \(group)",
                    directory: directory)
            }
            let (scaleName, _) = try resolve(stored + Self.groupScaleSuffix, [rows, cols / group], prefixed: false)
            guard checkpoint.info(scaleName)?.dtype == .f16, let raw = try checkpoint.mappedBytes(scaleName),
                  Int(bitPattern: raw.baseAddress) % 2 == 0 else {
                throw ModelError.invalidTensor(name: scaleName, reason: "must be contiguous, 2-byte-aligned F16 int4 group scales",
                                               directory: directory)
            }
            groupScales = raw.baseAddress?.assumingMemoryBound(to: UInt16.self)
        }
        // In place in the map when no conversion is needed (and f32 is aligned for BLAS).
        if target == storedFormat, let raw = try checkpoint.mappedBytes(stored), let base = raw.baseAddress,
           target != .f32 || Int(bitPattern: base) % 4 == 0 {
            return WeightMatrix(format: target, rows: rows, cols: cols, data: base, scales: scales, groupScales: groupScales,
                                owner: checkpoint)
        }
        defer {
            // The source's pages leave resident memory once converted, so that a checkpoint converted at load
            // peaks near its converted size rather than that plus the file.
            try? checkpoint.releasePages(of: stored)
        }
        if storedFormat == .f32, let raw = try checkpoint.mappedBytes(stored), Int(bitPattern: raw.baseAddress) % 4 == 0 {
            // Converted straight from the map, each block's pages released as it is done: no f32 copy of the
            // tensor on the way, and at most a block of its source resident beside the converted weights.
            return WeightConversion.matrix(raw.bindMemory(to: Float.self), rows: rows, cols: cols, format: target, pool: pool) { done in
                try? checkpoint.releasePages(of: stored, bytes: (done.lowerBound * cols * 4) ..< (done.upperBound * cols * 4))
            }
        }
        let values: [Float]
        if storedFormat == .int8, let scales {
            values = try checkpoint.withRawBytes(stored) { raw in
                let q = raw.bindMemory(to: Int8.self)
                return (0..<(rows * cols)).map { Float(q[$0]) * scales[$0 / cols] }
            }
        } else if storedFormat == .int4, let groupScales {
            values = try checkpoint.withRawBytes(stored) { raw in
                [Float](unsafeUninitializedCapacity: rows * cols) { out, count in
                    if let q = raw.bindMemory(to: UInt8.self).baseAddress, let base = out.baseAddress {
                        ck_rows_to_f32_q4(q, groupScales, base, cols, 0, rows)
                    }
                    count = rows * cols
                }
            }
        } else {
            values = try checkpoint.floats(stored)
        }
        return WeightConversion.matrix(values, rows: rows, cols: cols, format: target, pool: pool)
    }

    func linear(_ name: String, in inFeatures: Int, out outFeatures: Int, bias: Bool) throws -> LinearWeights {
        LinearWeights(
            weight: try matrix(name + ".weight", rows: outFeatures, cols: inFeatures),
            bias: bias ? try floats(name + ".bias", [outFeatures]) : nil)
    }

    func layerNorm(_ name: String, width: Int, affine: Bool) throws -> LayerNormWeights {
        guard affine else { return LayerNormWeights(weight: nil, bias: nil) }
        return LayerNormWeights(weight: try floats(name + ".weight", [width]), bias: try floats(name + ".bias", [width]))
    }
}
