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
    /// Its linears in checkpoint order, as `ParameterLayout.Layer.linears`.
    public var linears: [LinearWeights] { [qProj, kProj, vProj, outProj, fc1, fc2] }
}

/// Every parameter of an `OPTForCausalLM`, read as its `ParameterLayout` describes.
///
/// Matrices (projections, FFN, token embeddings and lm_head) are kept in the chosen
/// `WeightFormat` (the token embedding, lm_head and first layer in its `sensitiveMatrixFormat`); position
/// embeddings, biases and layer norms stay Float32 (they are small).
public struct OPTWeights: Sendable {
    /// The tensors' names and shapes.
    public let layout: ParameterLayout
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
    ///
    /// `headFormat` sets the lm_head's format apart from the token embedding's (as llama.cpp's
    /// `--output-tensor-type`): int4's head in int4 runs the every-position logits of prefill and scoring on the
    /// int4 kernels, for some accuracy. A head tied to the embedding is then held twice, the layout untied
    /// (`lm_head.weight` its own tensor), so that it saves and reloads as it runs.
    ///
    /// `calibration` rounds the matrices converted to int4 by GPTQ over the inputs it saw (`CalibrationStatistics`).
    public init(checkpoint: Checkpoint, config: OPTConfig, directory: String, format: WeightFormat? = nil,
                headFormat: WeightFormat? = nil, threads: Int? = nil, calibration: CalibrationStatistics? = nil) throws {
        let pool = ComputePool(threads: threads)
        let reader = TensorReader(checkpoint: checkpoint, directory: directory, format: format, pool: pool, calibration: calibration)
        let sensitive = TensorReader(checkpoint: checkpoint, directory: directory, format: format?.sensitiveMatrixFormat, pool: pool,
                                     calibration: calibration)
        let head = headFormat.map {
            TensorReader(checkpoint: checkpoint, directory: directory, format: $0, pool: pool, calibration: calibration)
        } ?? sensitive
        let fileLayout = ParameterLayout(config: config)
        embedTokens = try sensitive.matrix(fileLayout.embedTokens)
        let heldApart = fileLayout.tiedHead && headFormat != nil && headFormat != embedTokens.format
        var untied = config
        untied.tieWordEmbeddings = false
        let layout = heldApart ? ParameterLayout(config: untied) : fileLayout
        self.layout = layout
        embedPositions = try reader.floats(layout.embedPositions)
        projectIn = try layout.projectIn.map(reader.linear)
        projectOut = try layout.projectOut.map(reader.linear)
        finalLayerNorm = try layout.finalNorm.map(reader.layerNorm)
        layers = try layout.layers.enumerated().map { index, l in
            let reader = index == 0 ? sensitive : reader
            return OPTLayerWeights(
                qProj: try reader.linear(l.q), kProj: try reader.linear(l.k), vProj: try reader.linear(l.v),
                outProj: try reader.linear(l.out), selfAttnLayerNorm: try reader.layerNorm(l.attentionNorm),
                fc1: try reader.linear(l.fc1), fc2: try reader.linear(l.fc2), finalLayerNorm: try reader.layerNorm(l.finalNorm))
        }
        // transformers ties the head whenever tie_word_embeddings is set, whatever the file holds.
        if heldApart {
            lmHead = try head.matrix(fileLayout.embedTokens)
            tiedHead = false
        } else if !layout.tiedHead, reader.contains(layout.lmHead.name) {
            lmHead = try head.matrix(layout.lmHead)
            tiedHead = false
        } else {
            lmHead = embedTokens
            tiedHead = true
        }
    }

    /// Every matrix of the model with its slot (for quantizing and saving), in layout order.
    public var namedMatrices: [(slot: ParameterLayout.Slot, matrix: WeightMatrix)] {
        var all = [(layout.embedTokens, embedTokens)]
        for (slot, linear) in [(layout.projectIn, projectIn), (layout.projectOut, projectOut)] {
            if let slot, let linear { all.append((slot.weight, linear.weight)) }
        }
        for (l, w) in zip(layout.layers, layers) {
            all += zip(l.linears, w.linears).map { ($0.weight, $1.weight) }
        }
        if !tiedHead { all.append((layout.lmHead, lmHead)) }
        return all
    }

    /// Bytes the weights hold in memory in their format (a tied lm_head counted once).
    public var residentBytes: Int {
        namedMatrices.map(\.matrix.residentBytes).reduce(0, +)
            + namedFloatTensors.map(\.values.count).reduce(0, +) * MemoryLayout<Float>.stride
    }

    /// Every Float32 vector and table of the model (position embeddings, biases, layer norms) with its slot.
    ///
    /// Within a layer the linears' biases come before the norms: the order exports have always had.
    public var namedFloatTensors: [(slot: ParameterLayout.Slot, values: ConstantFloats)] {
        var all = [(layout.embedPositions, embedPositions)]
        func norm(_ slots: ParameterLayout.Norm?, _ n: LayerNormWeights?) {
            for (slot, values) in [(slots?.weight, n?.weight), (slots?.bias, n?.bias)] {
                if let slot, let values { all.append((slot, values)) }
            }
        }
        norm(layout.finalNorm, finalLayerNorm)
        for (l, w) in zip(layout.layers, layers) {
            for (slot, linear) in zip(l.linears, w.linears) {
                if let bias = slot.bias, let values = linear.bias { all.append((bias, values)) }
            }
            norm(l.attentionNorm, w.selfAttnLayerNorm)
            norm(l.finalNorm, w.finalLayerNorm)
        }
        return all
    }
}

