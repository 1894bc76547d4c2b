import Foundation
import Logging
import OPTSupport
import OPTBench
import OPTKernels
import OPTModel
import OPTTokenizer

/// Everything that decides a fine-tuning run's numbers (and how often it saves and evaluates).
public struct TrainerSettings: Codable, Sendable, Equatable {
    public var steps: Int
    /// Sequences (rows of `sequenceLength` tokens) per optimizer step.
    public var batchSize: Int
    /// Rows per forward/backward pass; `batchSize / microBatchSize` passes accumulate into one step.
    public var microBatchSize: Int
    public var sequenceLength: Int
    public var schedule: LearningRateSchedule
    public var adam: AdamW.Settings
    public var clipNorm: Double
    public var dropout: DropoutRates
    public var mixture: MixtureSettings
    /// Seeds dropout (the mixture has its own seed).
    public var seed: UInt64
    public var saveEvery: Int
    /// Validation loss every this many steps (0: never), over this many validation instances.
    public var evalEvery: Int
    public var evalExamples: Int
    /// A loss above this multiple of its running average (after 10 steps) counts as diverged.
    public var divergenceFactor: Double
    /// The element type of the matrix products' inputs; nil is f32, and leaves the settings' hash (and so
    /// resuming) as it was for runs from before bf16.
    public var matmulPrecision: MatmulPrecision?

    public init(steps: Int, batchSize: Int = 8, microBatchSize: Int? = nil, sequenceLength: Int = 2048, learningRate: Double = 5e-5,
                warmupSteps: Int = 60, decay: LearningRateSchedule.Decay = .linear, adam: AdamW.Settings = .init(),
                clipNorm: Double = 1.0, dropout: DropoutRates = .paper, mixture: MixtureSettings = .init(), seed: UInt64 = 0,
                saveEvery: Int = 500, evalEvery: Int = 0, evalExamples: Int = 64, divergenceFactor: Double = 4,
                precision: MatmulPrecision = .f32) {
        self.steps = steps
        self.batchSize = batchSize
        self.microBatchSize = microBatchSize ?? batchSize
        self.sequenceLength = sequenceLength
        schedule = LearningRateSchedule(peak: learningRate, warmupSteps: warmupSteps, totalSteps: steps, decay: decay)
        self.adam = adam
        self.clipNorm = clipNorm
        self.dropout = dropout
        self.mixture = mixture
        self.seed = seed
        self.saveEvery = saveEvery
        self.evalEvery = evalEvery
        self.evalExamples = evalExamples
        self.divergenceFactor = divergenceFactor
        matmulPrecision = precision == .f32 ? nil : precision
    }

    /// A hash of what decides the numbers (not how often the run saves or evaluates). The thread count
    /// is not among them: every sum of a step is cut by its size alone (`ComputePool.forEachBlock`).
    var numericHash: String {
        var copy = self
        copy.saveEvery = 0
        copy.evalEvery = 0
        copy.evalExamples = 0
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return ContentHash.sha256((try? encoder.encode(copy)) ?? Data())
    }
}

/// One optimizer step's figures, as written to metrics.jsonl.
public struct StepRecord: Codable, Sendable, Equatable {
    public var step: Int
    public var loss: Double
    public var learningRate: Double
    public var gradientNorm: Double
    /// Non-padding tokens in the step's batch, and labelled ones.
    public var tokens: Int
    public var labels: Int
    public var tokensPerSecond: Double
    public var validationLoss: Double?

    enum CodingKeys: String, CodingKey {
        case step, loss, tokens, labels
        case learningRate = "lr"
        case gradientNorm = "grad_norm"
        case tokensPerSecond = "tokens_per_s"
        case validationLoss = "val_loss"
    }

    /// The record as a step line's metadata, under the keys of metrics.jsonl.
    var logMetadata: Logger.Metadata {
        var metadata: Logger.Metadata = [
            CodingKeys.loss.rawValue: "\(loss)", CodingKeys.learningRate.rawValue: "\(learningRate)",
            CodingKeys.gradientNorm.rawValue: "\(gradientNorm)", CodingKeys.tokens.rawValue: "\(tokens)",
            CodingKeys.labels.rawValue: "\(labels)", CodingKeys.tokensPerSecond.rawValue: "\(tokensPerSecond)",
        ]
        if let validationLoss { metadata[CodingKeys.validationLoss.rawValue] = "\(validationLoss)" }
        return metadata
    }
}

