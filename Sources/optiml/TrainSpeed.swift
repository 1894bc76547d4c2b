import ArgumentParser
import Foundation
import OPTKernels
import OPTTrain

/// `optiml train-speed`: training tokens/s of full optimizer steps, and peak RSS.
struct TrainSpeed: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-speed",
        abstract: "Measure training tokens/s (forward, backward, clipping and AdamW per step) and peak RSS.",
        discussion: """
        Each step is --batch-size rows of --seq-len pseudo-random tokens, one example per row with every position \
        trained on (the loss transformers computes from labels = input_ids), dropout 0.1 as in the paper. The figure \
        is the median of --repeat steps after one warm-up. tools/bench_train.py runs a PyTorch step on the same model \
        and batch beside it. --bf16 rounds the products' inputs to bfloat16 (f32 sums) through oneDNN; the report says \
        which precision and library did the products, and the CPU seconds (user + system) per step beside the wall time.
        """)

    @Option(help: "Checkpoint directory.") var model: String
    @Option(name: .customLong("seq-len"), help: "Tokens per row.") var seqLen = 512
    @Option(help: "Rows per step.") var batchSize = 1
    @Option(name: .customLong("repeat"), help: "Timed steps (median reported).") var repeats = 3
    @OptionGroup var threadOptions: ThreadOptions
    var threads: Int? { threadOptions.threads }
    @Flag(help: "Matrix products with bfloat16 inputs through oneDNN (as `optiml tune --bf16`).") var bf16 = false
    @Flag(help: "One JSON object.") var json = false

    func run() throws {
        do {
            let loadStart = Date()
            let parameters = try ParameterVector(directory: URL(fileURLWithPath: model))
            let loadSeconds = Date().timeIntervalSince(loadStart)
            let layout = parameters.layout
            guard seqLen >= 2, seqLen <= layout.config.maxPositionEmbeddings, batchSize > 0, repeats > 0 else {
                throw ValidationError("--seq-len must be in 2…\(layout.config.maxPositionEmbeddings); --batch-size and --repeat at least 1")
            }
            let precision: MatmulPrecision = bf16 ? .bf16 : .f32
            let graph = TrainingGraph(layout: layout, threads: threads, precision: precision)
            guard graph.precision == precision else {
                throw ValidationError("--bf16 needs oneDNN (libdnnl.so.2), which is not installed or was turned off with OPTIML_ONEDNN=0")
            }
            let gradients = ParameterVector(layout: layout)
            let optimizer = AdamW(layout: layout, pool: graph.pool)
            var batch = PackedBatch(rows: batchSize, length: seqLen, padToken: Int32(layout.config.padTokenId))
            for row in 0..<batchSize {
                let tokens = PseudoRandomTokens.ids(count: seqLen, vocabulary: layout.config.vocabSize, seed: UInt64(row)).map { Int32($0) }
                try batch.place(tokens, lossMask: Array(repeating: true, count: seqLen), row: row, start: 0)
            }
            var times: [Double] = [], cpu: [Double] = []
            for step in 0...repeats {
                let start = Date(), cpuStart = cpuSeconds()
                GradientOps.zero(gradients)
                _ = try graph.run(batch, parameters: parameters, gradients: gradients, lossScale: 1 / Float(batch.labelCount),
                                  dropout: .paper, dropoutSeed: UInt64(step))
                GradientOps.clip(gradients, maxNorm: 1, pool: graph.pool)
                optimizer.update(parameters, gradients: gradients, lr: 1e-5)
                if step > 0 {
                    times.append(Date().timeIntervalSince(start))
                    cpu.append(cpuSeconds() - cpuStart)
                }
            }
            let median = times.sorted()[times.count / 2], medianCPU = cpu.sorted()[cpu.count / 2]
            let result = TrainSpeedResult(seqLen: seqLen, batchSize: batchSize, threads: graph.pool.threads, precision: graph.precision.rawValue,
                                          library: graph.library.description, loadSeconds: loadSeconds, stepSeconds: median,
                                          stepCPUSeconds: medianCPU, tokensPerSecond: Double(batchSize * seqLen) / median, peakRSSMB: peakRSSMegabytes())
            if json { try printJSON(result) } else {
                print("optiml train  seq \(seqLen)  batch \(batchSize)  \(result.precision) products through \(result.library)  "
                      + String(format: "step %.3f s (cpu %.3f s)  %.1f tokens/s  peak RSS %.0f MB", median, medianCPU, result.tokensPerSecond, result.peakRSSMB))
            }
        } catch let error as ValidationError { throw error } catch { throw CLIError(error) }
    }
}

struct TrainSpeedResult: Codable {
    var engine = "optiml"
    var seqLen: Int
    var batchSize: Int
    var threads: Int
    /// The element type of the products' inputs (f32, bf16) and the library doing them.
    var precision: String
    var library: String
    var loadSeconds: Double
    var stepSeconds: Double
    /// User + system CPU seconds of the median step (by CPU time), every thread together.
    var stepCPUSeconds: Double
    var tokensPerSecond: Double
    var peakRSSMB: Double

    enum CodingKeys: String, CodingKey {
        case engine, threads, precision, library
        case seqLen = "seq_len"
        case batchSize = "batch_size"
        case loadSeconds = "load_s"
        case stepSeconds = "step_s"
        case stepCPUSeconds = "step_cpu_s"
        case tokensPerSecond = "tokens_per_s"
        case peakRSSMB = "peak_rss_mb"
    }
}
