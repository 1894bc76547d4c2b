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
        do {
            var config = preset.config
            let tokenizerFolder = tokenizer.map { URL(fileURLWithPath: $0, isDirectory: true) }
            if let tokenizerFolder {
                // Room for every id, padded to a multiple of 8 as OPT pads 50265 to 50272.
                let size = try BPETokenizer.load(directory: tokenizerFolder).vocabularySize
                config.vocabSize = (size + 7) / 8 * 8
            }
            try RandomCheckpoint.write(config: config, dtype: stored, seed: seed, tokenizer: tokenizerFolder,
                                       to: URL(fileURLWithPath: out, isDirectory: true))
        } catch { throw CLIError(error) }
        print("wrote \(like) with random \(dtype) weights to \(out)")
    }
}
