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
        // Values are drawn as the writer asks for them, a piece at a time and in file order, so that
        // a model of any size is written without being held in memory.
        var rng = SeededGenerator(seed: seed)
        var values: [Float] = []
        let layout = ParameterLayout(config: config)
        // No lm_head is written: a checkpoint without one ties it at load, whatever the config says.
        let slots = layout.tiedHead ? layout.slots : layout.slots.filter { $0 != layout.lmHead }
        let tensors = slots.map { slot in
            SafeTensorsWriter.Tensor(name: slot.name, dtype: dtype, shape: slot.shape) { piece in
                let count = piece.count / dtype.size
                switch slot.role {
                case .matrix, .positions: values = (0..<count).map { _ in 0.02 * rng.nextGaussian() }
                case .normWeight: values = Array(repeating: 1, count: count)
                case .bias, .normBias: values = Array(repeating: 0, count: count)
                }
                FloatEncoding.encode(values, as: dtype, into: piece)
            }
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
}

extension SeededGenerator {
    /// A standard normal draw (Box–Muller).
    mutating func nextGaussian() -> Float {
        let u1 = max(nextUnitDouble(), .leastNonzeroMagnitude), u2 = nextUnitDouble()
        return Float((-2 * log(u1)).squareRoot() * cos(2 * .pi * u2))
    }
}
