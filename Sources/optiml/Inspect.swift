import ArgumentParser
import Foundation
import OPTCheckpoint
import OPTKernels
import OPTModel
import OPTTokenizer

/// `optiml inspect`: what a checkpoint directory holds.
struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Describe a checkpoint: architecture, parameters, dtypes, tokenizer.")

    @OptionGroup var modelOptions: ModelOptions

    func run() throws {
        let directory = modelOptions.directory
        do {
            let config = try OPTConfig.load(from: directory.appendingPathComponent("config.json"))
            let checkpoint = try Checkpoint(directory: directory)
            let model = try OPTModel(config: config, weights: OPTWeights(checkpoint: checkpoint, config: config, directory: directory.path))
            let tokenizer = try BPETokenizer.load(directory: directory)
            var dtypes = [String: Int]()
            for name in checkpoint.tensorNames { if let info = checkpoint.info(name) { dtypes[info.dtype.rawValue, default: 0] += 1 } }
            let layout = config.doLayerNormBefore ? "pre-LayerNorm" : "post-LayerNorm"
            print("""
            architecture      OPT decoder, \(layout)\(config.hasProjection ? ", project_in/out \(config.wordEmbedProjDim)↔\(config.hiddenSize)" : "")
            layers            \(config.numHiddenLayers)
            hidden size       \(config.hiddenSize) (\(config.numAttentionHeads) heads of \(config.headDim))
            ffn size          \(config.ffnDim), \(config.activationFunction)
            positions         \(config.maxPositionEmbeddings)
            vocabulary        \(config.vocabSize) (tokenizer: \(tokenizer.vocabularySize))
            final layer norm  \(config.hasFinalLayerNorm ? "yes" : "no")
            biases            \(config.enableBias ? "yes" : "no")
            lm_head           \(model.weights.tiedHead ? "tied to embed_tokens" : "separate")
            parameters        \(model.parameterCount)
            stored dtypes     \(dtypes.sorted { $0.key < $1.key }.map { "\($0.key) × \($0.value)" }.joined(separator: ", "))
            special tokens    bos \(tokenizer.bosTokenID.map(String.init) ?? "-")  eos \(tokenizer.eosTokenID.map(String.init) ?? "-")  pad \(tokenizer.padTokenID.map(String.init) ?? "-")  unk \(tokenizer.unkTokenID.map(String.init) ?? "-")
            \(KernelPath.report)
            """)
        } catch { throw CLIError(error) }
    }
}
