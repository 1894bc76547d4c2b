import ArgumentParser
import Foundation
import Logging
import OPTTrain

/// `optiml tune`: instruction-tunes an OPT checkpoint on a bench's training split.
struct Tune: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tune",
        abstract: "Instruction-tune an OPT checkpoint on a bench's training split with the paper's recipe.",
        discussion: """
        Examples are drawn examples-proportionally with a per-task cap (--task-cap, EPS), optionally with benchmark \
        proportions (--proportions niv2=25,promptsource=45,flan=20 or --proportions paper) and extra JSONL streams \
        (--stream reasoning=cot.jsonl:0.01, --stream pretraining=text.jsonl:0.05; lines {"text": …} or {"src": …, "tgt": …}), \
        formatted in the OPT-IML style, packed into --seq-len rows with document attention masks. Loss on targets only \
        unless --loss full. Checkpoints (Hugging Face layout plus optimizer and trainer state) go to OUT/checkpoint-NNNNNN \
        every --save-every steps and at the end; OUT/metrics.jsonl gets one line per step. --resume continues the run in OUT \
        exactly where its last checkpoint left it. --export DIR instead writes the rows those settings train on, step by \
        step, as safetensors shards with a manifest, for tools/reference_trainer.py (PyTorch FSDP under torchrun).
        """
    )

    @Option(help: "Model directory (Hugging Face layout).") var model: String
    @Option(help: "A bench built by `optiml bench build` (without one, the run trains on its --stream files alone: pre-training).") var bench: String?
    @Option(help: "Output directory for checkpoints and metrics (not with --export).") var out: String?
    @Option(help: "Optimizer steps.") var steps: Int
    @Option(help: "Sequences per optimizer step.") var batchSize = 8
    @Option(help: "Sequences per forward/backward pass (gradients accumulate up to --batch-size).") var microBatchSize: Int?
    @Option(name: .customLong("seq-len"), help: "Tokens per packed sequence.") var seqLen = 2048
    @Option(help: "Peak learning rate.") var lr = 5e-5
    @Option(help: "Linear warmup steps.") var warmup = 60
    @Option(help: "Decay after warmup: linear (to 0), cosine or constant.") var schedule: LearningRateSchedule.Decay = .linear
    @Option(help: "AdamW decoupled weight decay (biases, norms and position embeddings exempt).") var weightDecay = 0.1
    @Option(help: "AdamW β1,β2.") var betas = "0.9,0.95"
    @Option(help: "AdamW epsilon.") var eps = 1e-8
    @Option(help: "Clip gradients to this global norm (0: off).") var clip = 1.0
    @Option(help: "Dropout on embeddings, residual connections and attention probabilities.") var dropout: Float = 0.1
    @Option(help: "Dropout after the FFN activation.") var activationDropout: Float = 0
    @Option(help: "Per-task cap of examples-proportional sampling.") var taskCap = 4096
    @Option(help: "Benchmark shares: NAME=W,… or `paper` (CrossFit/ExMix/FLAN/NIV2/PS/T5/U-SKG = 4/2/20/25/45/2/2).") var proportions: String?
    @Option(help: "Extra stream NAME=FILE.jsonl:SHARE (repeatable).") var stream: [String] = []
    @Option(help: "Demonstrations per prompt: k ~ Zipf(--zipf) over 0…K (MetaICL); 0 turns them off.") var maxShots = 0
    @Option(help: "Zipf exponent for the number of demonstrations.") var zipf = 1.0
    @Option(help: "Loss on demonstrations' answers too (standard) or the query's only (suffix).")
    var demonstrationLoss: MixtureSettings.DemonstrationLoss = .suffix
    @Option(help: "label (targets only, the paper's) or full.") var loss: MixtureSettings.Loss = .label
    @Option(help: "Seed of the mixture and dropout.") var seed: UInt64 = 0
    @Option(help: "Checkpoint every N steps.") var saveEvery = 500
    @Option(help: "Validation loss every N steps (0: never).") var evalEvery = 0
    @Option(help: "Validation instances for --eval-every.") var evalExamples = 64
    @OptionGroup var threadOptions: ThreadOptions
    var threads: Int? { threadOptions.threads }
    @Flag(help: "Matrix products with inputs rounded to bfloat16 (f32 sums) through oneDNN: several times faster where the processor has bf16 units.")
    var bf16 = false
    @Flag(help: "Continue the run in --out from its last checkpoint.") var resume = false
    @Option(help: "The least severe log lines written to stderr: the run's start, resuming and each checkpoint at info, a line per step at debug (the progress bar shows whatever the level).")
    var logLevel: Logger.Level = .info
    @Option(help: "Instead of training, write the rows each step would train on to this folder (safetensors shards and manifest.json, for tools/reference_trainer.py); a folder holding part of the same export is continued.")
    var export: String?
    @Option(help: "With --export: begin after this many steps (the rows before are packed, not written).") var exportFrom: Int?
    @Option(help: "With --export: steps per shard (default: about 128 MB of rows).") var exportShardSteps: Int?

    func validate() throws {
        guard (out == nil) != (export == nil) else { throw ValidationError("give --out DIR to train, or --export DIR to write the training stream") }
        guard export != nil || (exportFrom == nil && exportShardSteps == nil) else { throw ValidationError("--export-from and --export-shard-steps go with --export") }
        guard export == nil || !resume else { throw ValidationError("--resume is for training; an export continues by itself") }
    }

    func run() throws {
        do {
            let settings = try makeSettings()
            if let export { return try exportStream(settings, to: URL(fileURLWithPath: export)) }
            guard let out else { return }
            try Self.train(model: URL(fileURLWithPath: model), bench: bench.map { URL(fileURLWithPath: $0) }, out: URL(fileURLWithPath: out),
                           settings: settings, resume: resume, threads: threads, logLevel: logLevel)
        } catch { throw CLIError(error) }
    }

    /// Trains through `Trainer` with a progress bar on stderr and log lines from `logLevel` up, then prints
    /// where the last checkpoint went: what `optiml tune` prints, and the demo's tuning stage.
    static func train(model: URL, bench: URL?, out: URL, settings: TrainerSettings, resume: Bool, threads: Int?, logLevel: Logger.Level) throws {
        let steps = settings.steps
        let progressLine = ProgressLine()
        let logger = ProgressAwareLogHandler.logger(label: "optiml.tune", level: logLevel, progress: progressLine)
        let trainer = try Trainer(model: model, bench: bench, out: out, settings: settings, resume: resume, threads: threads, logger: logger)
        logger.info("\(trainer.mixtureSummary); \(trainer.parameters.layout.count) parameters; starting at step \(trainer.step) of \(steps)")
        let started = Date(), first = trainer.step
        try trainer.run { record in
            let elapsed = Date().timeIntervalSince(started), done = record.step - first
            let eta = done > 0 ? elapsed / Double(done) * Double(steps - record.step) : 0
            let validation = record.validationLoss.map { String(format: "  val %.4f", $0) } ?? ""
            let filled = 30 * record.step / max(steps, 1)
            let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: 30 - filled)
            progressLine.draw("[\(bar)] " + String(format: "step %d/%d  loss %.4f  lr %.2e  %.0f tok/s  ETA %.0fs", record.step, steps, record.loss,
                                                   record.learningRate, record.tokensPerSecond, eta) + validation)
            // A step with a validation loss keeps its line.
            if record.validationLoss != nil { progressLine.end() }
        }
        progressLine.end()
        print("trained \(trainer.step) steps; last checkpoint \(trainer.lastCheckpoint?.path ?? "-")")
    }

    private func exportStream(_ settings: TrainerSettings, to folder: URL) throws {
        let started = Date()
        var resumedAt: Int?
        let manifestURL = folder.appendingPathComponent(StreamExport.manifestFile)
        if FileManager.default.fileExists(atPath: manifestURL.path) {
            FileHandle.standardError.write(Data("export: continuing after step \(try StreamExport.readManifest(manifestURL).stepsDone)\n".utf8))
        }
        let manifest = try StreamExport.run(model: URL(fileURLWithPath: model), bench: bench.map { URL(fileURLWithPath: $0) }, settings: settings,
                                            to: folder, fromStep: exportFrom, shardSteps: exportShardSteps) { manifest in
            let shard = manifest.shards[manifest.shards.count - 1]
            if resumedAt == nil { resumedAt = shard.firstStep - 1 }
            let elapsed = max(Date().timeIntervalSince(started), 1e-9)
            let rows = (manifest.stepsDone - (resumedAt ?? 0)) * settings.batchSize
            let bytes = manifest.shards.filter { $0.firstStep > (resumedAt ?? 0) }.map(\.bytes).reduce(0, +)
            FileHandle.standardError.write(Data(String(format: "\rexport: step %d/%d  %.0f rows/s  %.1f MB/s", manifest.stepsDone, steps,
                                                       Double(rows) / elapsed, Double(bytes) / elapsed / 1e6).utf8))
        }
        let elapsed = Date().timeIntervalSince(started)
        FileHandle.standardError.write(Data("\n".utf8))
        let shares = manifest.mixture.shares.sorted { $0.key < $1.key }.map { "\($0.key) " + String(format: "%.3f", $0.value) }.joined(separator: ", ")
        print("exported steps \(manifest.firstStep)…\(manifest.stepsDone) (\(manifest.shards.count) shards, \(manifest.mixture.examples) examples: \(shares)) to \(folder.path) in \(String(format: "%.1f", elapsed)) s")
    }

    func makeSettings() throws -> TrainerSettings {
        let betaValues = betas.split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard betaValues.count == 2, betaValues.allSatisfy({ (0..<1).contains($0) }) else {
            throw TrainingError.invalidOption("--betas must be two numbers in [0, 1), like 0.9,0.95; got \(betas)")
        }
        var mixture = MixtureSettings()
        mixture.taskCap = taskCap
        mixture.maxShots = maxShots
        mixture.zipfExponent = zipf
        mixture.seed = seed
        mixture.loss = loss
        mixture.demonstrationLoss = demonstrationLoss
        if let proportions { mixture.proportions = try Self.parseProportions(proportions) }
        mixture.streams = try stream.map(Self.parseStream)
        guard taskCap > 0, maxShots >= 0 else { throw TrainingError.invalidOption("--task-cap must be positive and --max-shots not negative") }
        return TrainerSettings(
            steps: steps, batchSize: batchSize, microBatchSize: microBatchSize, sequenceLength: seqLen, learningRate: lr,
            warmupSteps: warmup, decay: schedule, adam: .init(beta1: betaValues[0], beta2: betaValues[1], epsilon: eps, weightDecay: weightDecay),
            clipNorm: clip, dropout: DropoutRates(embedding: dropout, residual: dropout, attention: dropout, activation: activationDropout),
            mixture: mixture, seed: seed, saveEvery: saveEvery, evalEvery: evalEvery, evalExamples: evalExamples,
            precision: bf16 ? .bf16 : .f32)
    }

    static func parseProportions(_ text: String) throws -> [String: Double] {
        if text == "paper" { return MixtureSettings.paperProportions }
        var result: [String: Double] = [:]
        for item in text.split(separator: ",") {
            let parts = item.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, let weight = Double(parts[1]), weight >= 0 else {
                throw TrainingError.invalidOption("--proportions must be NAME=WEIGHT,… (e.g. niv2=25,flan=20); bad item \"\(item)\"")
            }
            result[String(parts[0])] = weight
        }
        return result
    }

    static func parseStream(_ text: String) throws -> MixtureSettings.Stream {
        let nameSplit = text.split(separator: "=", maxSplits: 1)
        guard nameSplit.count == 2, let colon = nameSplit[1].lastIndex(of: ":"),
              let share = Double(nameSplit[1][nameSplit[1].index(after: colon)...]) else {
            throw TrainingError.invalidOption("--stream must be NAME=FILE.jsonl:SHARE (e.g. reasoning=cot.jsonl:0.01), got \"\(text)\"")
        }
        return .init(name: String(nameSplit[0]), path: String(nameSplit[1][..<colon]), share: share)
    }
}

extension LearningRateSchedule.Decay: ExpressibleByArgument {}
extension MixtureSettings.Loss: ExpressibleByArgument {}
extension MixtureSettings.DemonstrationLoss: ExpressibleByArgument {}
