import ArgumentParser
import Foundation
import OPTCheckpoint
import OPTModel
import OPTTokenizer

/// `optiml init-random`: a random-weight checkpoint at a real OPT shape.
struct InitRandom: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init-random",
        abstract: "Write a random-weight OPT checkpoint at a published shape (Hugging Face layout) for benchmarks.")

    @Option(help: "The shape to copy: \(OPTConfig.Preset.allCases.map(\.rawValue).joined(separator: ", ")).")
    var like: String
    @Option(help: "Output directory.") var out: String
    @Option(help: "Stored dtype: f32, f16 or bf16.") var dtype = "f32"
    @Option(help: "Seed of the weights.") var seed: UInt64 = 0
    @Option(help: "A tokenizer folder (e.g. from optiml train-tokenizer) to ship instead of the byte-level one; the vocabulary is sized for it.")
    var tokenizer: String?

    func validate() throws {
        guard OPTConfig.Preset(rawValue: like) != nil else {
            throw ValidationError("--like \(like): expected one of \(OPTConfig.Preset.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard ["f32", "f16", "bf16"].contains(dtype) else { throw ValidationError("--dtype \(dtype): expected f32, f16 or bf16") }
    }

    func run() throws {
        guard let preset = OPTConfig.Preset(rawValue: like), let stored = TensorDType(rawValue: dtype.uppercased()) else { return }
        try Self.write(preset: preset, dtype: stored, seed: seed, tokenizer: tokenizer, out: out)
    }

    /// Writes a checkpoint of `preset`'s shape with random weights stored as `dtype` into `out` (with the
    /// tokenizer of folder `tokenizer`, its vocabulary sized for it, when given) and prints it (`optiml nano`'s
    /// initialisation too).
    static func write(preset: OPTConfig.Preset, dtype: TensorDType, seed: UInt64, tokenizer: String?, out: String) throws {
        do {
            var config = preset.config
            let tokenizerFolder = tokenizer.map { URL(fileURLWithPath: $0, isDirectory: true) }
            if let tokenizerFolder {
                // Room for every id, padded to a multiple of 8 as OPT pads 50265 to 50272.
                let size = try BPETokenizer.load(directory: tokenizerFolder).vocabularySize
                config.vocabSize = (size + 7) / 8 * 8
            }
            try RandomCheckpoint.write(config: config, dtype: dtype, seed: seed, tokenizer: tokenizerFolder,
                                       to: URL(fileURLWithPath: out, isDirectory: true))
        } catch { throw CLIError(error) }
        print("wrote \(preset.rawValue) with random \(dtype.rawValue.lowercased()) weights to \(out)")
    }
}
