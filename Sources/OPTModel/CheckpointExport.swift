import Foundation
import OPTCheckpoint
import OPTKernels

/// Writes a loaded model back out in the Hugging Face layout, its matrices in their current format.
///
/// F32, F16 and BF16 checkpoints load in transformers unchanged. Int8 checkpoints are this
/// project's own: each quantized matrix `X.weight` is stored as I8 `[out, in]` beside F32 per-row
/// scales `X.weight_scale` `[out]` (weight ≈ scale[row] · int8), and config.json carries
/// `"quantization_config": {"quant_method": "optiml_int8", …}` so that other loaders refuse it clearly.
/// Int4 checkpoints store each matrix packed as U8 `[out, in / 2]` (two values a byte, `ck_matmul_q4`'s
/// layout) beside F16 scales `X.weight_group_scale` `[out, in / 32]`; the safetensors metadata records
/// `optiml_weight_format: int4` and `optiml_int4_group_size: 32`, config.json `quant_method: optiml_int4`.
public enum CheckpointExport {
    /// Tokenizer and generation files copied from the source directory when present.
    public static let companionFiles = [
        "tokenizer.json", "vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json",
        "added_tokens.json", "generation_config.json",
    ]

    /// Writes config.json, model.safetensors and the companion files of `source` into `directory`.
    public static func write(_ model: OPTModel, companionsFrom source: URL, to directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        // Straight from the model's buffers: no copy of a matrix is made to save it.
        var tensors: [SafeTensorsWriter.Tensor] = []
        var formats = Set<WeightFormat>()
        for (slot, matrix) in model.weights.namedMatrices {
            formats.insert(matrix.format)
            let dtype: TensorDType = switch matrix.format {
            case .f32: .f32
            case .f16: .f16
            case .bf16: .bf16
            case .int8: .i8
            case .int4: .u8
            }
            let shape = matrix.format == .int4 ? [matrix.rows, matrix.cols / 2] : [matrix.rows, matrix.cols]
            tensors.append(.init(name: slot.name, dtype: dtype, shape: shape, pointer: matrix.data))
            if let scales = matrix.scales {
                tensors.append(.init(name: slot.name + "_scale", dtype: .f32, shape: [matrix.rows], pointer: scales))
            }
            if let groupScales = matrix.groupScales {
                tensors.append(.init(name: slot.name + "_group_scale", dtype: .f16,
                                     shape: [matrix.rows, matrix.cols / WeightFormat.int4GroupSize], pointer: groupScales))
            }
        }
        for (slot, values) in model.weights.namedFloatTensors {
            tensors.append(.init(name: slot.name, dtype: .f32, shape: slot.shape, pointer: values.pointer))
        }
        var metadata = ["format": "pt"]
        if formats.contains(.int4) {
            metadata["optiml_weight_format"] = "int4"
            metadata["optiml_int4_group_size"] = String(WeightFormat.int4GroupSize)
        }
        try SafeTensorsWriter.write(tensors, metadata: metadata, to: directory.appendingPathComponent("model.safetensors"))

        var config = model.config
        let format = formats.count == 1 ? formats.first : nil
        config.torchDtype = [WeightFormat.f16: "float16", .bf16: "bfloat16"][format ?? .f32] ?? "float32"
        let quantized = formats.contains(.int4) ? WeightFormat.int4 : formats.contains(.int8) ? .int8 : nil
        try config.write(to: directory.appendingPathComponent("config.json"), quantized: quantized)
        try copyCompanionFiles(companionFiles, from: source, to: directory)
    }

    /// Copies those of `names` that exist in `source` into `directory`, replacing what is there.
    public static func copyCompanionFiles(_ names: [String], from source: URL, to directory: URL) throws {
        for name in names {
            let from = source.appendingPathComponent(name), to = directory.appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: from.path), from.standardizedFileURL != to.standardizedFileURL else { continue }
            try? FileManager.default.removeItem(at: to)
            try FileManager.default.copyItem(at: from, to: to)
        }
    }
}
