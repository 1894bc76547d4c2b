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
        try Synth.parse(["--out", path("text"), "--seed", "\(seed)"]).run()
        log("tokenizer")
        try TrainTokenizer.parse(["--corpus", path("text/pretraining.jsonl"), "--vocab-size", "2048", "--out", path("tokenizer")]).run()
        log("nano model")
        try InitRandom.parse(["--like", "nano", "--tokenizer", path("tokenizer"), "--seed", "\(seed)", "--out", path("init")]).run()
        log("pre-training on generated text (\(steps) steps)")
        try Tune.parse(["--model", path("init"), "--stream", "text=\(path("text/pretraining.jsonl")):1", "--loss", "full",
                        "--seq-len", "256", "--batch-size", "8", "--steps", "\(steps)", "--lr", "2e-3", "--warmup", "50",
                        "--dropout", "0", "--seed", "\(seed)", "--save-every", "\(steps)", "--out", path("pretrain")]).run()
        log("f16 weights")
        try? FileManager.default.removeItem(atPath: out)
        try Quantize.parse(["--model", path("pretrain/" + TrainingCheckpoint.name(step: steps)), "--dtype", "f16", "--out", out]).run()
    }
}