/// Looks tensors up by their OPTModel name, with or without `model.`, checks shapes, converts formats.
private struct TensorReader {
    let checkpoint: Checkpoint
    let directory: String
    let format: WeightFormat?
    /// The threads conversions at load run on.
    let pool: ComputePool
    /// Inputs by which matrices converted to int4 are rounded (GPTQ); nil: each weight to its nearest level.
    let calibration: CalibrationStatistics?

    /// Suffix of the per-row scales stored beside an int8 matrix (`<name>_scale`).
    static let scaleSuffix = "_scale"
    /// Suffix of the per-group f16 scales stored beside an int4 matrix (`<name>_group_scale`).
    static let groupScaleSuffix = "_group_scale"
    /// safetensors metadata key recording the int4 group size (columns per scale).
    static let groupSizeKey = "optiml_int4_group_size"

    func contains(_ name: String) -> Bool { checkpoint.info(name) != nil }

    /// The stored name and info of `name`; `shape` nil leaves the shape to the caller. With `prefixed`, a
    /// `model.` name is also found without that prefix (and reported missing without it).
    func resolve(_ name: String, _ shape: [Int]?, prefixed: Bool) throws -> (String, TensorInfo) {
        let candidates = prefixed && name.hasPrefix("model.") ? [name, String(name.dropFirst("model.".count))] : [name]
        guard let stored = candidates.first(where: { checkpoint.info($0) != nil }), let info = checkpoint.info(stored) else {
            throw ModelError.missingTensor(name: candidates[candidates.count - 1], directory: directory)
        }
        if let shape, info.shape != shape {
            throw ModelError.wrongShape(name: stored, expected: shape, found: info.shape, directory: directory)
        }
        return (stored, info)
    }

    func floats(_ slot: ParameterLayout.Slot) throws -> ConstantFloats {
        let (stored, _) = try resolve(slot.name, slot.shape, prefixed: true)
        return ConstantFloats(try checkpoint.floats(stored))
    }

    func matrix(_ slot: ParameterLayout.Slot) throws -> WeightMatrix {
        let rows = slot.shape[0], cols = slot.shape[1]
        // int4 is stored packed (U8 [rows, cols / 2]), so the shape is checked once the dtype is known.
        let (stored, info) = try resolve(slot.name, nil, prefixed: true)
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
            let values = raw.bindMemory(to: Float.self)
            if let row = values.firstIndex(where: { !$0.isFinite }) {
                throw ModelError.invalidTensor(name: scaleName, reason: "holds a scale that is not finite (\(values[row]) for row \(row))",
                                               directory: directory)
            }
            scales = values.baseAddress
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
            // An f16 whose exponent bits are all set is infinite or NaN.
            let bits = raw.bindMemory(to: UInt16.self)
            if let index = bits.firstIndex(where: { $0 & 0x7C00 == 0x7C00 }) {
                throw ModelError.invalidTensor(
                    name: scaleName, reason: "holds a scale that is not finite (row \(index / (cols / group)), group \(index % (cols / group)))",
                    directory: directory)
            }
            groupScales = bits.baseAddress
        }
        // In place in the map when no conversion is needed (and f32 is aligned for BLAS).
        if target == storedFormat, let raw = try checkpoint.mappedBytes(stored), let base = raw.baseAddress,
           target != .f32 || Int(bitPattern: base) % 4 == 0 {
            return WeightMatrix(format: target, rows: rows, cols: cols, data: base, scales: scales, groupScales: groupScales,
                                owner: checkpoint)
        }
        let gptqFactor = target == .int4 && storedFormat != .int4 ? try calibration?.inverseFactor(of: slot.name, pool: pool) : nil
        defer {
            // The source's pages leave resident memory once converted, so that a checkpoint converted at load
            // peaks near its converted size rather than that plus the file.
            try? checkpoint.releasePages(of: stored)
        }
        if storedFormat == .f32, let raw = try checkpoint.mappedBytes(stored), Int(bitPattern: raw.baseAddress) % 4 == 0 {
            // Converted straight from the map, each block's pages released as it is done: no f32 copy of the
            // tensor on the way, and at most a block of its source resident beside the converted weights.
            return WeightConversion.matrix(raw.bindMemory(to: Float.self), rows: rows, cols: cols, format: target, pool: pool,
                                           gptqFactor: gptqFactor) { done in
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
        return WeightConversion.matrix(values, rows: rows, cols: cols, format: target, pool: pool, gptqFactor: gptqFactor)
    }

    func linear(_ slots: ParameterLayout.Linear) throws -> LinearWeights {
        LinearWeights(weight: try matrix(slots.weight), bias: try slots.bias.map(floats))
    }

    func layerNorm(_ slots: ParameterLayout.Norm) throws -> LayerNormWeights {
        LayerNormWeights(weight: try slots.weight.map(floats), bias: try slots.bias.map(floats))
    }
}
