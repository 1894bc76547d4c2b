import Foundation
import OPTCheckpoint
import OPTTokenizer

/// Random-weight checkpoints in the Hugging Face layout, at real model shapes.
///
/// Speed does not depend on weight values, so these stand in for pretrained weights in benchmarks
/// and demos where nothing can be downloaded. Weights are N(0, 0.02) like OPT's initialisation,
/// layer norms start at 1 and 0, biases at 0.
public enum RandomCheckpoint {
    /// Writes config.json, model.safetensors (in `dtype`) and a tokenizer into `directory`: the files of
    /// `tokenizer` when given (the caller sizes `config.vocabSize` for it), else a byte-level one.
    public static func write(config: OPTConfig, dtype: TensorDType, seed: UInt64, tokenizer: URL? = nil, to directory: URL) throws {
        guard [.f32, .f16, .bf16].contains(dtype) else {
            throw ModelError.invalidArgument("random checkpoints are written as F32, F16 or BF16, not \(dtype.rawValue)")
        }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var rng = SeededGenerator(seed: seed)
        var tensors: [(name: String, dtype: TensorDType, shape: [Int], bytes: [UInt8])] = []
        func add(_ name: String, _ shape: [Int], _ fill: Fill) {
            let count = shape.reduce(1, *)
            let values: [Float]
            switch fill {
            case .normal: values = (0..<count).map { _ in 0.02 * rng.nextGaussian() }
            case .ones: values = Array(repeating: 1, count: count)
            case .zeros: values = Array(repeating: 0, count: count)
            }
            tensors.append(("model.decoder." + name, dtype, shape, FloatEncoding.bytes(values, as: dtype)))
        }
        let c = config, h = c.hiddenSize
        add("embed_tokens.weight", [c.vocabSize, c.wordEmbedProjDim], .normal)
        add("embed_positions.weight", [c.maxPositionEmbeddings + OPTConfig.positionOffset, h], .normal)
        if c.hasProjection {
            add("project_in.weight", [h, c.wordEmbedProjDim], .normal)
            add("project_out.weight", [c.wordEmbedProjDim, h], .normal)
        }
        func norm(_ name: String) {
            guard c.layerNormElementwiseAffine else { return }
            add(name + ".weight", [h], .ones)
            add(name + ".bias", [h], .zeros)
        }
        func linear(_ name: String, _ out: Int, _ input: Int) {
            add(name + ".weight", [out, input], .normal)
            if c.enableBias { add(name + ".bias", [out], .zeros) }
        }
        if c.hasFinalLayerNorm { norm("final_layer_norm") }
        for i in 0..<c.numHiddenLayers {
            let p = "layers.\(i)."
            for projection in ["q_proj", "k_proj", "v_proj", "out_proj"] { linear(p + "self_attn." + projection, h, h) }
            norm(p + "self_attn_layer_norm")
            linear(p + "fc1", c.ffnDim, h)
            linear(p + "fc2", h, c.ffnDim)
            norm(p + "final_layer_norm")
        }
        try SafeTensorsWriter.write(tensors, metadata: ["format": "pt"], to: directory.appendingPathComponent("model.safetensors"))
        var stored = config
        stored.torchDtype = ["F16": "float16", "BF16": "bfloat16"][dtype.rawValue] ?? "float32"
        try stored.write(to: directory.appendingPathComponent("config.json"))
        if let tokenizer {
            try CheckpointExport.copyCompanionFiles(CheckpointExport.companionFiles, from: tokenizer, to: directory)
        } else {
            try TokenizerWriter.write(vocab: TokenizerWriter.byteVocabulary(), merges: [], to: directory)
        }
    }

    private enum Fill { case normal, ones, zeros }
}

extension SeededGenerator {
    /// A standard normal draw (Box–Muller).
    mutating func nextGaussian() -> Float {
        let u1 = max(nextUnitDouble(), .leastNonzeroMagnitude), u2 = nextUnitDouble()
        return Float((-2 * log(u1)).squareRoot() * cos(2 * .pi * u2))
    }
}