/// Fine-tunes an OPT checkpoint on a bench's training split with the paper's recipe.
public final class Trainer {
    public let settings: TrainerSettings
    public let model: URL
    public let out: URL
    public let parameters: ParameterVector
    public let graph: TrainingGraph
    let optimizer: AdamW
    let gradients: ParameterVector
    let stream: TrainingStream
    let validation: [PackedBatch]
    /// Steps done (restored on resume).
    public private(set) var step = 0
    public private(set) var lastCheckpoint: URL?
    private var averageLoss: Double?
    /// Where the run says what it does: resuming and each checkpoint at info, each step at debug.
    let logger: Logger

    /// Prepares a run: loads the model (or, with `resume`, the newest checkpoint under `out`), the mixture and the validation set.
    /// Without a bench the run trains on the streams alone (pre-training on text).
    public init(model: URL, bench: URL?, out: URL, settings: TrainerSettings, resume: Bool, threads: Int? = nil,
                logger: Logger = Logger(label: "optiml.tune")) throws {
        let s = settings
        self.logger = logger
        guard s.steps > 0, s.batchSize > 0, s.microBatchSize > 0, s.batchSize % s.microBatchSize == 0 else {
            throw TrainingError.invalidOption("--steps and --batch-size must be positive and --batch-size a multiple of --micro-batch-size")
        }
        guard s.saveEvery > 0, s.evalEvery >= 0, s.schedule.peak > 0, s.clipNorm >= 0 else {
            throw TrainingError.invalidOption("--save-every and --lr must be positive, --eval-every and --clip not negative")
        }
        for rate in [s.dropout.embedding, s.dropout.residual, s.dropout.attention, s.dropout.activation] where !(0..<1).contains(rate) {
            throw TrainingError.invalidOption("dropout rates must be in [0, 1), got \(rate)")
        }
        self.settings = s
        self.model = model
        self.out = out
        let loaded = try ParameterVector(directory: model)
        let config = loaded.layout.config
        guard s.sequenceLength >= 2, s.sequenceLength <= config.maxPositionEmbeddings else {
            throw TrainingError.invalidOption("--seq-len \(s.sequenceLength) is beyond the model's \(config.maxPositionEmbeddings) positions (max_position_embeddings in \(model.appendingPathComponent("config.json").path))")
        }
        parameters = loaded
        gradients = ParameterVector(layout: loaded.layout)
        let precision = s.matmulPrecision ?? .f32
        graph = TrainingGraph(layout: loaded.layout, threads: threads, precision: precision)
        guard graph.precision == precision else {
            throw TrainingError.invalidOption("\(precision.rawValue) products need oneDNN (libdnnl.so.2), which is not installed or was turned off with OPTIML_ONEDNN=0")
        }
        optimizer = AdamW(layout: loaded.layout, settings: s.adam, pool: graph.pool)
        var position = 0
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        if let checkpoint = TrainingCheckpoint.latest(in: out) {
            guard resume else {
                throw TrainingError.invalidOption("\(out.path) already holds a run (\(checkpoint.lastPathComponent)); pass --resume to continue it or choose another --out")
            }
            let state = try TrainingCheckpoint.load(checkpoint, layout: loaded.layout, into: parameters, optimizer: optimizer)
            guard state.settingsHash == s.numericHash else {
                throw TrainingError.invalidCheckpoint(path: checkpoint.path, reason: "it was trained with other settings; resume with the same ones (or choose another --out)")
            }
            step = state.step
            position = state.dataPosition
            averageLoss = state.lastLoss
            lastCheckpoint = checkpoint
            logger.info("resuming from \(checkpoint.lastPathComponent) at step \(step)", metadata: ["checkpoint": "\(checkpoint.path)"])
        }
        stream = try TrainingStream(model: model, vocabSize: config.vocabSize, padToken: Int32(config.padTokenId), bench: bench,
                                    settings: s, position: position)
        let tokenizer = stream.tokenizer
        if s.evalEvery > 0 {
            guard let bench else { throw TrainingError.invalidOption("--eval-every needs a bench with validation instances") }
            let examples = try DataMixture.validationExamples(bench: bench, tokenizer: tokenizer, limit: s.evalExamples, seed: s.mixture.seed)
            guard !examples.isEmpty else {
                throw TrainingError.noTrainingData(bench: bench.path, reason: "--eval-every needs validation instances and the bench has none (build it with a validation split, or drop --eval-every)")
            }
            validation = try BatchPacker.batches(examples, rows: s.microBatchSize, length: s.sequenceLength, padToken: Int32(config.padTokenId))
        } else {
            validation = []
        }
        mixtureSummary = stream.mixture.summary
    }

