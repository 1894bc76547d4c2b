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

    @Option(help: "The shape to copy.") var like: OPTConfig.Preset
    @Option(help: "Output directory.") var out: String
    @Option(help: "Stored dtype.") var dtype: StoredDType = .f32
    @Option(help: "Seed of the weights.") var seed: UInt64 = 0
    @Option(help: "A tokenizer folder (e.g. from optiml train-tokenizer) to ship instead of the byte-level one; the vocabulary is sized for it.")
    var tokenizer: String?

    /// The float types a random checkpoint is stored in.
    enum StoredDType: String, CaseIterable, ExpressibleByArgument {
        case f32, f16, bf16
        var tensorDType: TensorDType {
            switch self {
            case .f32: .f32
            case .f16: .f16
            case .bf16: .bf16
            }
        }
    }

    func run() throws {
        try Self.write(preset: like, dtype: dtype.tensorDType, seed: seed, tokenizer: tokenizer, out: out)
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

extension OPTConfig.Preset: ExpressibleByArgument {}
