import ArgumentParser
import Foundation
import OPTTrain

/// `optiml nano`: the bundled base model, reproduced from nothing (what `make nano` runs).
struct Nano: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Pre-train the nano OPT base model from scratch on generated text (no instructions) and write it as f16.",
        discussion: """
        Stages, in --work: generate the suite's pre-training text (optiml synth); train a byte-level BPE tokenizer on \
        it (optiml train-tokenizer); initialise the nano shape (4 layers, 192 wide, a few million parameters); \
        pre-train it with the loss on every token (optiml tune --stream); store the last checkpoint's weights as \
        f16 in --out with its tokenizer. The repository's Models/nano is this command's output with the defaults.
        """)

    static let defaultSteps = 2000

    @Option(help: "Folder the model is written to (replaced).") var out = "Models/nano"
    @Option(help: "Folder for the intermediate stages (replaced).") var work = ".build/nano"
    @Option(help: "Pre-training steps (8 sequences of 256 tokens each).") var steps = defaultSteps
    @Option(help: "Seed of the text, the tokenizer's corpus, the weights and training.") var seed: UInt64 = 0

    func run() throws {
        try Self.pretrain(out: out, work: work, steps: steps, seed: seed, log: { FileHandle.standardError.write(Data("\n== \($0)\n".utf8)) })
    }

    /// The stages; `log` announces each one.
    static func pretrain(out: String, work: String, steps: Int, seed: UInt64, log: (String) -> Void) throws {
        let root = URL(fileURLWithPath: work)
        try? FileManager.default.removeItem(at: root)
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        func path(_ name: String) -> String { root.appendingPathComponent(name).path }
        log("pre-training text")
        try Synth.write(out: path("text"), seed: seed, instances: Synth.defaultInstances)
        log("tokenizer")
        try TrainTokenizer.train(corpus: path("text/pretraining.jsonl"), vocabSize: 2048, minFrequency: TrainTokenizer.defaultMinFrequency,
                                 out: path("tokenizer"))
        log("nano model")
        try InitRandom.write(preset: .nano, dtype: .f32, seed: seed, tokenizer: path("tokenizer"), out: path("init"))
        log("pre-training on generated text (\(steps) steps)")
        // The loss on every token, no dropout; the rest as `optiml tune` defaults.
        var mixture = MixtureSettings()
        mixture.seed = seed
        mixture.loss = .full
        mixture.streams = [.init(name: "text", path: path("text/pretraining.jsonl"), share: 1)]
        let settings = TrainerSettings(steps: steps, batchSize: 8, sequenceLength: 256, learningRate: 2e-3, warmupSteps: 50,
                                       dropout: .none, mixture: mixture, seed: seed, saveEvery: steps)
        try Tune.train(model: URL(fileURLWithPath: path("init")), bench: nil, out: URL(fileURLWithPath: path("pretrain")), settings: settings,
                       resume: false, threads: nil, logLevel: .info)
        log("f16 weights")
        try? FileManager.default.removeItem(atPath: out)
        try Quantize.write(model: URL(fileURLWithPath: path("pretrain/" + TrainingCheckpoint.name(step: steps))), format: .f16, threads: nil, out: out)
    }
}