    /// What the run trains on, for its log.
    public let mixtureSummary: String

    var metricsURL: URL { out.appendingPathComponent("metrics.jsonl") }

    /// Runs the remaining steps, calling `progress` after each (an error it throws stops the run, as
    /// an interruption would); saves every `saveEvery` steps and at the end.
    public func run(progress: (StepRecord) throws -> Void = { _ in }) throws {
        let s = settings
        try truncateMetrics(after: step)
        let metrics = try FileHandle(forWritingTo: metricsURL)
        defer { try? metrics.close() }
        try metrics.seekToEnd()
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        while step < s.steps {
            let started = Date()
            let next = step + 1
            let batches = try stream.nextStep()
            let labels = batches.map(\.labelCount).reduce(0, +)
            GradientOps.zero(gradients)
            var lossSum = 0.0
            for (micro, batch) in batches.enumerated() {
                let seed = StableHash.of(s.seed, "dropout", String(next), String(micro))
                lossSum += try graph.run(batch, parameters: parameters, gradients: gradients, lossScale: 1 / Float(max(labels, 1)),
                                         dropout: s.dropout, dropoutSeed: seed).lossSum
            }
            let loss = lossSum / Double(max(labels, 1))
            let norm = GradientOps.clip(gradients, maxNorm: s.clipNorm, pool: graph.pool)
            if !loss.isFinite || !norm.isFinite || (next > 10 && loss > s.divergenceFactor * (averageLoss ?? loss)) {
                throw TrainingError.divergence(step: next, loss: loss.isFinite ? loss : .nan, lastCheckpoint: lastCheckpoint?.path)
            }
            averageLoss = averageLoss.map { 0.9 * $0 + 0.1 * loss } ?? loss
            let lr = s.schedule.rate(atStep: next)
            optimizer.update(parameters, gradients: gradients, lr: lr)
            step = next

            let tokens = batches.map(realTokens).reduce(0, +)
            var record = StepRecord(step: step, loss: loss, learningRate: lr, gradientNorm: norm, tokens: tokens, labels: labels,
                                    tokensPerSecond: Double(tokens) / max(Date().timeIntervalSince(started), 1e-9))
            if s.evalEvery > 0, step % s.evalEvery == 0 || step == s.steps { record.validationLoss = try validationLoss() }
            try metrics.write(contentsOf: encoder.encode(record) + Data("\n".utf8))
            logger.debug("step \(step)/\(s.steps)", metadata: record.logMetadata)
            try progress(record)
            if step % s.saveEvery == 0 || step == s.steps { try save(loss: loss) }
        }
    }

    /// Mean label loss over the validation set (dropout off).
    public func validationLoss() throws -> Double? {
        guard !validation.isEmpty else { return nil }
        var sum = 0.0, labels = 0
        for batch in validation {
            let r = try graph.run(batch, parameters: parameters, gradients: nil)
            sum += r.lossSum
            labels += r.labels
        }
        return labels > 0 ? sum / Double(labels) : nil
    }

    private func save(loss: Double) throws {
        let state = TrainerState(step: step, dataPosition: stream.position, optimizerStep: optimizer.step,
                                 settingsHash: settings.numericHash, lastLoss: averageLoss ?? loss)
        let saved = try TrainingCheckpoint.save(parameters, optimizer: optimizer, state: state, tokenizerFrom: model, to: out)
        lastCheckpoint = saved
        logger.info("saved \(saved.lastPathComponent)", metadata: ["step": "\(step)", "path": "\(saved.path)"])
    }

    /// Tokens of a batch that belong to examples (every example ends with a labelled EOS; padding has no label).
    private func realTokens(_ b: PackedBatch) -> Int {
        b.segments.filter { segment in (0..<segment.count).contains { b.targets[segment.row * b.length + segment.start + $0] >= 0 } }
            .map(\.count).reduce(0, +)
    }

    /// Drops metrics of steps after `step` (written by a run that stopped before its next checkpoint).
    private func truncateMetrics(after step: Int) throws {
        let fm = FileManager.default
        guard let data = fm.contents(atPath: metricsURL.path) else {
            try AtomicFile.write(Data(), to: metricsURL)
            return
        }
        // A line cut short by the stop, or of a later step, goes.
        var text = Data()
        let lines = JSONLinesReader(data: data, file: metricsURL.path)
        while let line = try lines.next() {
            guard let record = try? lines.decode(StepRecord.self, from: line), record.step <= step else { continue }
            text += line.bytes + Data("\n".utf8)
        }
        try AtomicFile.write(text, to: metricsURL)
    }
}
